/**
 * Source of the product's own SNDS description (`schemas/snds/**.json`). The JSON files are
 * the contract other code reads (ingestion validator, catalogue); this script only exists so
 * that the dozens of repeated key columns are written once. Run it after editing:
 *
 *   node_modules/.bin/node src/synth/build-schema.ts
 *
 * `schema.test.ts` fails when the committed JSON and this script disagree.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface FieldConstraints {
  required?: boolean;
  enum?: readonly (string | number)[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
}

export interface FieldDef {
  name: string;
  type: 'string' | 'integer' | 'number' | 'date' | 'year';
  description: string;
  format?: string;
  /** The public schema's length (`64`; `7,2` for a number), a description; `constraints` are what ingestion checks. */
  length?: string;
  nomenclature?: string;
  constraints?: FieldConstraints;
  enclave?: { identifiedOnly?: boolean; check?: 'nir_key' };
}

export interface TableDef {
  name: string;
  product: string;
  title: string;
  fields: FieldDef[];
  primaryKey?: string[];
  foreignKeys?: { fields: string[]; reference: { resource: string; fields: string[] } }[];
  enclave: { yearColumn?: string; yearFromName?: string; unpartitioned?: true };
}

const ID17 = '^[0-9A-Z]{17}$';
const YYYYMM = '^(19|20)[0-9]{2}(0[1-9]|1[0-2])$';
const DPT3 = '^(0[0-9]{2}|0[0-9][AB]|9[0-9]{2})$';
const ORG9 = '^[0-9]{9}$';
const FINESS = '^([0-9]{2}|2A|2B)[0-9]{7}$';
const RSA = '^[0-9]{10}$';
const RET = ['0', '1'] as const;

const req = { required: true } as const;
const f = (
  name: string,
  type: FieldDef['type'],
  description: string,
  extra: Omit<FieldDef, 'name' | 'type' | 'description'> = {},
): FieldDef => ({ name, type, description, ...extra });

/** The nine columns that join ER_PRS_F to each DCIR satellite; listed first in every file. */
const DCIR_KEY: FieldDef[] = [
  f('DCT_ORD_NUM', 'integer', "Numéro d'ordre du décompte dans l'organisme", { constraints: { ...req, minimum: 1, maximum: 999999999 } }),
  f('FLX_DIS_DTD', 'date', 'Date de mise à disposition des données (1er du mois)', { constraints: req }),
  f('FLX_EMT_NUM', 'integer', "Numéro d'émetteur du flux", { constraints: { ...req, minimum: 1, maximum: 99 } }),
  f('FLX_EMT_ORD', 'integer', 'Numéro de séquence du flux', { constraints: { ...req, minimum: 0, maximum: 9999 } }),
  f('FLX_EMT_TYP', 'integer', "Type d'émetteur", { constraints: { ...req, enum: [1, 2, 3] } }),
  f('FLX_TRT_DTD', 'date', "Date d'entrée des données dans le système d'information", { constraints: req }),
  f('ORG_CLE_NUM', 'string', 'Organisme de liquidation des prestations', { constraints: { ...req, pattern: ORG9 } }),
  f('PRS_ORD_NUM', 'integer', "Numéro d'ordre de la prestation dans le décompte", { constraints: { ...req, minimum: 1, maximum: 99999 } }),
  f('REM_TYP_AFF', 'integer', 'Type de remboursement affiné', { constraints: { ...req, enum: [1, 2] } }),
];
const DCIR_KEY_NAMES = DCIR_KEY.map((x) => x.name);
const toPrs = { fields: DCIR_KEY_NAMES, reference: { resource: 'ER_PRS_F', fields: DCIR_KEY_NAMES } };
const orgNew = f('ORG_CLE_NEW', 'string', "Code de l'organisme de liquidation (après fusion)", { constraints: { ...req, pattern: ORG9 } });
const nirIdt = f('BEN_NIR_IDT', 'string', 'NIR brut (13 chiffres + clé) : source identifiée seulement, à pseudonymiser à l’ingestion', {
  constraints: { pattern: '^[12][0-9]{4}(?:[0-9]{2}|2A|2B)[0-9]{8}$' },
  enclave: { identifiedOnly: true, check: 'nir_key' },
});
/**
 * The encrypted id of a death certificate, shared by the certificate (KI_CCI_R) and its causes
 * (KI_ECD_R): the public schema gives it a length of 64 (a 256-bit digest in hexadecimal), which
 * ingestion checks as exactly 64 characters (rule `length`). No pattern: producers encode it their
 * own way within that width.
 */
