/**
 * Governance fixtures: the real services on a fresh database, a small catalogued dataset, one
 * person per role, and factories that jump a project to a status (Airlock's
 * create_request_at_status) through the real workflow.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, generateLogKey } from '../../src/audit/index.ts';
import { CatalogService } from '../../src/catalog/index.ts';
import { GovernanceService, type PermitDocument, type ProjectStatus } from '../../src/governance/index.ts';
import { IdentityService, type Principal, type Role } from '../../src/identity/index.ts';
import { KeyService } from '../../src/keys/index.ts';
import { openTestDb, type TestDb } from './db.ts';

export const PEOPLE = ['applicant', 'member', 'ethics', 'legal', 'committee1', 'committee2', 'checker', 'operator', 'auditor', 'admin', 'outsider'] as const;
export type PersonKey = (typeof PEOPLE)[number];
export const ROLES_OF: Record<PersonKey, readonly Role[]> = {
  applicant: ['applicant'],
  member: ['applicant'],
  ethics: ['ethics_reviewer'],
  legal: ['legal_reviewer'],
  committee1: ['access_committee'],
  committee2: ['access_committee'],
  checker: ['output_checker'],
  operator: ['operator'],
  auditor: ['auditor'],
  admin: ['admin'],
  outsider: [],
};

export interface GovFixture {
  readonly t: TestDb;
  readonly audit: AuditLog;
  readonly catalog: CatalogService;
  readonly identity: IdentityService;
  readonly gov: GovernanceService;
  /** The key service governance creates project keys with. */
  readonly keys: KeyService;
  readonly who: Record<PersonKey, Principal>;
  /** Moves the clock the services see. */
  setNow(d: Date): void;
  application(overrides?: Record<string, unknown>): Record<string, unknown>;
  permitFor(projectId: string, overrides?: Partial<PermitDocument>): Promise<PermitDocument>;
  /** A project filed by `applicant` with `member` in the team, driven to `status`. */
  projectAt(status: ProjectStatus): Promise<string>;
  /** The fixture's application asking for these ER_PRS_F columns instead. */
  amendedApplication(columns: readonly string[]): Record<string, unknown>;
  /**
   * Files an amendment of an active project asking for `columns` of ER_PRS_F and drives it to
   * `status` (committee_review includes the amended permit proposed by committee1).
   */
  amendmentAt(projectId: string, status: 'submitted' | 'ethics_review' | 'legal_review' | 'committee_review', columns: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Columns of the small ER_PRS_F the governance tests request permits on. */
const PRS_FIELDS = {
  BEN_NIR_PSA: { type: 'string', description: 'pseudonyme' },
  BEN_NIR: { type: 'string', description: 'NIR' },
  EXE_SOI_DTD: { type: 'date', description: 'date de soins' },
  BEN_NAI_ANN: { type: 'string', description: 'année de naissance' },
  PRS_NAT_REF: { type: 'integer', description: 'nature de prestation' },
  PRS_ACT_QTE: { type: 'integer', description: 'quantité' },
  DCT_ORD_NUM: { type: 'integer', description: 'numéro du décompte (clé de jointure)' },
  FLX_TRT_DTD: { type: 'date', description: 'date de traitement du flux (clé de jointure)' },
} as const;

/** Join key of the DCIR tables, as in schemas/snds (shortened): pharmacy rows point at their service row. */
const DCIR_JOIN_KEY = ['DCT_ORD_NUM', 'FLX_TRT_DTD'] as const;

/** Imports dataset `snds` with one table, ER_PRS_F, holding the named columns (schema written under `dir`). */
export async function importPrsSchema(catalog: Pick<CatalogService, 'importDirectory'>, dir: string, fields: ReadonlyArray<keyof typeof PRS_FIELDS>, o: { readonly pharmacy?: boolean } = {}): Promise<void> {
  await mkdir(join(dir, 'schema', 'DCIR'), { recursive: true });
  const prsFields: ReadonlyArray<keyof typeof PRS_FIELDS> = o.pharmacy === true ? [...new Set([...fields, ...DCIR_JOIN_KEY])] : fields;
  await writeFile(join(dir, 'schema', 'DCIR', 'ER_PRS_F.json'), JSON.stringify({
    name: 'ER_PRS_F', title: 'Prestations', produit: 'DCIR',
    fields: prsFields.map((name) => ({ name, ...PRS_FIELDS[name] })),
    ...(o.pharmacy === true ? { primaryKey: [...DCIR_JOIN_KEY] } : {}),
  }));
  if (o.pharmacy === true) {
    // ER_PHA_F with the DCIR join key to ER_PRS_F: the realistic pharmacy study of issue 15
    await writeFile(join(dir, 'schema', 'DCIR', 'ER_PHA_F.json'), JSON.stringify({
      name: 'ER_PHA_F', title: 'Pharmacie', produit: 'DCIR',
      fields: [
        { name: 'DCT_ORD_NUM', type: 'integer', description: 'numéro du décompte' },
        { name: 'FLX_TRT_DTD', type: 'date', description: 'date de traitement du flux' },
        { name: 'PHA_PRS_C13', type: 'string', description: 'code CIP13' },
        { name: 'PHA_ACT_QSN', type: 'integer', description: 'quantité' },
      ],
      foreignKeys: [{ fields: [...DCIR_JOIN_KEY], reference: { resource: 'ER_PRS_F', fields: [...DCIR_JOIN_KEY] } }],
    }));
  }
  await catalog.importDirectory(join(dir, 'schema'), { dataset: 'snds', actor: { kind: 'service', id: 'test' } });
}

/** `pharmacy`: ER_PRS_F also holds the DCIR join key, and ER_PHA_F references it. */
export async function openGovFixture(o: { readonly pharmacy?: boolean } = {}): Promise<GovFixture> {
  const t = await openTestDb();
  const dir = await mkdtemp(join(tmpdir(), 'enclave-gov-'));
  let now = new Date('2026-03-01T10:00:00Z');
  const clock = () => now;
  const audit = new AuditLog(t.db, generateLogKey('enclave.test/audit'));
  const catalog = new CatalogService({ db: t.db, audit });
  await importPrsSchema(catalog, dir, ['BEN_NIR_PSA', 'BEN_NIR', 'EXE_SOI_DTD', 'BEN_NAI_ANN', 'PRS_NAT_REF', 'PRS_ACT_QTE'], o);
  const keys = await KeyService.open(join(dir, 'keyring.json'), t.db, audit);
  const identity = new IdentityService({ db: t.db, audit, now: clock });
  const gov = new GovernanceService({
    db: t.db, audit, now: clock, keys,
    catalog: (d, tb) => catalog.getTable(d, tb),
    people: identity.peopleDirectory(),
  });
  const who = {} as Record<PersonKey, Principal>;
  for (const k of PEOPLE) {
    const id = await identity.ensurePerson({ kind: 'service', id: 'test' }, { issuer: 'https://idp.test', subject: k, displayName: k, email: null, organisation: 'test' });
    if (ROLES_OF[k].length > 0) await identity.seedRoles({ kind: 'service', id: 'test' }, id, ROLES_OF[k]);
    who[k] = await identity.principalOf(id, 'session');
  }
  const application = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    title: 'Statins and dementia', organisation: 'Inserm U1234', purpose: 'Estimate the association between statin use and dementia onset.',
    publicInterest: 'Dementia prevention.', legalBasis: { kind: 'reference_methodology', reference: 'MR-004' }, ethicsOpinionReference: null,
    funding: 'ANR', team: [{ name: 'A. Applicant', role: 'principal investigator', organisation: 'Inserm' }],
    requestedScope: { datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF'] }] }], years: { from: 2019, to: 2023 }, population: 'adults over 50', justification: 'needed for exposure' },
    ...overrides,
  });
  const permitFor = async (projectId: string, overrides: Partial<PermitDocument> = {}): Promise<PermitDocument> => ({
    ...(await gov.permitTemplate(who.committee1, projectId, { validFrom: '2026-03-01', validUntil: '2027-02-28' })),
    ...overrides,
  });
  const path: Record<ProjectStatus, readonly (readonly [PersonKey, string])[]> = {
    draft: [], withdrawn: [['applicant', 'withdraw']],
    submitted: [['applicant', 'submit']],
    changes_requested: [['applicant', 'submit'], ['committee1', 'return_incomplete']],
    ethics_review: [['applicant', 'submit'], ['committee1', 'accept_complete']],
    rejected: [['applicant', 'submit'], ['committee1', 'accept_complete'], ['ethics', 'ethics_unfavourable']],
    legal_review: [['applicant', 'submit'], ['committee1', 'accept_complete'], ['ethics', 'ethics_favourable']],
    committee_review: [['applicant', 'submit'], ['committee1', 'accept_complete'], ['ethics', 'ethics_favourable'], ['legal', 'legal_approve']],
    active: [['applicant', 'submit'], ['committee1', 'accept_complete'], ['ethics', 'ethics_favourable'], ['legal', 'legal_approve'], ['committee1', 'PERMIT'], ['committee1', 'committee_approve'], ['committee2', 'committee_approve']],
    suspended: [], expired: [], closed: [], revoked: [],
  };
  const projectAt = async (status: ProjectStatus): Promise<string> => {
    const base: ProjectStatus = ['suspended', 'expired', 'closed', 'revoked'].includes(status) ? 'active' : status;
    const p = await gov.createProject(who.applicant, application());
    await gov.addMember(who.applicant, p.id, who.member.personId, 'member');
    for (const [k, a] of path[base]) {
      if (a === 'PERMIT') await gov.proposePermit(who[k], p.id, await permitFor(p.id));
      else await gov.take(who[k], p.id, a);
    }
    if (status === 'suspended') await gov.take(who.committee1, p.id, 'suspend');
    if (status === 'revoked') await gov.take(who.committee1, p.id, 'revoke');
    if (status === 'closed') await gov.take(who.applicant, p.id, 'close');
    if (status === 'expired') await gov.take(who.committee1, p.id, 'expire');
    return p.id;
  };
  const amendedApplication = (columns: readonly string[]): Record<string, unknown> => {
    const a = application();
    const scope = a['requestedScope'] as Record<string, unknown>;
    return { ...a, requestedScope: { ...scope, datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns: [...columns] }] }], justification: 'amended: the analysis needs other variables' } };
  };
  const amendmentAt = async (projectId: string, status: 'submitted' | 'ethics_review' | 'legal_review' | 'committee_review', columns: readonly string[]): Promise<void> => {
    await gov.fileAmendment(who.applicant, projectId, amendedApplication(columns));
    const steps: readonly (readonly [PersonKey, string])[] = [['committee1', 'accept_complete'], ['ethics', 'ethics_favourable'], ['legal', 'legal_approve']];
    const n = ['submitted', 'ethics_review', 'legal_review', 'committee_review'].indexOf(status);
    for (const [k, a] of steps.slice(0, n)) await gov.takeAmendment(who[k], projectId, a);
    if (status === 'committee_review') await gov.proposeAmendedPermit(who.committee1, projectId, await gov.amendedPermitTemplate(who.committee1, projectId));
  };
  return {
    t, audit, catalog, identity, gov, keys, who, application, permitFor, projectAt, amendedApplication, amendmentAt,
    setNow(d) { now = d; },
    async close() {
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
