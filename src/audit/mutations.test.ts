/**
 * Every state change carries its audit event, in the same transaction (issue 3, "the audit write
 * is part of every state-changing path"), and the platform fails closed when the log cannot be
 * written (SECURITY-TESTS.md #8).
 *
 * 1. Static, over the whole of src/: every literal INSERT/UPDATE/DELETE/TRUNCATE/MERGE sent with
 *    `.query(` goes through an AuditedTx (a parameter typed AuditedTx, or the callback of an
 *    `…audit.transaction(`), except the listed operational bookkeeping. A new write outside the
 *    audit fails here with its file and line.
 * 2. The audited actions are read from the source; each one of a domain the test platform opens
 *    must have a runner below, which runs it on the real platform three ways: with the append
 *    made to fail (the act fails and keeps nothing), with its own work made to fail (a failure
 *    event, nothing kept), and normally (its event with outcome success, its state kept).
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import ts from 'typescript';
import { openTestPlatform, type TestPlatform } from '../../test/helpers/platform.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { AppError } from '../errors.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const operator = { kind: 'person', id: 'test:operator' } as const;

async function sourceFiles(dir: string, out: string[] = []): Promise<string[]> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await sourceFiles(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && e.name !== 'bench.ts') out.push(p);
  }
  return out;
}

/**
 * Writes that are bookkeeping of a long-running job or a session, not acts on the platform's
 * state: each names why it needs no event of its own (the act it belongs to has one).
 */
const BOOKKEEPING: ReadonlyArray<{ readonly sql: RegExp; readonly why: string }> = [
  { sql: /^UPDATE ingest_runs SET heartbeat_at/, why: 'lease heartbeat of a running ingestion (ingest.start/commit/fail are audited)' },
  { sql: /^UPDATE migration_plans SET (run_heartbeat|run_owner = NULL)/, why: 'lease of a running migration (migrate.run.start/run are audited)' },
  { sql: /^UPDATE migration_files (m )?SET status = '(failed|pending|copied)'/, why: 'per-file progress of a running migration (migrate.run/verify are audited)' },
  { sql: /^UPDATE identity_sessions SET last_seen_at/, why: 'session idle timer (login/logout are audited)' },
  { sql: /^DELETE FROM identity_sessions WHERE id_hash/, why: 'expired-session cleanup (login/logout are audited)' },
  { sql: /^UPDATE identity_api_tokens SET last_used_at/, why: 'token last use (every use is audited by its act)' },
  { sql: /^UPDATE governance_notifications SET read_at/, why: 'a notification marked read by its recipient' },
  { sql: /^(INSERT INTO|DELETE FROM) identity_login_flows/, why: 'state, nonce and PKCE verifier of a login in progress (its outcome is audited as identity.login)' },
  { sql: /^UPDATE identity_idp_accounts SET failed_attempts/, why: 'failed-attempt counter and lockout of the embedded provider (each failed login and lockout is audited as identity.login)' },
  { sql: /^UPDATE identity_idp_accounts SET totp_last_step/, why: 'last TOTP time step accepted, so a code is used once (the login it completes, or its refusal as a replay, is audited as identity.idp.login)' },
  { sql: /^(INSERT INTO|UPDATE|DELETE FROM) identity_oidc_store/, why: 'the embedded provider\'s own state: interactions, login steps, sessions, grants, codes, tokens (the logins are audited as identity.idp.login and identity.login)' },
  { sql: /^UPDATE workspace_queries SET status = \$2, finished_at/, why: 'the end of a member\'s query record: written in the workspace.query transaction when it succeeded; a refused or failed statement has its workspace.query event (outcome refused/failure) written first, and an audited transaction only carries success' },
  { sql: /^UPDATE engine_cleanups SET attempts = attempts \+ 1, last_attempt_at = now\(\), last_error = \$3/, why: 'a failed attempt at a drop an engine still owes: its count and error (the drop stays owed), with its <engine>.cleanup event, outcome failure, written right after; an audited transaction only carries success' },
  { sql: /^(INSERT INTO|DELETE FROM) migration_upload(s|_parts)/, why: 'multipart upload journal of a running migration: UploadId and parts already sent (the run itself is audited as migrate.run)' },
];

