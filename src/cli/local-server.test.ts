/**
 * The local operator socket, in one process: a command whose `open` finds the data directory
 * held by a server is sent to it and runs there (paths taken from the terminal's directory,
 * writes audited as the local operator); the client talks only to an owner-only socket of its
 * own user; malformed requests get a clear refusal.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { request } from 'node:http';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../../test/helpers/platform.ts';
import { loadConfig } from '../config.ts';
import { DataDirInUse, type LockHolder } from '../datadir/index.ts';
import { AppError } from '../errors.ts';
import { listenLocalSocket, type LocalSocket } from '../http/local-socket.ts';
import { ForwardToServer, forwardToServer } from './local-client.ts';
import { localCommandHandler } from './local-server.ts';
import { runCli } from './program.ts';

const collect = (): { text: string; write(s: string): void } => {
  const o = { text: '', write(s: string) { o.text += s; } };
  return o;
};

describe('CLI commands through the local socket', () => {
  let p: TestPlatform;
  let socket: LocalSocket;
  let holder: LockHolder;
  before(async () => {
    p = await openTestPlatform();
    const services = { ...p, config: loadConfig({ ENCLAVE_DATA_DIR: p.dir }, p.dir), actor: { kind: 'person', id: 'local:tester' } as const, close: async () => undefined };
    const s = await listenLocalSocket(join(p.dir, 'enclave.sock'), localCommandHandler({ version: 'test', services }));
    assert.ok(s !== null);
    socket = s;
    holder = { pid: process.pid, startTime: null, hostname: hostname(), role: 'server', command: 'enclave serve', since: new Date().toISOString(), socket: socket.path, nonce: 'n' };
    await mkdir(join(p.dir, 'terminal', 'schema', 'DCIR'), { recursive: true });
    await writeFile(join(p.dir, 'terminal', 'schema', 'DCIR', 'T1.json'), JSON.stringify({ name: 'T1', title: 'One', fields: [{ name: 'A', type: 'string', description: 'a' }] }));
  });
  after(async () => {
    await socket.close();
    await p.close();
  });

  test('the socket is owner-only from the start', () => {
    assert.equal(statSync(socket.path).mode & 0o777, 0o600);
  });

  test('a command that finds the directory held by the server runs there, from the terminal\'s directory, as the local operator', async () => {
    const out = collect();
    const err = collect();
    const code = await runCli(['node', 'enclave', 'catalog', 'import', '--dataset', 'through-socket', 'schema'], {
      version: 'test', cwd: join(p.dir, 'terminal'), out, err,
      open: async () => { throw new DataDirInUse(p.dir, holder); },
      serve: async () => undefined,
    });
    assert.equal(code, 0, err.text);
    assert.match(out.text, /Imported through-socket/);
    assert.ok((await p.catalog.listDatasets()).some((d) => d.name === 'through-socket'));
    const events = await p.t.db.query<{ actor_id: string }>("SELECT actor_id FROM audit_events WHERE action = 'catalog.import' AND target = 'catalog:dataset:through-socket'");
    assert.deepEqual(events, [{ actor_id: 'local:tester' }]);
  });

  test('errors of a command run by the server come back with their hint and exit code', async () => {
    const out = collect();
    const err = collect();
    const code = await forwardToServer(new ForwardToServer(holder, socket.path), ['catalog', 'show', 'nope'], { cwd: p.dir, out, err });
    assert.equal(code, 1);
    assert.match(err.text, /^error: .*nope/m);
    const again = await forwardToServer(new ForwardToServer(holder, socket.path), ['serve'], { cwd: p.dir, out, err });
    assert.equal(again, 1);
    assert.match(err.text, /already running on this data directory/);
  });

  test('a directory held by another command (no socket) is refused with the holder named', async () => {
    const err = collect();
    const code = await runCli(['node', 'enclave', 'keys', 'ls'], {
      version: 'test', err, out: collect(),
      open: async () => { throw new DataDirInUse(p.dir, { ...holder, role: 'cli', socket: null, command: 'enclave ingest --dataset snds d' }); },
      serve: async () => undefined,
    });
    assert.equal(code, 1);
    assert.match(err.text, /in use by another enclave command \(pid \d+: enclave ingest --dataset snds d/);
    assert.match(err.text, /hint: wait until pid \d+ finishes/);
  });

  test('the client talks only to an owner-only socket of its own user', async () => {
    const plain = join(p.dir, 'not-a-socket');
    await writeFile(plain, '');
    const io = { cwd: p.dir, out: collect(), err: collect() };
    await assert.rejects(forwardToServer(new ForwardToServer(holder, plain), ['catalog', 'ls'], io), (e: unknown) => e instanceof AppError && e.code === 'forbidden');
    await assert.rejects(forwardToServer(new ForwardToServer(holder, join(p.dir, 'absent.sock')), ['catalog', 'ls'], io), (e: unknown) => e instanceof AppError && e.code === 'unavailable' && /still starting/.test(e.message));
    await chmod(socket.path, 0o666);
    try {
      await assert.rejects(forwardToServer(new ForwardToServer(holder, socket.path), ['catalog', 'ls'], io), (e: unknown) => e instanceof AppError && e.code === 'forbidden');
    } finally {
      await chmod(socket.path, 0o600);
    }
  });

  test('malformed requests are refused with a reason', async () => {
    const send = (method: string, path: string, body: string): Promise<{ status: number; text: string }> => new Promise((resolve, reject) => {
      const req = request({ socketPath: socket.path, method, path }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => { text += d.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal((await send('GET', '/', '')).status, 404);
    const bad = await send('POST', '/v1/cli', '{');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /not JSON/);
    const relative = await send('POST', '/v1/cli', JSON.stringify({ argv: ['catalog', 'ls'], cwd: 'here' }));
    assert.match(relative.text, /cwd must be an absolute directory/);
    const empty = await send('POST', '/v1/cli', JSON.stringify({ argv: [], cwd: '/' }));
    assert.match(empty.text, /argv must be a non-empty list/);
  });

  test('a socket path too long for a unix socket is reported, not bound', async () => {
    assert.equal(await listenLocalSocket(join(p.dir, 'x'.repeat(120), 'enclave.sock'), () => undefined), null);
  });
});
