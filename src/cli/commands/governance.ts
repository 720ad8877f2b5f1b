/**
 * `enclave projects …`, `enclave permits …`, `enclave tokens …`, `enclave demo people`: thin
 * commands over GovernanceService and IdentityService, the same calls the HTTP API makes, so
 * the same rules (four eyes, workflow table, permit validation) refuse the same things.
 *
 * Two modes, one set of commands written against `GovernanceClient`:
 * - local (the server's own terminal): the services over the local data directory. On the
 *   embedded default, `--as <demo person>` acts as that person; otherwise the local operator.
 * - remote (ENCLAVE_URL and ENCLAVE_TOKEN set): the HTTP API with the token, acting as the
 *   token's person on the token's project (src/cli/remote.ts).
 */
import { readFile } from 'node:fs/promises';
import { AppError } from '../../errors.ts';
import type { CatalogTable } from '../../catalog/index.ts';
import {
  validatePermit, type AccessRequest, type ActionName, type AmendmentActionName, type AmendmentDetail, type GovernanceService, type Permit, type PermitDocument, type Project,
  type ProjectDetail,
} from '../../governance/index.ts';
import { base32Decode, EMBEDDED_ISSUER_ID, totp, type IdentityService, type Principal } from '../../identity/index.ts';
import type { CliServices, Output } from '../services.ts';
import type { ProjectEngineState } from '../../workspace/index.ts';
import { formatTable } from '../table.ts';

export interface ActingOptions {
  readonly as?: string;
}

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new AppError('internal', `${what} is not available in this command context`);
  return v;
}

const services = (svc: CliServices): { gov: GovernanceService; identity: IdentityService } => ({ gov: need(svc.governance, 'governance'), identity: need(svc.identity, 'identity') });

/** The principal this terminal acts as. */
export async function actingPrincipal(svc: CliServices, o: ActingOptions): Promise<Principal> {
  const { identity } = services(svc);
  if (o.as === undefined) return { personId: svc.actor.id, roles: new Set(['operator']), via: 'local', projectScope: null };
  if (svc.config.oidc.issuer !== undefined) {
    throw new AppError('forbidden', '--as works only on the embedded default (no ENCLAVE_OIDC_ISSUER)', { hint: 'act through the API with an API token (ENCLAVE_TOKEN), or log in to the portal' });
  }
  const person = await identity.personBySubject(EMBEDDED_ISSUER_ID, o.as) ?? await identity.getPerson(o.as);
  if (person === null) throw new AppError('not_found', `no demo person ${o.as}`, { hint: 'list them with: enclave demo people' });
  return identity.principalOf(person.id, 'local');
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AppError('not_found', `cannot read ${file}`, { cause: e });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('invalid', `${file} is not valid JSON`, { cause: e, hint: 'check the file with a JSON validator' });
  }
}

/** Notes a reviewer attaches to a decision. */
export interface ReviewNote {
  readonly comment?: string;
  readonly reference?: string;
}

/** The governance operations the commands make, as one person: locally (services) or remotely (HTTP API). */
export interface GovernanceClient {
  listProjects(): Promise<Project[]>;
  getProject(id: string): Promise<ProjectDetail>;
  createProject(body: unknown): Promise<Project>;
  take(id: string, action: ActionName, o: ReviewNote): Promise<ProjectDetail>;
  permits(id: string): Promise<readonly Permit[]>;
  permitTemplate(id: string, validity: { readonly validFrom: string; readonly validUntil: string }): Promise<PermitDocument>;
  proposePermit(id: string, doc: unknown): Promise<Permit>;
  access(id: string, req: AccessRequest): Promise<{ allowed: true; validUntil: string }>;
  getAmendment(id: string): Promise<AmendmentDetail>;
  fileAmendment(id: string, body: unknown): Promise<AmendmentDetail>;
  reviseAmendment(id: string, body: unknown): Promise<AmendmentDetail>;
  takeAmendment(id: string, action: AmendmentActionName, o: ReviewNote): Promise<AmendmentDetail>;
  amendedPermitTemplate(id: string): Promise<PermitDocument>;
  proposeAmendedPermit(id: string, doc: unknown): Promise<Permit>;
  lookupTable(dataset: string, table: string): Promise<CatalogTable>;
  /** The engine a project is on (operators). */
  projectEngine(id: string): Promise<ProjectEngineState>;
  /** Puts a project on an engine (operators): `accepted` when its extract is being rebuilt there. */
  setProjectEngine(id: string, engine: string): Promise<{ readonly accepted: boolean; readonly state: ProjectEngineState }>;
}

