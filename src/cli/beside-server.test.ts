/**
 * SECURITY-TESTS.md #23, one writer per data directory: `enclave` commands run on the terminal
 * while `enclave serve` runs on the same data directory (the README tour does exactly this). A
 * real server process and real CLI processes, on PGlite and on PostgreSQL. Before the lock, the
 * CLI opened a second PGlite whose writes the server's shutdown erased (a rotated master key's
 * audit event, an imported dataset), and the server reused the sequence numbers the CLI had
 * printed. Now every write goes through the server and lands in its one log.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openTestDb, testDbKind, type TestDb } from '../../test/helpers/db.ts';
import { loadConfig } from '../config.ts';
import { lockHolderOf } from '../datadir/index.ts';
import { createPlatform } from '../main.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(REPO, 'bin', 'enclave.js');
const START_TIMEOUT_MS = 180_000;

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

describe(`CLI commands beside a running server (${testDbKind})`, () => {
  let dir: string;
  let t: TestDb | undefined;
  let env: Record<string, string>;
  const children: ChildProcess[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enclave-beside-'));
    t = testDbKind === 'postgres' ? await openTestDb({ migrated: false }) : undefined;
    const base = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined && !e[0].startsWith('ENCLAVE_') && e[0] !== 'DATABASE_URL'));
    env = {
      ...base,
      ENCLAVE_DATA_DIR: join(dir, 'data'), ENCLAVE_KEYRING: join(dir, 'keys', 'keyring.json'), ENCLAVE_PORT: '0',
      ENCLAVE_ENGINE_THREADS: '1', ENCLAVE_AUDIT_CHECKPOINT_SECONDS: '1',
      ...(t?.url === undefined ? {} : { DATABASE_URL: t.url }),
    };
  });
  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await t?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const cli = (args: readonly string[], cwd = REPO): Promise<Run> => new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    c.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });

  /** `enclave serve` as a child process; resolves once it listens (socket included). */
  const serve = async (): Promise<{ child: ChildProcess; url: string }> => {
    const child = spawn(process.execPath, [BIN, 'serve'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the server did not start in time: ${err}`)), START_TIMEOUT_MS);
      child.stdout?.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code}): ${err}`));
      });
    });
    return { child, url };
  };
  const exited = (c: ChildProcess): Promise<void> => new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) resolve();
    else c.once('exit', () => resolve());
  });
  const ok = (r: Run, what: string): Run => {
    assert.equal(r.code, 0, `${what} failed: ${r.err}${r.out}`);
    return r;
  };
  /** Events on a target as the CLI sees them (through the server): index → leaf hash, by action. */
  const seen = async (target: string): Promise<Array<{ index: number; leafHash: string; action: string }>> => {
    const r = ok(await cli(['audit', 'history', '--target', target, '--json']), `audit history ${target}`);
    return r.out.trim().split('\n').filter((l) => l !== '').map((l) => {
      const x = JSON.parse(l) as { index: number; leafHash: string; event: { action: string } };
      return { index: x.index, leafHash: x.leafHash, action: x.event.action };
    });
  };

  test('writes tried beside a running server: none lost, none missing from the log, no sequence number reused', { timeout: 900_000 }, async () => {
    const dataDir = join(dir, 'data');
    const { child: server, url } = await serve();

    // The server holds the directory, and listens on its owner-only socket.
    const holder = lockHolderOf(dataDir);
    assert.equal(holder?.pid, server.pid);
    assert.equal(holder?.role, 'server');
    assert.equal(holder?.socket, join(dataDir, 'enclave.sock'));
    const sock = lstatSync(join(dataDir, 'enclave.sock'));
    assert.ok(sock.isSocket());
    assert.equal(sock.mode & 0o777, 0o600);

    // `enclave serve` runs the checkpoint schedule (ENCLAVE_AUDIT_CHECKPOINT_SECONDS=1).
    const deadline = Date.now() + 60_000;
    let scheduled = 0;
    while (scheduled === 0 && Date.now() < deadline) {
      scheduled = ((await (await fetch(`${url}/api/v1/audit/checkpoints`)).json()) as unknown[]).length;
      if (scheduled === 0) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(scheduled > 0, 'enclave serve signed no checkpoint on its schedule');

    // A second server on the same directory is refused, naming the first.
    const second = await cli(['serve']);
    assert.equal(second.code, 1);
    assert.match(second.err, new RegExp(`in use by the Enclave server \\(pid ${server.pid}: enclave serve`));
    assert.match(second.err, /hint: .*stop the server/);

    const expected: Array<{ action: string; target: string }> = [];
    const observed: Array<{ target: string; index: number; leafHash: string }> = [];
    let serverEvents = 0;
    const serverEvent = async (): Promise<void> => {
      // An anonymous call to a private route: the server records the refusal in the same log.
      assert.equal((await fetch(`${url}/api/v1/governance/projects`)).status, 401);
      serverEvents++;
    };
    const observe = async (target: string, action: string): Promise<void> => {
      const lines = await seen(target);
      const mine = lines.filter((l) => l.action === action);
      assert.ok(mine.length > 0, `${action} on ${target} is not in the server's log`);
      for (const l of lines) observed.push({ target, ...l });
      expected.push({ action: 'audit.history', target });
    };

    let writes = 0;
    const rotations: string[] = [];
    for (let i = 0; i < 2; i++) {
      writes++;
      const r = ok(await cli(['keys', 'rotate-master']), 'keys rotate-master');
      const m = /master key rotated: (\S+) → (\S+);/.exec(r.out);
      assert.ok(m?.[1] !== undefined && m[2] !== undefined, r.out);
      rotations.push(m[2]);
      expected.push({ action: 'keys.rotate_master', target: `master:${m[1]}` });
      await serverEvent();
      await observe(`master:${m[1]}`, 'keys.rotate_master');
    }
    for (const [name, cwd, path] of [['snds-copy', REPO, 'schemas/snds'], ['snds-copy2', join(REPO, 'src', 'cli'), '../../schemas/snds']] as const) {
      writes++;
      // Relative to the terminal's directory, not the server's.
      const r = ok(await cli(['catalog', 'import', '--dataset', name, path], cwd), `catalog import ${name}`);
      assert.match(r.out, new RegExp(`Imported ${name}`));
      expected.push({ action: 'catalog.import', target: `catalog:dataset:${name}` });
      await serverEvent();
      await observe(`catalog:dataset:${name}`, 'catalog.import');
    }
    writes++;
    const cp = ok(await cli(['audit', 'checkpoint']), 'audit checkpoint');
    const cpSize = Number(cp.out.split('\n')[1]);
    assert.ok(Number.isInteger(cpSize) && cpSize > 0, cp.out);

    // A read beside the server goes through it too, and sees the writes.
    assert.match(ok(await cli(['catalog', 'ls']), 'catalog ls').out, /snds-copy2/);

    server.kill('SIGTERM');
    await exited(server);
    assert.equal(server.exitCode, 0);
    assert.equal(lockHolderOf(dataDir), null, 'the stopped server released the lock');
    assert.equal(existsSync(join(dataDir, 'enclave.sock')), false, 'the stopped server removed its socket');

    // After the server has stopped: everything is there, once.
    const p = await createPlatform(loadConfig(env, REPO), { kind: 'service', id: 'test' });
    try {
      const datasets = new Set((await p.catalog.listDatasets()).map((d) => d.name));
      let lost = ['snds-copy', 'snds-copy2'].filter((n) => !datasets.has(n)).length;
      if (p.keys.activeMasterKeyId() !== rotations.at(-1)) lost++;
      if (!(await p.audit.checkpoints()).some((c) => c.treeSize === cpSize)) lost++;
      const reader = { actor: { kind: 'service', id: 'test' } } as const;
      let missing = 0;
      for (const e of expected) {
        const rows = await p.db.query<{ actor_id: string }>('SELECT actor_id FROM audit_events WHERE action = $1 AND target = $2', [e.action, e.target]);
        if (rows.length === 0) missing++;
        else assert.ok(rows.every((r) => r.actor_id === `local:${userInfo().username}`), `${e.action} is recorded as the local operator`);
      }
      // The server's own events between the commands are all there too.
      const refusals = await p.db.query<{ n: string }>("SELECT count(*)::text AS n FROM audit_events WHERE action = 'http.request' AND outcome = 'denied' AND target = 'GET /projects'");
      missing += Math.max(0, serverEvents - Number(refusals[0]?.n ?? 0));
      let reused = 0;
      for (const target of new Set(observed.map((o) => o.target))) {
        const now = new Map((await p.audit.history(target, reader)).map((l) => [l.index, l.leafHash]));
        reused += observed.filter((o) => o.target === target && now.get(o.index) !== o.leafHash).length;
      }
      const distinct = await p.db.query<{ n: string; d: string }>('SELECT count(*)::text AS n, count(DISTINCT seq)::text AS d FROM audit_events');
      assert.equal(distinct[0]?.n, distinct[0]?.d);
      const report = await p.audit.verify();
      assert.ok(report.ok, JSON.stringify(report.problems));
      console.log(`${writes} writes tried beside a running server: ${lost} lost, ${missing} audit events missing, ${reused} sequence numbers reused`);
      assert.equal(lost, 0);
      assert.equal(missing, 0);
      assert.equal(reused, 0);
    } finally {
      await p.close();
    }
  });

  test('a server killed with SIGKILL blocks nothing: the next command takes the lock over, the next server its socket', { timeout: 900_000 }, async () => {
    const dataDir = join(dir, 'data');
    const { child } = await serve();
    child.kill('SIGKILL');
    await exited(child);
    assert.equal(existsSync(join(dataDir, 'enclave.lock')), true);
    const ls = ok(await cli(['keys', 'ls']), 'keys ls after a crashed server');
    assert.match(ls.out, /master key/);
    assert.equal(lockHolderOf(dataDir), null, 'the command released the lock it took over');
    const { child: again } = await serve();
    assert.ok(lstatSync(join(dataDir, 'enclave.sock')).isSocket());
    assert.match(ok(await cli(['catalog', 'ls']), 'catalog ls through the restarted server').out, /snds-copy/);
    again.kill('SIGTERM');
    await exited(again);
  });
});