const dcdIdtEnc = f('DCD_IDT_ENC', 'string', 'Identifiant chiffré du certificat de décès (clé commune à KI_CCI_R et KI_ECD_R)', {
  length: '64',
  constraints: { minLength: 64, maxLength: 64 },
});

export const TABLES: TableDef[] = [
  {
    name: 'IR_BEN_R', product: 'BENEFICIAIRE', title: 'Référentiel des bénéficiaires',
    fields: [
      f('BEN_NIR_PSA', 'string', 'Identifiant pseudonymisé du bénéficiaire dans le DCIR', { constraints: { ...req, pattern: ID17 } }),
      f('BEN_RNG_GEM', 'integer', 'Rang de naissance (jumeaux de même sexe)', { constraints: { ...req, minimum: 1, maximum: 9 } }),
      f('BEN_NIR_ANO', 'string', 'NIR pseudonymisé du bénéficiaire', { constraints: { ...req, pattern: ID17 } }),
      f('BEN_IDT_ANO', 'string', 'Identifiant bénéficiaire pseudonymisé (une personne)', { constraints: { ...req, pattern: ID17 } }),
      f('BEN_IDT_TOP', 'integer', 'Top identifiant bénéficiaire renseigné', { constraints: { ...req, enum: [0, 1] } }),
      nirIdt,
      f('BEN_NAI_ANN', 'year', 'Année de naissance', { constraints: { ...req, minimum: 1900, maximum: 2100 } }),
      f('BEN_NAI_MOI', 'string', 'Mois de naissance (MM)', { constraints: { ...req, pattern: '^(0[1-9]|1[0-2])$' } }),
      f('BEN_SEX_COD', 'integer', 'Sexe', { nomenclature: 'IR_SEX_V', constraints: { ...req, enum: [1, 2] } }),
      f('BEN_DCD_DTE', 'date', 'Date de décès'),
      f('BEN_DCD_AME', 'string', 'Année et mois de décès (AAAAMM)', { constraints: { pattern: YYYYMM } }),
      f('BEN_RES_DPT', 'string', 'Département de résidence', { nomenclature: 'IR_DPT_V', constraints: { ...req, pattern: DPT3 } }),
      f('BEN_RES_COM', 'string', 'Commune de résidence (code INSEE sans département)', { constraints: { ...req, pattern: '^[0-9]{3}$' } }),
      f('ORG_AFF_BEN', 'string', "Organisme d'affiliation", { constraints: { ...req, pattern: ORG9 } }),
      f('BEN_DTE_INS', 'date', "Date d'insertion dans le référentiel", { constraints: req }),
      f('BEN_DTE_MAJ', 'date', 'Date de dernière mise à jour', { constraints: req }),
    ],
    primaryKey: ['BEN_NIR_PSA', 'BEN_RNG_GEM'],
    enclave: { unpartitioned: true },
  },
  {
    name: 'ER_PRS_F', product: 'DCIR', title: 'Prestations (table centrale du DCIR)',
    fields: [
      ...DCIR_KEY,
      f('BEN_NIR_PSA', 'string', 'Identifiant pseudonymisé du bénéficiaire', { constraints: { ...req, pattern: ID17 } }),
      f('BEN_RNG_GEM', 'integer', 'Rang de naissance', { constraints: { ...req, minimum: 1, maximum: 9 } }),
      f('BEN_SEX_COD', 'integer', 'Sexe', { nomenclature: 'IR_SEX_V', constraints: { ...req, enum: [1, 2] } }),
      f('BEN_NAI_ANN', 'year', 'Année de naissance', { constraints: { ...req, minimum: 1900, maximum: 2100 } }),
      f('BEN_RES_DPT', 'string', 'Département de résidence', { nomenclature: 'IR_DPT_V', constraints: { ...req, pattern: DPT3 } }),
      f('BEN_CMU_TOP', 'integer', 'Top bénéficiaire de la complémentaire santé solidaire', { constraints: { ...req, enum: [0, 1] } }),
      f('EXE_SOI_DTD', 'date', "Date de début d'exécution des soins", { constraints: req }),
      f('EXE_SOI_DTF', 'date', "Date de fin d'exécution des soins", { constraints: req }),
      f('EXE_SOI_AMD', 'string', 'Année et mois de début des soins (AAAAMM)', { constraints: { ...req, pattern: YYYYMM } }),
      f('PRE_PRE_DTD', 'date', 'Date de prescription'),
      f('PRS_NAT_REF', 'integer', 'Nature de prestation de référence', { nomenclature: 'IR_NAT_V', constraints: req }),
      f('BSE_PRS_NAT', 'integer', "Nature de prestation de l'acte de base", { nomenclature: 'IR_NAT_V', constraints: req }),
      f('PRS_ACT_QTE', 'number', "Quantité de l'acte de base (signée)", { constraints: { ...req, minimum: -999, maximum: 999 } }),
      f('PRS_ACT_NBR', 'number', 'Dénombrement des actes de base (signé)', { constraints: { ...req, minimum: -999, maximum: 999 } }),
      f('PRS_ACT_CFT', 'number', "Coefficient de l'acte", { constraints: { ...req, minimum: 0 } }),
      f('PRS_PAI_MNT', 'number', 'Montant de la dépense (€, signé)', { constraints: req }),
      f('BSE_REM_BSE', 'number', 'Base de remboursement (€, signée)', { constraints: req }),
      f('BSE_REM_PRU', 'number', "Prix unitaire de l'acte de base (€)", { constraints: { ...req, minimum: 0 } }),
      f('BSE_REM_MNT', 'number', 'Montant remboursé (€, signé)', { constraints: req }),
      f('BSE_REM_SGN', 'integer', 'Signe du remboursement', { constraints: { ...req, enum: [1, -1] } }),
      f('PRS_DEP_MNT', 'number', 'Montant du dépassement (€, signé)', { constraints: req }),
      f('RGO_REM_TAU', 'number', 'Taux de remboursement du régime obligatoire (%)', { constraints: { ...req, minimum: 0, maximum: 100 } }),
      f('EXO_MTF', 'integer', "Motif d'exonération du ticket modérateur", { constraints: { ...req, enum: [0, 4, 6] } }),
      f('PFS_EXE_NUM', 'string', 'Numéro du professionnel de santé exécutant', { constraints: { ...req, pattern: '^[0-9]{9}$' } }),
      f('PSE_SPE_COD', 'integer', "Spécialité de l'exécutant", { nomenclature: 'IR_SPE_V', constraints: req }),
      f('PFS_PRE_NUM', 'string', 'Numéro du professionnel de santé prescripteur', { constraints: { pattern: '^[0-9]{9}$' } }),
      f('PSP_SPE_COD', 'integer', 'Spécialité du prescripteur', { nomenclature: 'IR_SPE_V' }),
      f('PRS_PPU_SEC', 'integer', 'Secteur public (1) ou privé (2)', { constraints: { ...req, enum: [1, 2] } }),
    ],
    primaryKey: DCIR_KEY_NAMES,
    foreignKeys: [{ fields: ['BEN_NIR_PSA', 'BEN_RNG_GEM'], reference: { resource: 'IR_BEN_R', fields: ['BEN_NIR_PSA', 'BEN_RNG_GEM'] } }],
    enclave: { yearColumn: 'FLX_DIS_DTD' },
  },
  {
    name: 'ER_PHA_F', product: 'DCIR', title: 'Pharmacie de ville (codes CIP)',
    fields: [
      ...DCIR_KEY,
      f('PHA_ORD_NUM', 'integer', "Numéro d'ordre de la prestation affinée pharmacie", { constraints: { ...req, minimum: 1, maximum: 99 } }),
      f('PHA_PRS_C13', 'integer', 'Code CIP13 du médicament délivré', { nomenclature: 'IR_PHA_R', constraints: { ...req, minimum: 3400900000000, maximum: 3400999999999 } }),
      f('PHA_PRS_IDE', 'integer', 'Code CIP7 (ancien code)', { nomenclature: 'IR_PHA_R:PHA_PRS_IDE', constraints: { ...req, minimum: 1000000, maximum: 9999999 } }),
      f('PHA_ACT_QSN', 'integer', 'Quantité signée (nombre de boîtes)', { constraints: { ...req, minimum: -99, maximum: 99 } }),
      f('PHA_ACT_PRU', 'number', 'Prix unitaire du médicament (€)', { constraints: { ...req, minimum: 0 } }),
      f('PHA_SEQ_RNV', 'integer', 'Séquence de renouvellement', { constraints: { ...req, minimum: 0, maximum: 12 } }),
      orgNew,
    ],
    foreignKeys: [toPrs],
    enclave: { yearColumn: 'FLX_DIS_DTD' },
  },
  {
    name: 'ER_BIO_F', product: 'DCIR', title: 'Biologie (codes NABM)',
    fields: [
      ...DCIR_KEY,
      f('BIO_ORD_NUM', 'integer', "Numéro d'ordre de l'acte affiné de biologie", { constraints: { ...req, minimum: 1, maximum: 9999 } }),
      f('BIO_PRS_IDE', 'integer', "Code NABM de l'acte", { nomenclature: 'IR_BIO_R', constraints: { ...req, minimum: 1, maximum: 9999 } }),
      f('BIO_ACT_QSN', 'integer', "Quantité signée d'actes", { constraints: { ...req, minimum: -99, maximum: 99 } }),
      orgNew,
    ],
    foreignKeys: [toPrs],
    enclave: { yearColumn: 'FLX_DIS_DTD' },
  },
  {
    name: 'ER_CAM_F', product: 'DCIR', title: 'Actes médicaux CCAM',
    fields: [
      ...DCIR_KEY,
      f('CAM_ORD_NUM', 'integer', "Numéro d'ordre de la prestation affinée CCAM", { constraints: { ...req, minimum: 1, maximum: 999 } }),
      f('CAM_PRS_IDE', 'string', 'Code CCAM de l’acte', { nomenclature: 'IR_CCAM_V63', constraints: { ...req, pattern: '^[A-Z]{4}[0-9]{3}$' } }),
      f('CAM_ACT_COD', 'string', 'Code activité', { constraints: { ...req, enum: ['1', '2', '3', '4', '5'] } }),
      f('CAM_TRT_PHA', 'integer', 'Phase de traitement', { constraints: { ...req, enum: [0, 1, 2, 3] } }),
      f('CAM_ACT_PRU', 'number', 'Prix unitaire CCAM (€)', { constraints: { ...req, minimum: 0 } }),
      f('CAM_REM_BSE', 'number', 'Base de remboursement CCAM (€, signée)', { constraints: req }),
      orgNew,
    ],
    foreignKeys: [toPrs],
    enclave: { yearColumn: 'FLX_DIS_DTD' },
  },
  {
    name: 'T_MCOaaB', product: 'PMSI_MCO', title: 'PMSI MCO : description des séjours (RSA), un fichier par année de sortie',
    fields: [
      f('ETA_NUM', 'string', 'Numéro FINESS e-PMSI', { constraints: { ...req, pattern: FINESS } }),
      f('RSA_NUM', 'string', 'Numéro d’index du RSA', { constraints: { ...req, pattern: RSA } }),
      f('AGE_ANN', 'integer', 'Âge en années à l’entrée', { constraints: { ...req, minimum: 0, maximum: 125 } }),
      f('COD_SEX', 'string', 'Sexe', { constraints: { ...req, enum: ['1', '2'] } }),
      f('BDI_DEP', 'string', 'Département de résidence', { constraints: { ...req, pattern: '^([0-9]{2}|2A|2B)$' } }),
      f('DGN_PAL', 'string', 'Diagnostic principal (CIM-10)', { nomenclature: 'IR_CIM_V', constraints: { ...req, pattern: '^[A-Z][0-9]{2}[0-9A-Z]{0,3}$' } }),
      f('DGN_REL', 'string', 'Diagnostic relié (CIM-10)', { nomenclature: 'IR_CIM_V', constraints: { pattern: '^[A-Z][0-9]{2}[0-9A-Z]{0,3}$' } }),
      f('GRG_GHM', 'string', 'GHM calculé par la fonction groupage', { constraints: { ...req, pattern: '^[0-9]{2}[CKMZ][0-9]{2}[1-4ABCDJTZE]$' } }),
      f('ENT_MOD', 'string', "Mode d'entrée", { constraints: { ...req, enum: ['6', '7', '8'] } }),
      f('SOR_MOD', 'string', 'Mode de sortie (9 = décès)', { constraints: { ...req, enum: ['6', '7', '8', '9'] } }),
      f('SOR_ANN', 'year', 'Année de sortie', { constraints: { ...req, minimum: 2000, maximum: 2100 } }),
      f('SOR_MOI', 'string', 'Mois de sortie (MM)', { constraints: { ...req, pattern: '^(0[1-9]|1[0-2])$' } }),
      f('SEJ_NBJ', 'integer', 'Durée du séjour en jours', { constraints: { ...req, minimum: 0, maximum: 999 } }),
      f('NBR_DGN', 'integer', 'Nombre de diagnostics associés', { constraints: { ...req, minimum: 0, maximum: 99 } }),
      f('NBR_ACT', 'integer', "Nombre de zones d'actes", { constraints: { ...req, minimum: 0, maximum: 999 } }),
    ],
    primaryKey: ['ETA_NUM', 'RSA_NUM'],
    enclave: { yearFromName: 'T_MCO(\\d\\d)B' },
  },
  {
    name: 'T_MCOaaC', product: 'PMSI_MCO', title: 'PMSI MCO : chaînage patient (NIR_ANO_17 = BEN_NIR_PSA)',
    fields: [
      f('ETA_NUM', 'string', 'Numéro FINESS e-PMSI', { constraints: { ...req, pattern: FINESS } }),
      f('RSA_NUM', 'string', 'Numéro séquentiel dans le fichier PMSI', { constraints: { ...req, pattern: RSA } }),
      f('NIR_ANO_17', 'string', 'Numéro anonyme du patient (chaînage vers le DCIR)', { constraints: { ...req, pattern: ID17 } }),
      f('ENT_DAT', 'date', "Date d'entrée (JJMMAAAA)", { format: '%d%m%Y', constraints: req }),
      f('SOR_DAT', 'date', 'Date de sortie (JJMMAAAA)', { format: '%d%m%Y', constraints: req }),
      f('EXE_SOI_DTD', 'date', "Date d'entrée", { constraints: req }),
      f('EXE_SOI_DTF', 'date', 'Date de sortie', { constraints: req }),
      f('SOR_ANN', 'year', 'Année de sortie', { constraints: { ...req, minimum: 2000, maximum: 2100 } }),
      f('SOR_MOI', 'string', 'Mois de sortie (MM)', { constraints: { ...req, pattern: '^(0[1-9]|1[0-2])$' } }),
      f('SEJ_NUM', 'integer', 'Numéro de séjour', { constraints: { ...req, minimum: 0, maximum: 99999 } }),
      f('NIR_RET', 'string', 'Code retour contrôle n° de sécurité sociale (0 = OK)', { constraints: { ...req, enum: RET } }),
      f('NAI_RET', 'string', 'Code retour contrôle date de naissance', { constraints: { ...req, enum: RET } }),
      f('SEX_RET', 'string', 'Code retour contrôle sexe', { constraints: { ...req, enum: RET } }),
      f('SEJ_RET', 'string', "Code retour contrôle n° administratif de séjour", { constraints: { ...req, enum: RET } }),
      f('FHO_RET', 'string', 'Code retour fusion ANO-HOSP et HOSP-PMSI', { constraints: { ...req, enum: RET } }),
      f('PMS_RET', 'string', 'Code retour fusion ANO-PMSI et fichier PMSI', { constraints: { ...req, enum: RET } }),
      f('DAT_RET', 'string', 'Code retour contrôle date de référence', { constraints: { ...req, enum: RET } }),
    ],
    primaryKey: ['ETA_NUM', 'RSA_NUM'],
    foreignKeys: [
      { fields: ['ETA_NUM', 'RSA_NUM'], reference: { resource: 'T_MCOaaB', fields: ['ETA_NUM', 'RSA_NUM'] } },
      { fields: ['NIR_ANO_17'], reference: { resource: 'IR_BEN_R', fields: ['BEN_NIR_PSA'] } },
    ],
    enclave: { yearFromName: 'T_MCO(\\d\\d)C' },
  },
  {
    name: 'T_MCOaaD', product: 'PMSI_MCO', title: 'PMSI MCO : diagnostics associés',
    fields: [
      f('ETA_NUM', 'string', 'Numéro FINESS e-PMSI', { constraints: { ...req, pattern: FINESS } }),
      f('RSA_NUM', 'string', 'Numéro d’index du RSA', { constraints: { ...req, pattern: RSA } }),
      f('DGN_ASS_NUM', 'integer', 'Numéro du diagnostic dans le séjour', { constraints: { ...req, minimum: 1, maximum: 99 } }),
      f('ASS_DGN', 'string', 'Diagnostic associé (CIM-10)', { nomenclature: 'IR_CIM_V', constraints: { ...req, pattern: '^[A-Z][0-9]{2}[0-9A-Z]{0,3}$' } }),
    ],
    primaryKey: ['ETA_NUM', 'RSA_NUM', 'DGN_ASS_NUM'],
    foreignKeys: [{ fields: ['ETA_NUM', 'RSA_NUM'], reference: { resource: 'T_MCOaaB', fields: ['ETA_NUM', 'RSA_NUM'] } }],
    enclave: { yearFromName: 'T_MCO(\\d\\d)D' },
  },
  {
    name: 'T_MCOaaA', product: 'PMSI_MCO', title: 'PMSI MCO : actes CCAM',
    fields: [
      f('ETA_NUM', 'string', 'Numéro FINESS e-PMSI', { constraints: { ...req, pattern: FINESS } }),
      f('RSA_NUM', 'string', 'Numéro d’index du RSA', { constraints: { ...req, pattern: RSA } }),
      f('CDC_ACT', 'string', 'Code CCAM', { nomenclature: 'IR_CCAM_V63', constraints: { ...req, pattern: '^[A-Z]{4}[0-9]{3}$' } }),
      f('ACV_ACT', 'string', 'Activité', { constraints: { ...req, enum: ['1', '4'] } }),
      f('ENT_DAT_DEL', 'integer', "Délai depuis la date d'entrée (jours)", { constraints: { ...req, minimum: 0, maximum: 999 } }),
      f('NBR_EXE_ACT', 'integer', "Nombre de réalisations de l'acte", { constraints: { ...req, minimum: 1, maximum: 99 } }),
    ],
    foreignKeys: [{ fields: ['ETA_NUM', 'RSA_NUM'], reference: { resource: 'T_MCOaaB', fields: ['ETA_NUM', 'RSA_NUM'] } }],
    enclave: { yearFromName: 'T_MCO(\\d\\d)A' },
  },
  {
    name: 'KI_CCI_R', product: 'CAUSES_DECES', title: 'Causes de décès : certificat (cause initiale)',
    fields: [
      f('BEN_IDT_ANO', 'string', 'Identifiant bénéficiaire pseudonymisé', { constraints: { ...req, pattern: ID17 } }),
      nirIdt,
      f('BEN_DCD_DTE', 'date', 'Date de décès', { constraints: req }),
      f('BEN_DCD_AME', 'string', 'Année et mois de décès (AAAAMM)', { constraints: { ...req, pattern: YYYYMM } }),
      f('BEN_NAI_ANN', 'year', 'Année de naissance', { constraints: { ...req, minimum: 1900, maximum: 2100 } }),
      f('BEN_SEX_COD', 'integer', 'Sexe', { nomenclature: 'IR_SEX_V', constraints: { ...req, enum: [1, 2] } }),
      f('BEN_RES_DPT', 'string', 'Département de résidence', { nomenclature: 'IR_DPT_V', constraints: { ...req, pattern: DPT3 } }),
      f('DCD_DPT_COD', 'string', 'Département de décès', { nomenclature: 'IR_DPT_V', constraints: { ...req, pattern: DPT3 } }),
      f('DCD_LIE_COD', 'integer', 'Lieu du décès (1 domicile, 2 hôpital, 3 clinique, 4 maison de retraite, 5 voie publique, 6 autre)', { constraints: { ...req, enum: [1, 2, 3, 4, 5, 6] } }),
      f('DCD_CIM_COD', 'string', 'Cause initiale du décès (CIM-10)', { nomenclature: 'IR_CIM_V', constraints: { ...req, pattern: '^[A-Z][0-9]{2}[0-9A-Z]{0,3}$' } }),
      dcdIdtEnc,
    ],
    primaryKey: ['BEN_IDT_ANO'],
    foreignKeys: [{ fields: ['BEN_IDT_ANO'], reference: { resource: 'IR_BEN_R', fields: ['BEN_IDT_ANO'] } }],
    enclave: { yearColumn: 'BEN_DCD_DTE' },
  },
  {
    name: 'KI_ECD_R', product: 'CAUSES_DECES', title: 'Causes de décès : causes mentionnées sur le certificat',
    fields: [
      f('BEN_IDT_ANO', 'string', 'Identifiant bénéficiaire pseudonymisé', { constraints: { ...req, pattern: ID17 } }),
      f('BEN_DCD_DTE', 'date', 'Date de décès', { constraints: req }),
      f('CER_LIG_NUM', 'integer', 'Numéro de ligne du certificat', { constraints: { ...req, minimum: 1, maximum: 4 } }),
      f('ECD_CAU_RNG', 'integer', 'Rang de la cause sur la ligne', { constraints: { ...req, minimum: 1, maximum: 9 } }),
      f('ECD_CIM_COD', 'string', 'Cause mentionnée (CIM-10)', { nomenclature: 'IR_CIM_V', constraints: { ...req, pattern: '^[A-Z][0-9]{2}[0-9A-Z]{0,3}$' } }),
      dcdIdtEnc,
    ],
    primaryKey: ['BEN_IDT_ANO', 'CER_LIG_NUM', 'ECD_CAU_RNG'],
    foreignKeys: [
      { fields: ['BEN_IDT_ANO'], reference: { resource: 'KI_CCI_R', fields: ['BEN_IDT_ANO'] } },
      // The certificate's own key: the relation the real base delivers broken (`synth --broken-relations`).
      { fields: ['DCD_IDT_ENC'], reference: { resource: 'KI_CCI_R', fields: ['DCD_IDT_ENC'] } },
    ],
    enclave: { yearColumn: 'BEN_DCD_DTE' },
  },
];