/** The local client: GovernanceService as `p`. */
export function localGovernance(svc: CliServices, p: Principal): GovernanceClient {
  const { gov } = services(svc);
  return {
    listProjects: () => gov.listProjects(p),
    getProject: (id) => gov.getProject(p, id),
    createProject: (body) => gov.createProject(p, body),
    take: (id, action, o) => gov.take(p, id, action, o),
    permits: (id) => gov.permits(p, id),
    permitTemplate: (id, v) => gov.permitTemplate(p, id, v),
    proposePermit: (id, doc) => gov.proposePermit(p, id, doc),
    access: async (id, req) => ({ allowed: true, validUntil: (await gov.assertCanAccessData(p, id, req)).validUntil }),
    getAmendment: (id) => gov.getAmendment(p, id),
    fileAmendment: (id, body) => gov.fileAmendment(p, id, body),
    reviseAmendment: (id, body) => gov.reviseAmendment(p, id, body),
    takeAmendment: (id, action, o) => gov.takeAmendment(p, id, action, o),
    amendedPermitTemplate: (id) => gov.amendedPermitTemplate(p, id),
    proposeAmendedPermit: (id, doc) => gov.proposeAmendedPermit(p, id, doc),
    lookupTable: (d, t) => svc.catalog.getTable(d, t),
    projectEngine: (id) => need(svc.engineChoice, 'engine choice').get(p, id),
    setProjectEngine: (id, engine) => need(svc.engineChoice, 'engine choice').set(p, id, { engine }),
  };
}

/** `enclave projects engine <project> [duckdb|trino]`: shows the project's engine, or puts it on another. */
export async function projectsEngine(g: GovernanceClient, id: string, engine: string | undefined, o: { json?: boolean }, out: Output): Promise<void> {
  if (engine === undefined) {
    const s = await g.projectEngine(id);
    if (o.json === true) out.write(`${JSON.stringify(s, null, 2)}\n`);
    else out.write(describeEngine(s));
    return;
  }
  const r = await g.setProjectEngine(id, engine);
  if (o.json === true) {
    out.write(`${JSON.stringify(r, null, 2)}\n`);
    return;
  }
  out.write(describeEngine(r.state));
  if (r.accepted) out.write(`Moving: the extract is being rebuilt on ${r.state.engine}; members keep working on ${r.state.serving ?? 'the old engine'} until it is ready, then the workspace switches and the old copy is dropped (audited as project.engine.*; follow with: enclave projects engine ${id}).\n`);
  else out.write(r.state.serving === null ? `The extract will be built on ${r.state.engine} when the permit comes into force.\n` : 'Nothing to move.\n');
}

function describeEngine(s: ProjectEngineState): string {
  // absent from the answer of a server older than this CLI
  const failed = s.lastFailure as ProjectEngineState['lastFailure'] | undefined;
  const lines = [
    `project    ${s.projectId}`,
    `engine     ${s.engine}${s.isDefault ? ' (the deployment\'s default)' : ''}`,
    `serving    ${s.serving ?? 'no extract ready'}${s.moving ? ` (moving to ${s.engine})` : ''}`,
    `available  ${s.available.join(', ')} (default ${s.defaultEngine})`,
    ...(failed === undefined || failed === null ? [] : [`last move  to ${failed.engine} failed at ${failed.at}: ${failed.reason} (put back)`]),
  ];
  return `${lines.join('\n')}\n`;
}

export async function projectsLs(g: GovernanceClient, out: Output): Promise<void> {
  const ps = await g.listProjects();
  out.write(formatTable(['id', 'status', 'title', 'organisation', 'version', 'updated'], ps.map((p) => [p.id, p.status, p.title, p.organisation, p.currentVersion, p.updatedAt.slice(0, 19)])));
}

