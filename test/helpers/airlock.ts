/**
 * Airlock fixtures: the real workspace fixture (governance on PGlite/PostgreSQL, an encrypted
 * extract, the DuckDB sandbox), a local store in a temporary directory, a fresh release-signing
 * key, two more output checkers, and factories that jump a request to a status through the real
 * service (Airlock's create_request_at_status).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AirlockService, type RequestDetail, type RequestStatus } from '../../src/airlock/index.ts';
import type { Principal } from '../../src/identity/index.ts';
import { generateReleaseSigningKey, type ReleaseSigningKey } from '../../src/keys/index.ts';
import { airlockGovernanceFrom } from '../../src/main.ts';
import { LocalStore } from '../../src/store/local.ts';
import { openWorkspaceFixture, type WorkspaceFixture } from './workspace.ts';

export interface AirlockFixture {
  readonly w: WorkspaceFixture;
  readonly airlock: AirlockService;
  readonly store: LocalStore;
  readonly signer: ReleaseSigningKey;
  /** Output checkers outside every project (the governance fixture's `checker` and one more). */
  readonly checker1: Principal;
  readonly checker2: Principal;
  readonly checker3: Principal;
  /** Runs a statement in the project's workspace as the member, saving its result as a table. */
  saveTable(projectId: string, name: string, sql: string): Promise<void>;
  /**
   * A request by the member in `projectId` with one output per table (saved from `tables`),
   * driven to `status`: submitted, in_review (checker1 approved), returned (checker2 returned),
   * released (both approved).
   */
  requestAt(projectId: string, status: Extract<RequestStatus, 'draft' | 'submitted' | 'in_review' | 'returned' | 'released'>, tables?: Readonly<Record<string, string>>, population?: string): Promise<RequestDetail>;
  /** Approves every output the checker has not voted on. */
  approveAll(checker: Principal, requestId: string): Promise<RequestDetail>;
  close(): Promise<void>;
}

/** A count by department of the fixture's 1000 persons (250 each): clean under every rule. */
export const BY_DEPT = 'SELECT dept, count(*) AS n FROM persons GROUP BY dept ORDER BY dept';

export async function openAirlockFixture(): Promise<AirlockFixture> {
  const w = await openWorkspaceFixture();
  const dir = await mkdtemp(join(tmpdir(), 'enclave-airlock-'));
  const store = new LocalStore(dir);
  const signer = generateReleaseSigningKey();
  const f = w.f;
  const airlock = new AirlockService({ db: f.t.db, audit: f.audit, governance: airlockGovernanceFrom(f.identity.peopleDirectory(), f.t.db), workspace: w.ws, keys: f.keys, store, signer });
  const extraChecker = async (subject: string): Promise<Principal> => {
    const id = await f.identity.ensurePerson({ kind: 'service', id: 'test' }, { issuer: 'https://idp.test', subject, displayName: subject, email: null, organisation: 'test' });
    await f.identity.seedRoles({ kind: 'service', id: 'test' }, id, ['output_checker']);
    return f.identity.principalOf(id, 'session');
  };
  const checker1 = f.who.checker;
  const checker2 = await extraChecker('checker-2');
  const checker3 = await extraChecker('checker-3');
  const saveTable = async (projectId: string, name: string, sql: string): Promise<void> => {
    if ((await w.ws.tables(f.who.member, projectId)).some((t) => t.name === name)) await w.ws.dropTable(f.who.member, projectId, name);
    const q = await (await w.ws.submit(f.who.member, projectId, { sql, saveAs: { name, kind: 'table' } })).done;
    if (q.status !== 'succeeded') throw new Error(`saving ${name} failed: ${JSON.stringify(q.error)}`);
  };
  const approveAll = async (checker: Principal, requestId: string): Promise<RequestDetail> => {
    const d = await airlock.get(checker, requestId);
    const mine = new Set(d.votes.filter((v) => v.active && v.checkerId === checker.personId).map((v) => v.outputId));
    const votes = d.outputs.filter((o) => !mine.has(o.id)).map((o) => {
      const r = d.report?.outputs.find((x) => x.name === o.name);
      return r?.status === 'review'
        ? { output: o.name, decision: 'approve', reasons: ['flags_reviewed_safe'], comment: 'flags looked at: safe' }
        : { output: o.name, decision: 'approve', reasons: ['rules_clean'] };
    });
    return airlock.review(checker, requestId, { votes });
  };
  const requestAt: AirlockFixture['requestAt'] = async (projectId, status, tables = { by_dept: BY_DEPT }, population = 'every person of the extract') => {
    const r = await airlock.createRequest(f.who.member, { projectId, title: 'Persons by department', description: 'Counts of persons by department of residence', population });
    const id = r.request.id;
    let d = r;
    for (const [name, sql] of Object.entries(tables)) {
      await saveTable(projectId, name, sql);
      d = await airlock.addOutput(f.who.member, id, { table: name, description: `table ${name}`, variables: { n: 'number of distinct persons' } });
    }
    if (status === 'draft') return d;
    d = await airlock.submit(f.who.member, id);
    if (status === 'submitted') return d;
    if (status === 'returned') {
      return airlock.review(checker2, id, { votes: d.outputs.map((o) => ({ output: o.name, decision: 'return', reasons: ['context_missing'], comment: 'say how n was counted' })) });
    }
    d = await approveAll(checker1, id);
    if (status === 'in_review') return d;
    return approveAll(checker2, id);
  };
  return {
    w, airlock, store, signer, checker1, checker2, checker3, saveTable, requestAt, approveAll,
    async close() {
      await w.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