/** Maps a delivered file name to its table (and, for yearly PMSI files, its year). */
export function filePattern(t: TableDef): string {
  if (t.name.startsWith('T_MCOaa')) return `^T_MCO([0-9]{2})${t.name.slice(7)}\\.(csv|parquet)$`;
  return `^${t.name}\\.(csv|parquet)$`;
}

export function buildDatapackage(): Record<string, unknown> {
  return {
    name: 'snds',
    title: 'Système national des données de santé (base principale)',
    profile: 'tabular-data-package',
    licenses: [{ name: 'MPL-2.0' }],
    dialect: { delimiter: ';', header: true, quoteChar: '"', doubleQuote: true, lineTerminator: '\n', skipInitialSpace: false },
    encoding: 'utf-8',
    enclave: {
      fileRule:
        'A file belongs to the resource whose pathPattern matches its base name. Its partition year is ' +
        'the year of the yearColumn value of each row, or 2000 + the first captured group of yearFromName ' +
        'for yearly PMSI files (T_MCO19B.csv → 2019); unpartitioned tables have no year.',
      dateFormat: 'ISO 8601 YYYY-MM-DD unless a field gives another format (strftime notation)',
      decimalChar: '.',
      missingValues: [''],
      nomenclatures: 'nomenclatures/<NAME>.csv, ";"-separated with a header, first column is the code; a field nomenclature "NAME:COLUMN" names another column',
    },
    resources: TABLES.map((t) => ({
      name: t.name,
      title: t.title,
      product: t.product,
      schema: `${t.product}/${t.name}.json`,
      pathPattern: filePattern(t),
      format: 'csv',
      enclave: t.enclave,
    })),
  };
}