export async function projectsShow(g: GovernanceClient, id: string, o: { json?: boolean }, out: Output): Promise<void> {
  const d = await g.getProject(id);
  if (o.json === true) {
    out.write(`${JSON.stringify(d, null, 2)}\n`);
    return;
  }
  out.write(`${d.project.title} (${d.project.id})\n  status: ${d.project.status}\n  organisation: ${d.project.organisation}\n  application version: ${d.project.currentVersion}\n`);
  out.write(`  team: ${d.project.members.map((m) => `${m.personId} (${m.role})`).join(', ')}\n`);
  const inForce = d.permits.find((p) => p.state === 'active');
  if (inForce !== undefined) out.write(`  permit in force: version ${inForce.version}, ${inForce.document.validFrom} to ${inForce.document.validUntil}\n`);
  if (d.amendment !== null) out.write(`  amendment under way: ${d.amendment.status} (application version ${d.amendment.applicationVersion}); see: enclave projects amendment ${id}\n`);
  for (const r of d.reviews) out.write(`  review: ${JSON.stringify(r)}\n`);
  if (d.approvalsNeeded !== null) out.write(`  committee approvals still needed: ${d.approvalsNeeded}\n`);
  out.write(`  actions open to you: ${d.actions.length === 0 ? 'none' : d.actions.join(', ')}\n`);
}

export async function projectsCreate(g: GovernanceClient, file: string, o: ActingOptions, out: Output): Promise<void> {
  const p = await g.createProject(await readJson(file));
  out.write(`project ${p.id} created (draft): ${p.title}\nnext: enclave projects submit ${p.id}${o.as === undefined ? '' : ` --as ${o.as}`}\n`);
}

export async function projectsSubmit(g: GovernanceClient, id: string, out: Output): Promise<void> {
  const d = await g.take(id, 'submit', {});
  out.write(`project ${id}: ${d.project.status}\n`);
}

/** Review steps and the workflow action of each decision (as the HTTP routes map them). */
export const REVIEW_STEPS: Readonly<Record<string, Readonly<Record<string, ActionName & AmendmentActionName>>>> = {
  completeness: { approve: 'accept_complete', return: 'return_incomplete' },
  ethics: { approve: 'ethics_favourable', return: 'ethics_return', reject: 'ethics_unfavourable' },
  legal: { approve: 'legal_approve', return: 'legal_return', reject: 'legal_reject' },
  committee: { approve: 'committee_approve', return: 'committee_return', reject: 'committee_reject' },
};

const note = (o: { reference?: string; comment?: string }): ReviewNote => ({ ...(o.comment === undefined ? {} : { comment: o.comment }), ...(o.reference === undefined ? {} : { reference: o.reference }) });

export async function projectsReview(g: GovernanceClient, id: string, o: { step: string; decision: string; reference?: string; comment?: string; amendment?: boolean }, out: Output): Promise<void> {
  const steps = REVIEW_STEPS[o.step];
  if (steps === undefined) throw new AppError('invalid', `unknown step ${o.step}`, { hint: `steps: ${Object.keys(REVIEW_STEPS).join(', ')}` });
  const action = steps[o.decision];
  if (action === undefined) throw new AppError('invalid', `decision for ${o.step} must be one of ${Object.keys(steps).join(', ')}`, { hint: `e.g. --decision ${Object.keys(steps)[0] ?? 'approve'}` });
  if (o.amendment === true) {
    const a = await g.takeAmendment(id, action, note(o));
    const needed = a.approvalsNeeded !== null && a.approvalsNeeded > 0 ? ` (${a.approvalsNeeded} committee approval(s) still needed)` : '';
    const inForce = a.amendment.status === 'approved' && a.inForce !== null ? `; permit version ${a.inForce.version} is now in force` : '';
    out.write(`project ${id}: amendment ${a.amendment.status}${needed}${inForce}\n`);
    return;
  }
  const d = await g.take(id, action, note(o));
  out.write(`project ${id}: ${d.project.status}${d.approvalsNeeded !== null && d.approvalsNeeded > 0 ? ` (${d.approvalsNeeded} committee approval(s) still needed)` : ''}\n`);
}

/** Files an amendment of the permit in force (or, with `revise`, revises a returned one and resubmits it). */
export async function projectsAmend(g: GovernanceClient, id: string, file: string, o: { revise?: boolean }, out: Output): Promise<void> {
  const body = await readJson(file);
  let a: AmendmentDetail;
  if (o.revise === true) {
    await g.reviseAmendment(id, body);
    a = await g.takeAmendment(id, 'submit', {});
  } else {
    a = await g.fileAmendment(id, body);
  }
  out.write(`amendment of project ${id} ${o.revise === true ? 'revised and resubmitted' : 'filed'} (application version ${a.application.version}): ${a.amendment.status}\n`);
  out.write(`the permit in force${a.inForce === null ? '' : ` (version ${a.inForce.version}, until ${a.inForce.document.validUntil})`} stays in force, unchanged, until the amendment is approved\n`);
  for (const c of a.changes) out.write(`  changed ${c.path}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}\n`);
}

