/**
 * The e-mails of governance state changes: a subject and a plain-text body, French then
 * English. They say which project, the status it reached, in which role the person who acted
 * did so (never who), why the recipient hears of it, and the link to the project's page in the
 * portal. Never a comment, a decision's text, data or a secret: the portal shows the rest to
 * whoever may see it, after login.
 */

/** The role someone acted in (governance's ActedAs). */
export type MailActedAs = 'principal_investigator' | 'access_committee' | 'ethics_reviewer' | 'legal_reviewer' | 'system' | 'other';

/** One state change to e-mail; structurally governance's StatusMail (src/governance/service.ts). */
export interface StatusNotice {
  readonly projectId: string;
  readonly projectTitle: string;
  /** `project.<status>` or `amendment.<status>`. */
  readonly kind: string;
  readonly status: string;
  readonly actedAs: MailActedAs;
  /** Person ids: the applicant and the project team. */
  readonly team: readonly string[];
  /** Person ids: holders of the role that acts next, not in the team. */
  readonly reviewers: readonly string[];
}

/** Why this recipient hears of the change. */
export type RecipientReason = 'team' | 'reviewer';

export interface ComposedMail {
  readonly subject: string;
  readonly text: string;
}

type Bi = readonly [fr: string, en: string];

const STATUS: Record<string, Bi> = {
  draft: ['brouillon', 'draft'],
  submitted: ['soumis, en attente du contrôle de complétude', 'submitted, awaiting the completeness check'],
  ethics_review: ['en examen éthique et scientifique', 'in ethics and scientific review'],
  legal_review: ['en examen juridique', 'in legal review'],
  committee_review: ['devant le comité d’accès', 'before the access committee'],
  changes_requested: ['modifications demandées', 'changes requested'],
  active: ['autorisé : l’autorisation est en vigueur', 'approved: the permit is in force'],
  approved: ['approuvé : l’autorisation modifiée est en vigueur', 'approved: the amended permit is in force'],
  suspended: ['suspendu : l’accès aux données est arrêté', 'suspended: access to the data is stopped'],
  expired: ['expiré : l’autorisation a pris fin', 'expired: the permit has ended'],
  closed: ['clos', 'closed'],
  revoked: ['révoqué : l’autorisation a pris fin', 'revoked: the permit has ended'],
  rejected: ['refusé', 'rejected'],
  withdrawn: ['retiré', 'withdrawn'],
  lapsed: ['caduc', 'lapsed'],
};

const ACTED_AS: Record<MailActedAs, Bi> = {
  principal_investigator: ['par l’investigateur ou l’investigatrice principal(e) du projet', 'by the project’s principal investigator'],
  access_committee: ['par un membre du comité d’accès', 'by a member of the access committee'],
  ethics_reviewer: ['par un rapporteur ou une rapporteuse du comité d’éthique', 'by an ethics reviewer'],
  legal_reviewer: ['par un ou une juriste chargé(e) de l’examen juridique', 'by a legal reviewer'],
  system: ['automatiquement par Enclave', 'automatically by Enclave'],
  other: ['par une personne habilitée', 'by an authorised person'],
};

const REASON: Record<RecipientReason, Bi> = {
  team: ['Vous recevez ce message parce que vous faites partie de l’équipe du projet.', 'You receive this message because you are on the project team.'],
  reviewer: ['Vous recevez ce message parce que votre rôle intervient à cette étape de l’examen.', 'You receive this message because your role acts at this step of the review.'],
};

/** The title as one line of at most 120 characters: no control character reaches a header. */
export function oneLine(s: string, max = 120): string {
  const flat = s.replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ').replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** The link to the project's page in the portal. */
export function projectUrl(portalUrl: string, projectId: string): string {
  return `${portalUrl.replace(/\/+$/, '')}/projects/${encodeURIComponent(projectId)}`;
}

/**
 * The message one recipient gets for one state change.
 *
 * @example
 *   composeStatusMail(notice, 'team', 'https://enclave.example.org')
 *   // { subject: '[Enclave] « Statins » : en examen juridique · "Statins": in legal review', text: '…' }
 */
export function composeStatusMail(n: StatusNotice, reason: RecipientReason, portalUrl: string): ComposedMail {
  const title = oneLine(n.projectTitle);
  const status = STATUS[n.status] ?? [n.status.replace(/_/g, ' '), n.status.replace(/_/g, ' ')];
  const by = ACTED_AS[n.actedAs];
  const amendment = n.kind.startsWith('amendment.');
  const what: Bi = amendment
    ? [`La demande de modification du projet « ${title} »`, `The amendment of project "${title}"`]
    : [`Le projet « ${title} »`, `Project "${title}"`];
  const subject: Bi = amendment
    ? [`modification de « ${title} » : ${status[0]}`, `amendment of "${title}": ${status[1]}`]
    : [`« ${title} » : ${status[0]}`, `"${title}": ${status[1]}`];
  const link = projectUrl(portalUrl, n.projectId);
  const text = [
    `${what[0]} est maintenant : ${status[0]}.`,
    `Changement fait ${by[0]}.`,
    `Voir le projet dans Enclave : ${link}`,
    '',
    REASON[reason][0],
    'Ce message ne contient aucune donnée : connectez-vous à Enclave pour le détail.',
    '',
    '-- English --',
    '',
    `${what[1]} is now: ${status[1]}.`,
    `Change made ${by[1]}.`,
    `See the project in Enclave: ${link}`,
    '',
    REASON[reason][1],
    'This message carries no data: log in to Enclave for the details.',
    '',
  ].join('\n');
  return { subject: oneLine(`[Enclave] ${subject[0]} · ${subject[1]}`, 250), text };
}