export function buildTableSchema(t: TableDef): Record<string, unknown> {
  return {
    name: t.name,
    title: t.title,
    product: t.product,
    missingValues: [''],
    fields: t.fields.map((x) => ({
      name: x.name,
      type: x.type,
      description: x.description,
      ...(x.length === undefined ? {} : { length: x.length }),
      format: x.format ?? 'default',
      ...(x.nomenclature === undefined ? {} : { nomenclature: x.nomenclature }),
      ...(x.constraints === undefined ? {} : { constraints: x.constraints }),
      ...(x.enclave === undefined ? {} : { enclave: x.enclave }),
    })),
    ...(t.primaryKey === undefined ? {} : { primaryKey: t.primaryKey }),
    ...(t.foreignKeys === undefined ? {} : { foreignKeys: t.foreignKeys }),
    enclave: t.enclave,
  };
}

export const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas', 'snds');

/** Every file this script owns, as path → content. */
export function renderSchemaFiles(): Map<string, string> {
  const out = new Map<string, string>();
  out.set('datapackage.json', JSON.stringify(buildDatapackage(), null, 2) + '\n');
  for (const t of TABLES) out.set(`${t.product}/${t.name}.json`, JSON.stringify(buildTableSchema(t), null, 2) + '\n');
  return out;
}

