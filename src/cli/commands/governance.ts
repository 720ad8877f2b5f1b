/**
 * `enclave projects …`, `enclave permits …`, `enclave tokens …`, `enclave demo people`: thin
 * commands over GovernanceService and IdentityService, the same calls the HTTP API makes, so
 * the same rules (four eyes, workflow table, permit validation) refuse the same things.
 *
 * Who acts: on the embedded default, `--as <demo person>` acts as that person (the server's
 * own terminal already holds every key; every act is audited under that person). Otherwise the
 * local operator, with the operator role only.
 */
import { readFile } from 'node:fs/promises';
import { AppError } from '../../errors.ts';
import { validatePermit, type GovernanceService } from '../../governance/index.ts';
import { base32Decode, EMBEDDED_ISSUER_ID, totp, type IdentityService, type Principal } from '../../identity/index.ts';
import type { CliServices, Output } from '../services.ts';
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

export async function projectsLs(svc: CliServices, o: ActingOptions, out: Output): Promise<void> {
  const { gov } = services(svc);
  const ps = await gov.listProjects(await actingPrincipal(svc, o));
  out.write(formatTable(['id', 'status', 'title', 'organisation', 'version', 'updated'], ps.map((p) => [p.id, p.status, p.title, p.organisation, p.currentVersion, p.updatedAt.slice(0, 19)])));
}

export async function projectsShow(svc: CliServices, id: string, o: ActingOptions & { json?: boolean }, out: Output): Promise<void> {
  const { gov } = services(svc);
  const d = await gov.getProject(await actingPrincipal(svc, o), id);
  if (o.json === true) {
    out.write(`${JSON.stringify(d, null, 2)}\n`);
    return;
  }
  out.write(`${d.project.title} (${d.project.id})\n  status: ${d.project.status}\n  organisation: ${d.project.organisation}\n  application version: ${d.project.currentVersion}\n`);
  out.write(`  team: ${d.project.members.map((m) => `${m.personId} (${m.role})`).join(', ')}\n`);
  for (const r of d.reviews) out.write(`  review: ${JSON.stringify(r)}\n`);
  if (d.approvalsNeeded !== null) out.write(`  committee approvals still needed: ${d.approvalsNeeded}\n`);
  out.write(`  actions open to you: ${d.actions.length === 0 ? 'none' : d.actions.join(', ')}\n`);
}

export async function projectsCreate(svc: CliServices, file: string, o: ActingOptions, out: Output): Promise<void> {
  const { gov } = services(svc);
  const p = await gov.createProject(await actingPrincipal(svc, o), await readJson(file));
  out.write(`project ${p.id} created (draft): ${p.title}\nnext: enclave projects submit ${p.id}${o.as === undefined ? '' : ` --as ${o.as}`}\n`);
}

export async function projectsSubmit(svc: CliServices, id: string, o: ActingOptions, out: Output): Promise<void> {
  const { gov } = services(svc);
  const d = await gov.take(await actingPrincipal(svc, o), id, 'submit');
  out.write(`project ${id}: ${d.project.status}\n`);
}

/** Review steps and the workflow action of each decision (as the HTTP routes map them). */
export const REVIEW_STEPS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  completeness: { approve: 'accept_complete', return: 'return_incomplete' },
  ethics: { approve: 'ethics_favourable', return: 'ethics_return', reject: 'ethics_unfavourable' },
  legal: { approve: 'legal_approve', return: 'legal_return', reject: 'legal_reject' },
  committee: { approve: 'committee_approve', return: 'committee_return', reject: 'committee_reject' },
};

export async function projectsReview(svc: CliServices, id: string, o: ActingOptions & { step: string; decision: string; reference?: string; comment?: string }, out: Output): Promise<void> {
  const { gov } = services(svc);
  const steps = REVIEW_STEPS[o.step];
  if (steps === undefined) throw new AppError('invalid', `unknown step ${o.step}`, { hint: `steps: ${Object.keys(REVIEW_STEPS).join(', ')}` });
  const action = steps[o.decision];
  if (action === undefined) throw new AppError('invalid', `decision for ${o.step} must be one of ${Object.keys(steps).join(', ')}`);
  const d = await gov.take(await actingPrincipal(svc, o), id, action, { ...(o.comment === undefined ? {} : { comment: o.comment }), ...(o.reference === undefined ? {} : { reference: o.reference }) });
  out.write(`project ${id}: ${d.project.status}${d.approvalsNeeded !== null && d.approvalsNeeded > 0 ? ` (${d.approvalsNeeded} committee approval(s) still needed)` : ''}\n`);
}