export async function projectsAmendment(g: GovernanceClient, id: string, o: { json?: boolean; withdraw?: boolean }, out: Output): Promise<void> {
  const a = o.withdraw === true ? await g.takeAmendment(id, 'withdraw', {}) : await g.getAmendment(id);
  if (o.json === true) {
    out.write(`${JSON.stringify(a, null, 2)}\n`);
    return;
  }
  out.write(`amendment ${a.amendment.id} of project ${id}\n  status: ${a.amendment.status}\n  application version: ${a.application.version} (in force when filed: ${a.amendment.baseApplicationVersion})\n`);
  out.write(`  permit in force: ${a.inForce === null ? 'none' : `version ${a.inForce.version}, until ${a.inForce.document.validUntil}`}\n`);
  if (a.proposal !== null) out.write(`  proposed permit: version ${a.proposal.version} (${a.proposal.state})\n`);
  for (const c of a.changes) out.write(`  changed ${c.path}: ${JSON.stringify(c.before)} → ${JSON.stringify(c.after)}\n`);
  for (const r of a.reviews) out.write(`  review: ${r.step} ${r.decision} by ${r.reviewerId}${r.comment === '' ? '' : `: ${r.comment}`}\n`);
  if (a.approvalsNeeded !== null) out.write(`  committee approvals still needed: ${a.approvalsNeeded}\n`);
  out.write(`  actions open to you: ${a.actions.length === 0 ? 'none' : a.actions.join(', ')}\n`);
}

/** May I read these columns now? Computed by the server from the permit in force at this request. */
export async function projectsAccess(g: GovernanceClient, id: string, o: { dataset?: string; table?: string; columns?: string; tool?: string }, out: Output): Promise<void> {
  if (o.tool !== undefined && o.tool !== 'web_sql' && o.tool !== 'database_protocol') throw new AppError('invalid', '--tool must be web_sql or database_protocol', { hint: 'e.g. --tool web_sql' });
  const tool: 'web_sql' | 'database_protocol' | undefined = o.tool;
  const columns = o.columns?.split(',').map((c) => c.trim()).filter((c) => c !== '');
  const r = await g.access(id, {
    ...(tool === undefined ? {} : { tool }), ...(o.dataset === undefined ? {} : { dataset: o.dataset }), ...(o.table === undefined ? {} : { table: o.table }), ...(columns === undefined ? {} : { columns }),
  });
  out.write(`allowed: the permit in force grants it (valid until ${r.validUntil})\n`);
}

export async function permitsShow(g: GovernanceClient, projectId: string, out: Output): Promise<void> {
  const ps = await g.permits(projectId);
  if (ps.length === 0) throw new AppError('not_found', `project ${projectId} has no permit yet`, { hint: 'the access committee proposes one during its review' });
  out.write(formatTable(['version', 'state', 'valid from', 'valid until', 'sha256'], ps.map((p) => [p.version, p.state, p.document.validFrom, p.document.validUntil, `${p.sha256.slice(0, 16)}…`])));
  const shown = ps.find((p) => p.state === 'active') ?? ps[ps.length - 1];
  if (shown !== undefined) out.write(`${JSON.stringify(shown.document, null, 2)}\n`);
}

/** A starting permit drawn from the application (committee), printed as JSON to edit and propose; `amendment`: from the permit in force and the amendment. */
export async function permitsTemplate(g: GovernanceClient, projectId: string, o: { from?: string; until?: string; amendment?: boolean }, out: Output): Promise<void> {
  if (o.amendment === true) {
    out.write(`${JSON.stringify(await g.amendedPermitTemplate(projectId), null, 2)}\n`);
    return;
  }
  if (o.from === undefined || o.until === undefined) throw new AppError('invalid', 'a permit template needs --from and --until', { hint: 'e.g. --from 2026-01-01 --until 2026-12-31 (or --amendment for an amended permit)' });
  out.write(`${JSON.stringify(await g.permitTemplate(projectId, { validFrom: o.from, validUntil: o.until }), null, 2)}\n`);
}

/** Proposes a permit (committee): validated by the schema, the catalogue and the team; then the committee votes. */
export async function permitsPropose(g: GovernanceClient, projectId: string, file: string, o: { amendment?: boolean }, out: Output): Promise<void> {
  const doc = await readJson(file);
  const p = o.amendment === true ? await g.proposeAmendedPermit(projectId, doc) : await g.proposePermit(projectId, doc);
  const decide = `enclave projects decide ${projectId} --decision approve${o.amendment === true ? ' --amendment' : ''}`;
  out.write(`permit version ${p.version} proposed for project ${projectId}${o.amendment === true ? ' (amendment)' : ''} (sha256 ${p.sha256}); two distinct committee members must approve it: ${decide}\n`);
}

