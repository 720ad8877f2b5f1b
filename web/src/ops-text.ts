/**
 * Messages of the operations pages (the demo logins switch, key rotation, migrations, the audit
 * explorer's checks in the browser) in French and English, apart from text.ts so that branches
 * working on other pages merge without conflicts. `fr` is typed by `en`.
 */
import { useI18n, type Lang } from './i18n.tsx';

const en = {
  demoTitle: 'Demo accounts',
  demoExplain: 'The demo people of the built-in identity provider (one per role, passwords printed at first start) are for trying the platform. Turn them off before real people use it: their sessions end and their API tokens are revoked at once. Turning them back on widens access, so a second administrator approves it.',
  demoOn: 'Demo logins are on',
  demoOff: 'Demo logins are off',
  demoListed: 'The login page lists the demo people (ENCLAVE_DEMO_MODE).',
  demoNotListed: 'The login page does not list them (ENCLAVE_DEMO_MODE is off): they log in with their person id.',
  demoTurnOff: 'Turn demo logins off',
  demoTurnOffQuestion: 'Turn demo logins off? Demo people are logged out and their API tokens revoked now.',
  demoTurnOn: 'Propose to turn demo logins on',
  demoTurnOnQuestion: 'Propose to turn demo logins on? A second administrator must approve it.',
  demoPending: (who: string, when: string) => `Turning demo logins on was proposed by ${who} on ${when}; it waits for a second administrator.`,
  demoApproveQuestion: 'Approve turning demo logins on? Anyone who knows a demo password can then log in.',
  demoRejectQuestion: 'Reject this proposal?',
  demoTurnedOff: 'Demo logins are off.',
  demoProposed: 'Proposed: a second administrator approves it.',
  demoApproved: 'Demo logins are on.',
  demoRejected: 'Proposal rejected.',
};
type OpsText = typeof en;

const fr: OpsText = {
  demoTitle: 'Comptes de démonstration',
  demoExplain: 'Les personnes de démonstration du fournisseur d’identité intégré (une par rôle, mots de passe affichés au premier démarrage) servent à essayer la plateforme. Désactivez-les avant que de vraies personnes l’utilisent : leurs sessions se terminent et leurs jetons d’API sont révoqués aussitôt. Les réactiver élargit l’accès : un second administrateur l’approuve.',
  demoOn: 'Connexions de démonstration activées',
  demoOff: 'Connexions de démonstration désactivées',
  demoListed: 'La page de connexion affiche la liste des personnes de démonstration (ENCLAVE_DEMO_MODE).',
  demoNotListed: 'La page de connexion ne les affiche pas (ENCLAVE_DEMO_MODE désactivé) : elles se connectent avec leur identifiant.',
  demoTurnOff: 'Désactiver les connexions de démonstration',
  demoTurnOffQuestion: 'Désactiver les connexions de démonstration ? Les personnes de démonstration sont déconnectées et leurs jetons d’API révoqués immédiatement.',
  demoTurnOn: 'Proposer de réactiver les connexions de démonstration',
  demoTurnOnQuestion: 'Proposer de réactiver les connexions de démonstration ? Un second administrateur doit l’approuver.',
  demoPending: (who, when) => `La réactivation des connexions de démonstration a été proposée par ${who} le ${when} ; elle attend un second administrateur.`,
  demoApproveQuestion: 'Approuver la réactivation ? Quiconque connaît un mot de passe de démonstration pourra se connecter.',
  demoRejectQuestion: 'Rejeter cette proposition ?',
  demoTurnedOff: 'Les connexions de démonstration sont désactivées.',
  demoProposed: 'Proposé : un second administrateur l’approuve.',
  demoApproved: 'Les connexions de démonstration sont activées.',
  demoRejected: 'Proposition rejetée.',
};

const TEXT: Readonly<Record<Lang, OpsText>> = { en, fr };

/** The operations pages' messages in the portal's current language. */
export function useOpsText(): OpsText {
  return TEXT[useI18n().lang];
}