export async function permitsShow(svc: CliServices, projectId: string, o: ActingOptions, out: Output): Promise<void> {
  const { gov } = services(svc);
  const ps = await gov.permits(await actingPrincipal(svc, o), projectId);
  if (ps.length === 0) throw new AppError('not_found', `project ${projectId} has no permit yet`);
  out.write(formatTable(['version', 'state', 'valid from', 'valid until', 'sha256'], ps.map((p) => [p.version, p.state, p.document.validFrom, p.document.validUntil, `${p.sha256.slice(0, 16)}…`])));
  const last = ps[ps.length - 1];
  if (last !== undefined) out.write(`${JSON.stringify(last.document, null, 2)}\n`);
}

/** A starting permit drawn from the application (committee), printed as JSON to edit and propose. */
export async function permitsTemplate(svc: CliServices, projectId: string, o: ActingOptions & { from: string; until: string }, out: Output): Promise<void> {
  const { gov } = services(svc);
  const doc = await gov.permitTemplate(await actingPrincipal(svc, o), projectId, { validFrom: o.from, validUntil: o.until });
  out.write(`${JSON.stringify(doc, null, 2)}\n`);
}

/** Proposes a permit (committee): validated by the schema, the catalogue and the team; then the committee votes. */
export async function permitsPropose(svc: CliServices, projectId: string, file: string, o: ActingOptions, out: Output): Promise<void> {
  const { gov } = services(svc);
  const p = await gov.proposePermit(await actingPrincipal(svc, o), projectId, await readJson(file));
  out.write(`permit version ${p.version} proposed for project ${projectId} (sha256 ${p.sha256}); two distinct committee members must approve it: enclave projects decide ${projectId} --decision approve\n`);
}

/**
 * Checks a permit file against the published schema, and (when its project exists) against the
 * project's team and the catalogue, exactly as a proposal would be.
 */
export async function permitsValidate(svc: CliServices, file: string, o: ActingOptions, out: Output): Promise<void> {
  const { gov } = services(svc);
  const raw = await readJson(file);
  const projectId = typeof raw === 'object' && raw !== null && 'projectId' in raw && typeof raw.projectId === 'string' ? raw.projectId : '';
  const detail = projectId === '' ? null : await gov.getProject(await actingPrincipal(svc, o), projectId).catch((e: unknown) => {
    if (e instanceof AppError && e.code === 'not_found') return null;
    throw e;
  });
  const doc = await validatePermit(raw, {
    projectId: detail?.project.id ?? projectId, projectMembers: detail?.project.members ?? [],
    lookup: (d, t) => svc.catalog.getTable(d, t),
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
export async function demoPeople(svc: CliServices, out: Output): Promise<void> {
  if (svc.config.oidc.issuer !== undefined) throw new AppError('forbidden', 'demo people exist only on the embedded default (no ENCLAVE_OIDC_ISSUER)');
  const { identity } = services(svc);
  const accounts = await identity.demoAccounts();
  if (accounts.length === 0) throw new AppError('not_found', 'no demo people yet', { hint: 'start the server once (npm start): it creates them' });
  const rows: (string | number)[][] = [];
  for (const a of accounts) {
    const person = await identity.personBySubject(EMBEDDED_ISSUER_ID, a.subject);
    rows.push([a.username, person?.roles.join(',') ?? '', a.totpSecret, totp(base32Decode(a.totpSecret), Date.now()), person?.id ?? '']);
  }
  out.write('DEMO ONLY: demo people of the embedded identity provider (passwords were shown once at first start; the demo picker needs none).\n');
  out.write(formatTable(['person', 'roles', 'TOTP secret', 'code now', 'person id'], rows));
}