interface Write { readonly file: string; readonly line: number; readonly sql: string; readonly audited: boolean }
const WRITE = /^\s*(INSERT|UPDATE|DELETE|TRUNCATE|MERGE)\b/i;

function literalText(n: ts.Expression): string | undefined {
  if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) return n.text;
  if (ts.isTemplateExpression(n)) return n.head.text;
  return undefined;
}

/** Whether identifier `name` at `at` is bound to an audited transaction. */
function boundToAuditedTx(name: string, at: ts.Node): boolean {
  for (let n: ts.Node | undefined = at.parent; n !== undefined; n = n.parent) {
    if (!ts.isFunctionLike(n)) continue;
    const param = n.parameters.find((p) => ts.isIdentifier(p.name) && p.name.text === name);
    if (param === undefined) continue;
    if (param.type !== undefined) return /^AuditedTx$/.test(param.type.getText());
    const call = n.parent;
    return call !== undefined && ts.isCallExpression(call) && ts.isPropertyAccessExpression(call.expression) && call.expression.name.text === 'transaction' && /audit$/i.test(call.expression.expression.getText());
  }
  return false;
}

async function scanWrites(): Promise<{ writes: Write[]; actions: Map<string, string> }> {
  const writes: Write[] = [];
  const actions = new Map<string, string>();
  for (const path of await sourceFiles(join(ROOT, 'src'))) {
    const rel = relative(ROOT, path);
    const src = ts.createSourceFile(path, await readFile(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (n: ts.Node): void => {
      if (ts.isPropertyAssignment(n) && ts.isIdentifier(n.name) && n.name.text === 'action' && !rel.startsWith('src/audit/')) {
        const a = ts.isStringLiteral(n.initializer) ? n.initializer.text : ts.isTemplateExpression(n.initializer) ? `${n.initializer.head.text}*` : undefined;
        if (a !== undefined && !actions.has(a)) actions.set(a, rel);
      }
      if (ts.isCallExpression(n) && ts.isPropertyAccessExpression(n.expression) && n.expression.name.text === 'query' && n.arguments[0] !== undefined) {
        const sql = literalText(n.arguments[0]);
        if (sql !== undefined && WRITE.test(sql) && !rel.startsWith('src/audit/') && !rel.startsWith('src/db/')) {
          const recv = n.expression.expression;
          const audited = ts.isIdentifier(recv) && boundToAuditedTx(recv.text, recv);
          writes.push({ file: rel, line: src.getLineAndCharacterOfPosition(n.getStart()).line + 1, sql: sql.trim().replace(/\s+/g, ' '), audited });
        }
      }
      ts.forEachChild(n, visit);
    };
    visit(src);
  }
  // The log's own act (retention) is an audited action too.
  actions.set('audit.archive', 'src/audit/log.ts');
  return { writes, actions };
}

test('every write in src goes through an audited transaction, or is listed bookkeeping', async () => {
  const { writes } = await scanWrites();
  assert.ok(writes.length > 10, 'the scan found the writes');
  const unaudited = writes.filter((w) => !w.audited && !BOOKKEEPING.some((b) => b.sql.test(w.sql)));
  assert.deepEqual(unaudited.map((w) => `${w.file}:${w.line} ${w.sql.slice(0, 80)}`), [], 'writes outside an AuditedTx: take an AuditedTx parameter or run inside audit.transaction');
  console.log(`mutation scan: ${writes.length} SQL writes in src, ${writes.filter((w) => w.audited).length} in an AuditedTx, ${writes.length - writes.filter((w) => w.audited).length} listed bookkeeping, 0 unaudited`);
});

describe(`each audited operation emits its event in the same transaction, and fails closed (${testDbKind})`, () => {
  let p: TestPlatform;
  let schemaDir: string;
  const figures = { tried: 0, succeeded: 0, stateKept: 0, reads: 0, readsServed: 0 };

  const people = {
    name: 'IR_BEN_R', title: 'people', product: 'TEST', primaryKey: ['BEN_NIR_PSA'], enclave: { unpartitioned: true },
    fields: [
      { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
      { name: 'BEN_SEX_COD', type: 'integer', constraints: { required: true, enum: [1, 2] } },
    ],
  };
  let deliveries = 0;
  const delivery = async (rows: string[]): Promise<string> => {
    const dir = join(p.dir, 'deliveries', String(deliveries++));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'IR_BEN_R.csv'), `${rows.join('\n')}\n`);
    return dir;
  };
  const goodRows = (n: number, salt: number): string[] => ['BEN_NIR_PSA;BEN_SEX_COD', ...Array.from({ length: n }, (_, i) => `P${String(salt * 1000 + i).padStart(16, '0')};${1 + (i % 2)}`)];

  /** Digest of the tables an operation owns: equal digests mean no state was kept. */
  const state = async (tables: readonly string[]): Promise<string> => {
    const parts: string[] = [];
    for (const t of tables) {
      const [r] = await p.t.db.query<{ d: string | null }>(`SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) AS d FROM ${t} x`);
      parts.push(`${t}:${r?.d ?? ''}`);
    }
    return parts.join(' ');
  };
  const lastSeq = async (): Promise<number> => Number((await p.t.db.query<{ n: string | null }>('SELECT max(seq)::text AS n FROM audit_events'))[0]?.n ?? -1);
  const eventsSince = async (seq: number) => p.t.db.query<{ action: string; outcome: string }>('SELECT action, outcome FROM audit_events WHERE seq > $1 ORDER BY audit_events.seq', [seq]);

  /** Makes every append of `action` fail in the database, as an unavailable audit store would. */
  const breakAppend = async (action: string | null): Promise<void> => {
    await p.t.db.exec(`CREATE OR REPLACE FUNCTION enclave_test_audit_down() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN
        IF ${action === null ? 'true' : `NEW.action = '${action}'`} THEN RAISE EXCEPTION 'audit store unavailable (test)'; END IF;
        RETURN NEW;
      END $f$;
      CREATE TRIGGER enclave_test_audit_down BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION enclave_test_audit_down();`);
  };
  const repairAppend = async (): Promise<void> => p.t.db.exec('DROP TRIGGER IF EXISTS enclave_test_audit_down ON audit_events');
  /** Makes the operation's own work fail: any write to `table` raises. */
  const breakTable = async (table: string, on = 'INSERT OR UPDATE OR DELETE', when = 'true'): Promise<void> => {
    await p.t.db.exec(`CREATE OR REPLACE FUNCTION enclave_test_work_fails() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN RAISE EXCEPTION 'work fails (test)'; END $f$;
      CREATE TRIGGER enclave_test_work_fails BEFORE ${on} ON ${table} FOR EACH ROW WHEN (${when}) EXECUTE FUNCTION enclave_test_work_fails();`);
  };
  const repairTable = async (table: string): Promise<void> => p.t.db.exec(`DROP TRIGGER IF EXISTS enclave_test_work_fails ON ${table}`);

  interface Op {
    /** Tables (or sub-queries) holding the state this act changes. */
    readonly owns: readonly string[];
    /** A table its work writes, made to fail for the failure case; none for pure records. */
    readonly failOn?: string;
    /** Which writes to that table fail (default all), and a row condition. */
    readonly failWrites?: string;
    readonly failWhen?: string;
    readonly run: () => Promise<unknown>;
    /** The act records only (a read or an idempotent no-op): no state to keep. */
    readonly recordOnly?: boolean;
  }
  let n = 0;
  const ops: Record<string, Op> = {
    'catalog.import': { owns: ['catalog_datasets', 'catalog_tables', 'catalog_columns'], failOn: 'catalog_datasets', run: async () => {
      const dir = join(p.dir, `schema-${n++}`);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'IR_BEN_R.json'), JSON.stringify({ ...people, title: `people ${n}` }));
      return p.catalog.importDirectory(dir, { dataset: `imported${n}`, actor: operator });
    } },
    'catalog.remove': { owns: ['catalog_datasets', 'catalog_tables', 'catalog_columns'], failOn: 'catalog_datasets', run: async () => {
      const name = (await p.catalog.listDatasets()).map((d) => d.name).find((x) => x.startsWith('imported'));
      assert.ok(name !== undefined);
      await p.catalog.removeDataset(name, operator);
    } },
    'ingest.start': { owns: ['ingest_runs', 'data_keys'], failOn: 'ingest_runs', run: async () => p.ingest.ingest({ dataset: 'm', inputs: [await delivery(goodRows(5, n++))], actor: operator }) },
    'ingest.commit': { owns: ['dataset_versions'], failOn: 'dataset_versions', run: async () => p.ingest.ingest({ dataset: 'm', inputs: [await delivery(goodRows(5, n++))], actor: operator }) },
    'ingest.delivery': { owns: ['dataset_versions', 'ingest_runs'], recordOnly: true, run: async () => {
      const dir = await delivery(goodRows(3, 999));
      await p.ingest.ingest({ dataset: 'm', inputs: [dir], actor: operator }).catch(() => undefined);
      // The same files again: already ingested, recorded as a delivery, nothing changes.
      return p.ingest.ingest({ dataset: 'm', inputs: [dir], actor: operator });
    } },
    'ingest.fail': { owns: ['dataset_versions', "(SELECT id, status FROM ingest_runs WHERE status = 'failed')"], failOn: 'ingest_runs', failWrites: 'UPDATE', failWhen: "NEW.status = 'failed'", run: async () => {
      // A run whose failure could not be recorded stays 'running' until its lease runs out;
      // age it as the passing of time would, so the next run may take over.
      await p.t.db.query("UPDATE ingest_runs SET heartbeat_at = now() - interval '1 day' WHERE status = 'running'");
      // A header the catalogue does not know: the run fails and must be marked failed.
      const failed = async (): Promise<number> => (await p.t.db.query("SELECT 1 FROM ingest_runs WHERE status = 'failed'")).length;
      const before = await failed();
      await assert.rejects(p.ingest.ingest({ dataset: 'm', inputs: [await delivery(['BEN_NIR_PSA;NOPE', `P${'9'.repeat(16)};1`])], actor: operator }));
      if ((await failed()) === before) throw new AppError('internal', 'the run was not marked failed');
    } },
    'keys.rotate_master': { owns: ['data_keys'], failOn: 'data_keys', failWrites: 'UPDATE', run: async () => p.keys.rotateMaster(operator) },
    'keys.destroy': { owns: ["(SELECT id, state FROM data_keys WHERE state = 'destroyed')"], failOn: 'data_keys', failWrites: 'UPDATE', run: async () => {
      // Key creation is audited inside ingest.start (details.createdKey); destruction runs in
      // the caller's audited transaction, as a project closure will.
      const scopeId = `destroy-${n++}`;
      await p.audit.transaction({ actor: operator, action: 'keys.create', target: `project:${scopeId}` }, (tx) => p.keys.ensureDataKey(tx, 'project', scopeId, 'encryption'));
      await p.audit.transaction({ actor: operator, action: 'keys.destroy', target: `project:${scopeId}` }, (tx) => p.keys.destroyDataKey(tx, 'project', scopeId, 'encryption'));
    } },
    'audit.archive': { owns: ['audit_archives'], failOn: 'audit_archives', run: async () => {
      await p.audit.record({ actor: operator, action: 'test.old', target: 'x' });
      await p.audit.checkpoint();
      const a = await p.audit.archive(async () => undefined, { now: new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000) });
      if (a === null) throw new AppError('conflict', 'nothing to archive');
    } },
  };

  before(async () => {
    p = await openTestPlatform();
    schemaDir = join(p.dir, 'schema');
    await mkdir(schemaDir, { recursive: true });
    await writeFile(join(schemaDir, 'IR_BEN_R.json'), JSON.stringify(people));
    await p.catalog.importDirectory(schemaDir, { dataset: 'm', actor: operator });
    for (const name of ['imported-a', 'imported-b']) await p.catalog.importDirectory(schemaDir, { dataset: name, actor: operator });
  });
  after(async () => {
    console.log(`fail-closed tracing (${testDbKind}): ${figures.tried + figures.reads} queries tried while the audit store was unavailable; ${figures.succeeded + figures.readsServed} returned data (${figures.tried} state-changing acts: ${figures.succeeded} succeeded, ${figures.stateKept} kept state; ${figures.reads} logged reads: ${figures.readsServed} served)`);
    await p.close();
  });

  test('every audited action in src of a domain the platform opens has a runner here', async () => {
    const { actions } = await scanWrites();
    const opened = new Set(['audit', ...Object.keys(p)]);
    const needed = [...actions.keys()].filter((a) => opened.has(a.split('.')[0] ?? '') && !a.startsWith('audit.export') && !a.startsWith('audit.history'));
    const missing = needed.filter((a) => !(a in ops) && !a.endsWith('*'));
    assert.deepEqual(missing, [], 'add a runner for each new audited action in src/audit/mutations.test.ts');
    const elsewhere = [...actions.keys()].filter((a) => !needed.includes(a));
    console.log(`audited actions in src: ${actions.size}; run here: ${needed.length}; in domains the test platform does not open yet: ${elsewhere.length} (${elsewhere.join(', ')})`);
  });

  for (const [action, op] of Object.entries(ops)) {
    test(`${action}: with its append failing it fails and keeps nothing; with its work failing it appends a failure and keeps nothing; else it appends success and keeps its state`, async () => {
      // 1. The audit store refuses this event: the act must not happen.
      let s0 = await state(op.owns);
      let seq = await lastSeq();
      await breakAppend(action);
      figures.tried++;
      try {
        const r = await op.run().then(() => 'ok', (e: unknown) => e);
        if (r === 'ok') figures.succeeded++;
        assert.notEqual(r, 'ok', `${action} succeeded while its event could not be written`);
      } finally {
        await repairAppend();
      }
      const kept = (await state(op.owns)) !== s0;
      if (kept && op.recordOnly !== true) figures.stateKept++;
      assert.ok(!(await eventsSince(seq)).some((e) => e.action === action), 'no event of the failed act');
      if (op.recordOnly !== true) assert.equal(kept, false, `${action} kept state without its event`);

      // 2. Its own work fails: a failure event, nothing kept.
      if (op.failOn !== undefined) {
        s0 = await state(op.owns);
        seq = await lastSeq();
        await breakTable(op.failOn, op.failWrites, op.failWhen);
        try {
          await assert.rejects(op.run());
        } finally {
          await repairTable(op.failOn);
        }
        assert.equal(await state(op.owns), s0, `${action} kept state after its work failed`);
        assert.ok((await eventsSince(seq)).some((e) => e.action === action && e.outcome === 'failure'), `${action}: no failure event`);
      }

      // 3. Normally: its event with outcome success, its state kept.
      s0 = await state(op.owns);
      seq = await lastSeq();
      await op.run();
      const events = await eventsSince(seq);
      assert.ok(events.some((e) => e.action === action && e.outcome === 'success'), `${action}: no success event in ${JSON.stringify(events)}`);
      if (op.recordOnly !== true) assert.notEqual(await state(op.owns), s0, `${action} changed nothing`);
    });
  }

  test('reads that must be logged serve nothing while the audit store is unavailable', async () => {
    await breakAppend(null);
    try {
      const reads: Array<() => Promise<unknown>> = [
        async () => {
          const out: string[] = [];
          for await (const l of p.audit.exportFor({ actor: operator })) out.push(l);
          return out;
        },
        async () => p.audit.history('dataset:m', { actor: operator }),
        async () => p.audit.record({ actor: operator, action: 'workspace.query', target: 'project:1', details: { rows: 1 } }),
      ];
      for (const read of reads) {
        figures.reads++;
        const r = await read().then((v) => v, (e: unknown) => e);
        if (!(r instanceof AppError)) figures.readsServed++;
        assert.ok(r instanceof AppError && r.code === 'unavailable', `a read was served without its event: ${String(r)}`);
      }
      // Every state-changing act, with no event writable at all.
      for (const op of Object.values(ops)) {
        if (op.recordOnly === true) continue;
        figures.tried++;
        const s0 = await state(op.owns);
        const r = await op.run().then(() => 'ok', (e: unknown) => e);
        if (r === 'ok') figures.succeeded++;
        if ((await state(op.owns)) !== s0) figures.stateKept++;
      }
    } finally {
      await repairAppend();
    }
    assert.equal(figures.succeeded, 0);
    assert.equal(figures.stateKept, 0);
    assert.equal(figures.readsServed, 0);
  });
});
