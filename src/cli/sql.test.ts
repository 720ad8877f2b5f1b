/**
 * `enclave sql` on the real components: the program (runCli) against the real query API
 * (ENCLAVE_URL, ENCLAVE_TOKEN; the HTTP app answered in process through `fetch`), and locally
 * on the workspace service with --as; one statement, --tables, the interactive prompt, and the
 * escape corpus (SECURITY-TESTS #11) each refused with a clear error and audited.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { makeEscapeTargets, openWorkspaceFixture, type EscapeSetup, type WorkspaceFixture } from '../../test/helpers/workspace.ts';
import { hostileStatements } from '../../test/helpers/workspace-escapes.ts';
import { loadConfig } from '../config.ts';
import { DataDirInUse, type LockHolder } from '../datadir/index.ts';
import { listenLocalSocket } from '../http/local-socket.ts';
import { localCommandHandler } from './local-server.ts';
import { createHttpApp } from '../http/app.ts';
import { sessionCookieName, type AuthDeps } from '../http/auth.ts';
import { workspaceRoutes } from '../http/routes/workspace.ts';
import { runCli } from './program.ts';
import { appendHistory, HISTORY_SIZE, interactive, loadHistory } from './sql.ts';
import type { CliServices } from './services.ts';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

describe('enclave sql', () => {
  let w: WorkspaceFixture;
  let app: ReturnType<typeof createHttpApp>;
  let project: string;
  let token: string;
  let targets: EscapeSetup;

  before(async () => {
    w = await openWorkspaceFixture();
    const auth: AuthDeps = {
      cookieName: sessionCookieName(false),
      resolveSession: (v) => w.f.identity.resolveSession(v),
      resolveApiToken: (t) => w.f.identity.resolveApiToken(t),
      denied: async () => undefined,
    };
    app = createHttpApp({ version: 'test', health: async () => ({}), openApiPaths: [], routes: [{ prefix: 'projects', app: workspaceRoutes(w.ws, auth) }] });
    project = await w.activeProject();
    token = (await w.f.identity.createApiToken(w.f.who.member, project, { label: 'cli' })).token;
    targets = await makeEscapeTargets(w.ex);
  });
  after(async () => {
    await w.close();
  });

  const services = (): CliServices => ({
    config: loadConfig({ ENCLAVE_DATA_DIR: w.scratchRoot }), audit: w.f.audit, catalog: w.f.catalog, identity: w.f.identity, governance: w.f.gov, workspace: w.ws,
    actor: { kind: 'person', id: 'local:test' }, close: async () => undefined,
  } as unknown as CliServices);

  const run = async (args: readonly string[], o: { readonly remote?: boolean; readonly input?: NodeJS.ReadableStream; readonly open?: () => Promise<CliServices> } = {}): Promise<Run> => {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'enclave', ...args], {
      version: 'test',
      open: o.open ?? (async () => services()),
      serve: async () => undefined,
      out: { write: (s) => { out += s; } },
      err: { write: (s) => { err += s; } },
      env: o.remote === false ? {} : { ENCLAVE_URL: 'http://127.0.0.1:9', ENCLAVE_TOKEN: token },
      fetch: (async (url: string | URL | Request, init?: RequestInit) => app.request(url instanceof Request ? url : String(url), init)),
      ...(o.input === undefined ? {} : { input: o.input }),
    });
    return { code, out, err };
  };

  test('one statement through the API prints a table and a footer with rows, time and SHA-256', async () => {
    const r = await run(['sql', '--project', project, 'SELECT dept, count(*) AS n FROM persons GROUP BY dept ORDER BY dept']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.match(lines[0] ?? '', /^dept\s+n$/);
    assert.match(r.out, /^13\s+250$/m);
    assert.match(r.out, /^75\s+250$/m);
    assert.match(r.out, /\(4 rows; \d+ ms; sha256 [0-9a-f]{16}…\)/);
  });

  test('--max-rows prints the first rows and says so; --save-as saves instead of printing', async () => {
    const r = await run(['sql', '--project', project, '--max-rows', '3', 'SELECT range AS i FROM range(10)']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.split('\n').filter((l) => /^\s*\d+$/.test(l)).length, 3);
    assert.match(r.out, /10 rows, first 3 shown/);
    const s = await run(['sql', '--project', project, '--save-as', 'ten', 'SELECT range AS i FROM range(10)']);
    assert.equal(s.code, 0, s.err);
    assert.match(s.out, /saved table ten \(10 rows/);
    const t = await run(['sql', '--project', project, '--tables']);
    assert.match(t.out, /scratch\s+ten\s+table/);
    assert.match(t.out, /extract\s+events\s+view\s+6,000/);
    await w.ws.dropTable(w.f.who.member, project, 'ten');
  });

  test('a refused statement exits 1 with the reason and a hint', async () => {
    const r = await run(['sql', '--project', project, `SELECT * FROM read_csv('${targets.secret}')`]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^error: refused: /);
    assert.match(r.err, /\nhint: /);
  });

  test('locally, --as a member runs on the workspace service; the local operator is no member', async () => {
    const r = await run(['sql', '--project', project, '--as', w.f.who.applicant.personId, 'SELECT count(*) AS n FROM events'], { remote: false });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^6000$/m);
    const op = await run(['sql', '--project', project, 'SELECT 1'], { remote: false });
    assert.equal(op.code, 1);
    assert.match(op.err, /not named/);
  });

  test('beside a running server: one statement goes through its local socket, and so does each statement of the prompt', async () => {
    const socket = await listenLocalSocket(join(w.scratchRoot, 'enclave.sock'), localCommandHandler({ version: 'test', services: services() }));
    assert.ok(socket !== null);
    try {
      const holder: LockHolder = { pid: process.pid, startTime: null, hostname: hostname(), role: 'server', command: 'enclave serve', since: new Date().toISOString(), socket: socket.path, nonce: 'n' };
      const open = async (): Promise<CliServices> => { throw new DataDirInUse(w.scratchRoot, holder); };
      const one = await run(['sql', '--project', project, '--as', w.f.who.member.personId, 'SELECT 40 + 2 AS answer'], { remote: false, open });
      assert.equal(one.code, 0, one.err);
      assert.match(one.out, /^answer\n─+\n\s*42$/m);
      const input = new PassThrough();
      input.end(['SELECT 7 AS seven;', `SELECT * FROM read_text('${targets.secret}');`, '\\d', '\\d events', '\\q', ''].join('\n'));
      const r = await run(['sql', '--project', project, '--as', w.f.who.member.personId], { remote: false, open, input });
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^seven\n─+\n\s*7$/m);
      assert.match(r.err, /error: refused: /);
      assert.match(r.out, /extract\s+events\s+view/);
      assert.match(r.out, /event_date\s+DATE\s+\S+\s+date de soins/, '\\d NAME goes through the server too');
      // Ctrl-C beside a server sends --cancel through it: the member's running statement stops
      const long = await w.ws.submit(w.f.who.member, project, { sql: 'SELECT count(*) FROM events a, events b, events c' });
      await new Promise((res) => setTimeout(res, 500));
      const c = await run(['sql', '--project', project, '--as', w.f.who.member.personId, '--cancel'], { remote: false, open });
      assert.equal(c.code, 0, c.err);
      assert.match(c.out, /^cancelled 1 statement$/m);
      assert.equal((await long.done).status, 'cancelled');
    } finally {
      await socket.close();
    }
  });

  test('the interactive prompt: statements over several lines until ;, \\d, \\d NAME, errors that do not end it, \\q', async () => {
    const input = new PassThrough();
    input.end(['SELECT count(*) AS n', 'FROM persons;', '\\d', '\\d events', `SELECT * FROM read_text('${targets.secret}');`, 'SELECT 2 AS two;', '\\q', 'SELECT 3 AS never;', ''].join('\n'));
    const r = await run(['sql', '--project', project], { input });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^1000$/m);
    assert.match(r.out, /extract\s+persons\s+view/);
    assert.match(r.out, /event_date\s+DATE\s+\S+\s+date de soins/);
    assert.match(r.out, /error: refused: /);
    assert.match(r.out, /^two\n─+\n\s*2$/m);
    assert.doesNotMatch(r.out, /never/);
  });

  test('the prompt keeps its history between sessions in an owner-only file, one entry per statement', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'enclave-hist-'));
    try {
      const file = join(dir, 'history');
      const input = new PassThrough();
      input.end(['SELECT count(*) AS n', 'FROM persons;', '\\d events', 'SELECT 2 AS two;', '\\q', ''].join('\n'));
      let out = '';
      await interactive({ run: async (sql) => { out += `ran ${sql}\n`; }, describe: async () => undefined }, project, { input, output: { write: (x) => { out += x; } }, err: { tty: false, write: () => undefined }, terminal: false, historyFile: file });
      assert.match(out, /ran SELECT count\(\*\) AS n\nFROM persons/);
      assert.deepEqual(loadHistory(file), ['SELECT 2 AS two;', '\\d events', 'SELECT count(*) AS n FROM persons;']);
      assert.equal((await stat(file)).mode & 0o777, 0o600);
      for (let i = 0; i < HISTORY_SIZE * 2 + 5; i++) appendHistory(file, `SELECT ${i};`);
      const kept = loadHistory(file);
      assert.equal(kept.length, HISTORY_SIZE);
      assert.equal(kept[0], `SELECT ${HISTORY_SIZE * 2 + 4};`);
      assert.deepEqual(loadHistory(join(dir, 'missing')), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('--table NAME shows one table\'s columns; --cancel with nothing running says so', async () => {
    const t = await run(['sql', '--project', project, '--table', 'persons']);
    assert.equal(t.code, 0, t.err);
    assert.match(t.out, /^column\s+type/m);
    assert.match(t.out, /^dept\s+VARCHAR/m);
    const missing = await run(['sql', '--project', project, '--table', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no table nope/);
    const c = await run(['sql', '--project', project, '--cancel']);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /nothing of yours was running/);
  });

  test('--help teaches: what runs, what is refused, saving, the prompt, remote and local, examples', async () => {
    const r = await run(['sql', '--help']);
    for (const s of ['--project', 'refused', '--save-as', '\\d', 'Ctrl-C', 'ENCLAVE_TOKEN', '--as', 'Examples', 'airlock']) assert.ok(r.out.includes(s), s);
  });

  test('SECURITY-TESTS #11 through enclave sql: every hostile statement exits 1 with a clear error, is audited, and leaks nothing', async () => {
    const corpus = hostileStatements(targets);
    let refused = 0;
    let leaks = 0;
    const before = new Set<string>();
    for await (const l of w.f.audit.lines()) if (l.event?.action === 'workspace.query') before.add(String(l.event.details['query']));
    for (const sql of corpus) {
      const r = await run(['sql', '--project', project, '--', sql]);
      assert.equal(r.code, 1, `${sql}: ${r.out}`);
      assert.equal(r.out, '', `${sql} printed rows`);
      assert.match(r.err, /^error: (refused|failed): .{10,}\nhint: .+/, sql);
      if (targets.leaks(r.err, sql)) leaks++;
      refused++;
    }
    assert.equal(leaks, 0);
    const audited: string[] = [];
    for await (const l of w.f.audit.lines()) {
      if (l.event?.action === 'workspace.query' && !before.has(String(l.event.details['query']))) audited.push(l.event.outcome);
    }
    assert.equal(audited.length, corpus.length);
    assert.ok(audited.every((o) => o !== 'success'));
    process.stdout.write(`SECURITY-TESTS #11 (enclave sql): ${corpus.length} hostile statements, ${refused} refused with a clear error (exit 1, reason and hint), ${audited.length} audited, 0 reads outside the extract, 0 leaks through error messages\n`);
  });
});
