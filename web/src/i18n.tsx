/**
 * French and English messages. `fr` is typed by `en`, so a message missing in one language is a
 * type error. The default language comes from the server's configuration (ENCLAVE_LANGUAGE,
 * written into index.html as <meta name="enclave-language">); a person's choice is remembered
 * in localStorage.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';

export type Lang = 'fr' | 'en';
export const LANGS: readonly Lang[] = ['fr', 'en'];

const en = {
  appName: 'Enclave',
  tagline: 'Sovereign health data platform',
  skipToContent: 'Skip to content',
  navMain: 'Main',
  navCatalogue: 'Catalogue',
  navNomenclatures: 'Nomenclatures',
  navRegister: 'Register of permits',
  navAudit: 'Audit log',
  navProjects: 'My projects',
  navReview: 'Reviews',
  navOperator: 'Operations',
  switchLanguage: 'Français',
  switchLanguageLabel: 'Afficher le portail en français',
  login: 'Log in',
  logout: 'Log out',
  loggedInAs: (name: string) => `Logged in as ${name}`,
  loading: 'Loading…',
  retry: 'Try again',
  errorTitle: 'Something went wrong',
  errorNetwork: 'The server could not be reached. Check your connection and try again.',
  errorHint: 'How to fix it',
  requestId: 'Request id',
  notFoundTitle: 'Page not found',
  notFoundText: 'There is nothing at this address.',
  backToCatalogue: 'Back to the catalogue',
  // catalogue
  catalogueTitle: 'Data catalogue',
  catalogueIntro: 'Every dataset hosted by the platform, its tables and columns, and how sensitive each column is. The catalogue is public; the data is not: access needs an approved permit.',
  searchLabel: 'Search the catalogue',
  searchHint: 'Datasets, tables, columns and nomenclatures; every word must match, accents ignored.',
  searchPlaceholder: 'e.g. date de soins',
  searchButton: 'Search',
  searchResultsTitle: (q: string) => `Results for “${q}”`,
  searchNoResults: (q: string) => `Nothing in the catalogue matches “${q}”. Try fewer or shorter words.`,
  searchCount: (n: number) => (n === 1 ? '1 result' : `${n} results`),
  kind_dataset: 'Dataset',
  kind_table: 'Table',
  kind_column: 'Column',
  kind_nomenclature: 'Nomenclature',
  datasetsTitle: 'Datasets',
  datasetsEmpty: 'No dataset has been registered yet. An operator imports one with `enclave catalog import`.',
  tablesCount: (n: number) => (n === 1 ? '1 table' : `${n} tables`),
  columnsCount: (n: number) => (n === 1 ? '1 column' : `${n} columns`),
  importedAt: 'Imported',
  source: 'Source',
  tablesTitle: 'Tables',
  colTable: 'Table',
  colTitle: 'Title',
  colProduct: 'Product',
  colColumns: 'Columns',
  diagramTitle: 'Links between tables',
  diagramIntro: 'Each arrow goes from a table to the table its foreign key refers to. Select a table to open it.',
  diagramListTitle: 'The same links as a list',
  diagramNone: 'No links between tables are declared.',
  linksTo: 'refers to',
  neighbourhoodTitle: 'Linked tables',
  // table page
  columnsTitle: 'Columns',
  colName: 'Name',
  colType: 'Type',
  colSensitivity: 'Sensitivity',
  colDescription: 'Description',
  colNomenclature: 'Nomenclature',
  filterColumns: 'Filter columns',
  filterColumnsHint: 'By name or description',
  filterSensitivity: 'Sensitivity',
  allSensitivities: 'All',
  columnsShown: (shown: number, total: number) => `${shown} of ${total} columns shown`,
  noColumnMatches: 'No column matches these filters.',
  primaryKey: 'Primary key',
  primaryKeyShort: 'key',
  foreignKeys: 'Foreign keys',
  noPrimaryKey: 'No primary key declared.',
  noForeignKeys: 'This table refers to no other table.',
  sensitivity_direct_identifier: 'Direct identifier',
  sensitivity_pseudonym: 'Pseudonym',
  sensitivity_potential_identifier: 'Potential identifier',
  sensitivity_sensitive: 'Sensitive',
  sensitivity_other: 'Other',
  sensitivityHelp_direct_identifier: 'Identifies a person directly; never reaches a workspace.',
  sensitivityHelp_pseudonym: 'Keyed, irreversible substitute of a person identifier, re-keyed for each project.',
  sensitivityHelp_potential_identifier: 'Could identify a person when combined (commune, month of birth, exact dates). A permit grants at most one by default.',
  sensitivityHelp_sensitive: 'Health information: diagnoses, drugs, procedures.',
  sensitivityHelp_other: 'No particular sensitivity.',
  sensitivityLegend: 'Sensitivity levels',
  // nomenclatures
  nomenclaturesTitle: 'Nomenclatures',
  nomenclaturesIntro: 'Code lists used by the columns of the catalogue.',
  nomenclaturesEmpty: 'No nomenclature has been imported.',
  codesCount: (n: number) => (n === 1 ? '1 code' : `${n} codes`),
  codesUnavailable: 'codes not published',
  colCode: 'Code',
  colLabel: 'Label',
  filterCodes: 'Filter codes',
  filterCodesHint: 'By code or label',
  noCodes: 'No code matches.',
  previous: 'Previous',
  next: 'Next',
  pageOf: (from: number, to: number, total: number) => `${from}–${to} of ${total}`,
  usedBy: 'Used by',
  // register
  registerTitle: 'Public register of permits',
  registerIntro: 'Every project granted access to data, with its purpose, datasets and dates, as the European Health Data Space requires. Published without login.',
  registerEmpty: 'No permit has been granted yet. Approved projects appear here as soon as the access committee decides.',
  registerUnavailable: 'The register is not published by this server yet.',
  colProject: 'Project',
  colOrganisation: 'Organisation',
  colPurpose: 'Purpose',
  colDatasets: 'Datasets',
  colPeriod: 'Period',
  colStatus: 'Status',
  colDecision: 'Decision',
  // audit
  auditTitle: 'Audit log checkpoint',
  auditIntro: 'Every access, query, export and approval is written to an append-only log. Its latest signed tree head is public, so anyone can keep a copy and later detect a rewritten log.',
  auditTreeSize: 'Events in the log',
  auditRoot: 'Root hash',
  auditOrigin: 'Log',
  auditNote: 'Signed note',
  // kit
  progressLabel: (done: number, total: number) => `${done} of ${total}`,
  timelineTitle: 'History',
  required: 'required',
  status: {
    draft: 'Draft', submitted: 'Submitted', ethics_review: 'Ethics review', legal_review: 'Legal review',
    committee_review: 'Committee review', changes_requested: 'Changes requested', active: 'Active', suspended: 'Suspended',
    expired: 'Expired', closed: 'Closed', revoked: 'Revoked', rejected: 'Rejected', withdrawn: 'Withdrawn',
  } as Readonly<Record<string, string>>,
};

export type Messages = typeof en;

const fr: Messages = {
  appName: 'Enclave',
  tagline: 'Plateforme souveraine de données de santé',
  skipToContent: 'Aller au contenu',
  navMain: 'Principal',
  navCatalogue: 'Catalogue',
  navNomenclatures: 'Nomenclatures',
  navRegister: 'Registre des autorisations',
  navAudit: 'Journal d’audit',
  navProjects: 'Mes projets',
  navReview: 'Instruction',
  navOperator: 'Exploitation',
  switchLanguage: 'English',
  switchLanguageLabel: 'Show the portal in English',
  login: 'Se connecter',
  logout: 'Se déconnecter',
  loggedInAs: (name) => `Connecté·e : ${name}`,
  loading: 'Chargement…',
  retry: 'Réessayer',
  errorTitle: 'Une erreur est survenue',
  errorNetwork: 'Le serveur est injoignable. Vérifiez votre connexion puis réessayez.',
  errorHint: 'Comment corriger',
  requestId: 'Identifiant de requête',
  notFoundTitle: 'Page introuvable',
  notFoundText: 'Il n’y a rien à cette adresse.',
  backToCatalogue: 'Retour au catalogue',
  catalogueTitle: 'Catalogue des données',
  catalogueIntro: 'Chaque base hébergée par la plateforme, ses tables et ses variables, et la sensibilité de chaque variable. Le catalogue est public ; les données ne le sont pas : y accéder demande une autorisation.',
  searchLabel: 'Rechercher dans le catalogue',
  searchHint: 'Bases, tables, variables et nomenclatures ; tous les mots doivent correspondre, sans tenir compte des accents.',
  searchPlaceholder: 'ex. date de soins',
  searchButton: 'Rechercher',
  searchResultsTitle: (q) => `Résultats pour « ${q} »`,
  searchNoResults: (q) => `Rien dans le catalogue ne correspond à « ${q} ». Essayez avec moins de mots ou des mots plus courts.`,
  searchCount: (n) => (n <= 1 ? `${n} résultat` : `${n} résultats`),
  kind_dataset: 'Base',
  kind_table: 'Table',
  kind_column: 'Variable',
  kind_nomenclature: 'Nomenclature',
  datasetsTitle: 'Bases de données',
  datasetsEmpty: 'Aucune base n’est encore enregistrée. Un exploitant en importe une avec `enclave catalog import`.',
  tablesCount: (n) => (n <= 1 ? `${n} table` : `${n} tables`),
  columnsCount: (n) => (n <= 1 ? `${n} variable` : `${n} variables`),
  importedAt: 'Importée le',
  source: 'Source',
  tablesTitle: 'Tables',
  colTable: 'Table',
  colTitle: 'Intitulé',
  colProduct: 'Produit',
  colColumns: 'Variables',
  diagramTitle: 'Liens entre les tables',
  diagramIntro: 'Chaque flèche va d’une table vers la table à laquelle sa clé étrangère fait référence. Sélectionnez une table pour l’ouvrir.',
  diagramListTitle: 'Les mêmes liens sous forme de liste',
  diagramNone: 'Aucun lien entre tables n’est déclaré.',
  linksTo: 'fait référence à',
  neighbourhoodTitle: 'Tables liées',
  columnsTitle: 'Variables',
  colName: 'Nom',
  colType: 'Type',
  colSensitivity: 'Sensibilité',
  colDescription: 'Description',
  colNomenclature: 'Nomenclature',
  filterColumns: 'Filtrer les variables',
  filterColumnsHint: 'Par nom ou description',
  filterSensitivity: 'Sensibilité',
  allSensitivities: 'Toutes',
  columnsShown: (shown, total) => `${shown} variables affichées sur ${total}`,
  noColumnMatches: 'Aucune variable ne correspond à ces filtres.',
  primaryKey: 'Clé primaire',
  primaryKeyShort: 'clé',
  foreignKeys: 'Clés étrangères',
  noPrimaryKey: 'Aucune clé primaire déclarée.',
  noForeignKeys: 'Cette table ne fait référence à aucune autre.',
  sensitivity_direct_identifier: 'Identifiant direct',
  sensitivity_pseudonym: 'Pseudonyme',
  sensitivity_potential_identifier: 'Identifiant potentiel',
  sensitivity_sensitive: 'Sensible',
  sensitivity_other: 'Autre',
  sensitivityHelp_direct_identifier: 'Identifie directement une personne ; n’entre jamais dans un espace projet.',
  sensitivityHelp_pseudonym: 'Substitut chiffré et irréversible d’un identifiant, re-chiffré pour chaque projet.',
  sensitivityHelp_potential_identifier: 'Peut identifier une personne par recoupement (commune, mois de naissance, dates exactes). Une autorisation en accorde au plus une par défaut.',
  sensitivityHelp_sensitive: 'Information de santé : diagnostics, médicaments, actes.',
  sensitivityHelp_other: 'Pas de sensibilité particulière.',
  sensitivityLegend: 'Niveaux de sensibilité',
  nomenclaturesTitle: 'Nomenclatures',
  nomenclaturesIntro: 'Les listes de codes utilisées par les variables du catalogue.',
  nomenclaturesEmpty: 'Aucune nomenclature n’a été importée.',
  codesCount: (n) => (n <= 1 ? `${n} code` : `${n} codes`),
  codesUnavailable: 'codes non publiés',
  colCode: 'Code',
  colLabel: 'Libellé',
  filterCodes: 'Filtrer les codes',
  filterCodesHint: 'Par code ou libellé',
  noCodes: 'Aucun code ne correspond.',
  previous: 'Précédent',
  next: 'Suivant',
  pageOf: (from, to, total) => `${from}–${to} sur ${total}`,
  usedBy: 'Utilisée par',
  registerTitle: 'Registre public des autorisations',
  registerIntro: 'Chaque projet autorisé à accéder à des données, avec sa finalité, ses bases et ses dates, comme l’exige l’Espace européen des données de santé. Publié sans connexion.',
  registerEmpty: 'Aucune autorisation n’a encore été accordée. Les projets approuvés apparaissent ici dès la décision du comité d’accès.',
  registerUnavailable: 'Ce serveur ne publie pas encore le registre.',
  colProject: 'Projet',
  colOrganisation: 'Organisme',
  colPurpose: 'Finalité',
  colDatasets: 'Bases',
  colPeriod: 'Période',
  colStatus: 'Statut',
  colDecision: 'Décision',
  auditTitle: 'Point de contrôle du journal d’audit',
  auditIntro: 'Chaque accès, requête, export et approbation est inscrit dans un journal en ajout seul. Sa dernière tête d’arbre signée est publique : chacun peut en garder une copie et détecter plus tard un journal réécrit.',
  auditTreeSize: 'Événements dans le journal',
  auditRoot: 'Empreinte racine',
  auditOrigin: 'Journal',
  auditNote: 'Note signée',
  progressLabel: (done, total) => `${done} sur ${total}`,
  timelineTitle: 'Historique',
  required: 'obligatoire',
  status: {
    draft: 'Brouillon', submitted: 'Déposé', ethics_review: 'Avis éthique et scientifique', legal_review: 'Examen juridique',
    committee_review: 'Comité d’accès', changes_requested: 'Modifications demandées', active: 'Active', suspended: 'Suspendue',
    expired: 'Expirée', closed: 'Clôturée', revoked: 'Révoquée', rejected: 'Refusé', withdrawn: 'Retiré',
  },
};

export const MESSAGES: Readonly<Record<Lang, Messages>> = { en, fr };

interface I18n {
  readonly lang: Lang;
  readonly t: Messages;
  readonly setLang: (l: Lang) => void;
  readonly formatDate: (iso: string) => string;
  readonly formatNumber: (n: number) => string;
}

const I18nContext = createContext<I18n | null>(null);
const STORAGE_KEY = 'enclave.lang';

function isLang(v: unknown): v is Lang {
  return v === 'fr' || v === 'en';
}

/** The configured default (meta tag), unless the person chose otherwise in this browser. */
export function initialLang(): Lang {
  try {
    const stored = localStorage.getItem(STORAGE_KEY);
    if (isLang(stored)) return stored;
  } catch {
    // storage disabled: fall back to the configured default
  }
  const meta = document.querySelector('meta[name="enclave-language"]')?.getAttribute('content');
  return isLang(meta) ? meta : 'fr';
}

export function I18nProvider({ children }: { readonly children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(initialLang);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const setLang = useCallback((l: Lang) => {
    setLangState(l);
    try {
      localStorage.setItem(STORAGE_KEY, l);
    } catch {
      // not remembered, still switched
    }
  }, []);
  const value = useMemo<I18n>(() => {
    const locale = lang === 'fr' ? 'fr-FR' : 'en-GB';
    const df = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
    const nf = new Intl.NumberFormat(locale);
    return {
      lang,
      t: MESSAGES[lang],
      setLang,
      formatDate: (iso) => {
        const d = new Date(iso);
        return Number.isNaN(d.getTime()) ? iso : df.format(d);
      },
      formatNumber: (n) => nf.format(n),
    };
  }, [lang, setLang]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(I18nContext);
  if (v === null) throw new Error('useI18n outside I18nProvider');
  return v;
}