/**
 * Checks a permit file against the published schema, and (when its project exists) against the
 * project's team and the catalogue, exactly as a proposal would be.
 */
export async function permitsValidate(g: GovernanceClient, file: string, out: Output): Promise<void> {
  const raw = await readJson(file);
  const projectId = typeof raw === 'object' && raw !== null && 'projectId' in raw && typeof raw.projectId === 'string' ? raw.projectId : '';
  const detail = projectId === '' ? null : await g.getProject(projectId).catch((e: unknown) => {
    if (e instanceof AppError && e.code === 'not_found') return null;
    throw e;
  });
  const doc = await validatePermit(raw, {
    projectId: detail?.project.id ?? projectId, projectMembers: detail?.project.members ?? [],
    lookup: (d, t) => g.lookupTable(d, t),
  });
  out.write(`valid permit for project ${doc.projectId}${detail === null ? ' (schema and catalogue only: the project is not known here)' : ''}\n`);
}

export async function tokensCreate(svc: CliServices, o: ActingOptions & { project: string; days?: number; label?: string }, out: Output): Promise<void> {
  const { gov, identity } = services(svc);
  const p = await actingPrincipal(svc, o);
  await gov.assertCanIssueToken(p, o.project);
  const t = await identity.createApiToken(p, o.project, { ...(o.days === undefined ? {} : { days: o.days }), ...(o.label === undefined ? {} : { label: o.label }) });
  out.write(`token ${t.id} for project ${o.project}, expires ${t.expiresAt}\n${t.token}\n(shown once: keep it in a secret store; use it as ENCLAVE_TOKEN or Authorization: Bearer)\n`);
}

export async function tokensLs(svc: CliServices, o: ActingOptions, out: Output): Promise<void> {
  const { identity } = services(svc);
  const p = await actingPrincipal(svc, o);
  const ts = await identity.listApiTokens(p.personId);
  out.write(formatTable(['id', 'project', 'label', 'created', 'expires', 'revoked'], ts.map((t) => [t.id, t.projectId, t.label, t.createdAt.slice(0, 19), t.expiresAt.slice(0, 19), t.revokedAt?.slice(0, 19) ?? ''])));
}

export async function tokensRevoke(svc: CliServices, id: string, o: ActingOptions, out: Output): Promise<void> {
  const { identity } = services(svc);
  await identity.revokeApiToken(await actingPrincipal(svc, o), id);
  out.write(`token ${id} revoked\n`);
}

/** DEMO ONLY: the embedded provider's demo people with their TOTP secrets and current codes. */
export async function demoPeople(svc: CliServices, out: Output, o: { readonly newPasswords?: boolean } = {}): Promise<void> {
  if (svc.config.oidc.issuer !== undefined) throw new AppError('forbidden', 'demo people exist only on the embedded default (no ENCLAVE_OIDC_ISSUER)');
  const { identity } = services(svc);
  const accounts = await identity.demoAccounts();
  if (accounts.length === 0) throw new AppError('not_found', 'no demo people yet', { hint: 'start the server once (npm start): it creates them' });
  const rows: (string | number)[][] = [];
  for (const a of accounts) {
    const person = await identity.personBySubject(EMBEDDED_ISSUER_ID, a.subject);
    rows.push([a.username, person?.roles.join(',') ?? '', a.totpSecret, totp(base32Decode(a.totpSecret), Date.now()), person?.id ?? '']);
  }
  const passwords = o.newPasswords === true ? new Map((await identity.resetDemoPasswords(svc.actor)).map((r) => [r.username, r.password])) : undefined;
  out.write(`DEMO ONLY: demo people of the embedded identity provider (${passwords === undefined ? 'passwords were shown once at first start; --new-passwords gives new ones' : 'new passwords, shown this once'}; logging in needs the password and the TOTP code).\n`);
  out.write(formatTable(['person', 'roles', ...(passwords === undefined ? [] : ['password']), 'TOTP secret', 'code now', 'person id'], rows.map((r) => (passwords === undefined ? r : [r[0] ?? '', r[1] ?? '', passwords.get(String(r[0])) ?? '', ...r.slice(2)]))));
}