/**
 * The committed file also holds the public schema's other columns and keys (written by
 * scripts/catalogue-from-schema-snds.ts): a re-render keeps them after the product's own.
 */
function keepCatalogueOnly(text: string, path: string): string {
  if (!existsSync(path)) return text;
  type Doc = { fields: { name: string; enclave?: { catalogueOnly?: boolean } }[]; foreignKeys?: { reference: { resource: string } }[] };
  const old = JSON.parse(readFileSync(path, 'utf8')) as Doc;
  const doc = JSON.parse(text) as Doc & Record<string, unknown>;
  const own = new Set(TABLES.map((t) => t.name));
  const { enclave, ...rest } = doc;
  return JSON.stringify({
    ...rest,
    // A public column the product now describes itself is written once, as the product's.
    fields: [...doc.fields, ...old.fields.filter((f) => f.enclave?.catalogueOnly === true && !doc.fields.some((g) => g.name === f.name))],
    foreignKeys: [...(doc.foreignKeys ?? []), ...(old.foreignKeys ?? []).filter((fk) => !own.has(fk.reference.resource))],
    enclave,
  }, null, 2) + '\n';
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const [rel, text] of renderSchemaFiles()) {
    const p = join(SCHEMA_DIR, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, rel === 'datapackage.json' ? text : keepCatalogueOnly(text, p));
  }
  console.log(`wrote ${TABLES.length} table schemas and datapackage.json under ${SCHEMA_DIR}`);
}
