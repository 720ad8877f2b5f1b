/**
 * The data directory's lock: exclusive while its holder lives, taken over once it is gone
 * (crashed with SIGKILL, its pid reused), never presumed stale across hosts, and taken by exactly
 * one of several processes racing for a stale lock.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { acquireDataDirLock, DataDirInUse, LOCK_FILE, lockHolderOf, processStartTime } from './index.ts';

const LOCK_MODULE = pathToFileURL(join(import.meta.dirname, 'lock.ts')).href;

/** A child process that takes the lock of `dir`, prints `held` or `busy`, and then waits `holdMs` (or forever). */
function lockChild(dir: string, holdMs: number | null, startAt = 0): { child: ReturnType<typeof spawn>; said: Promise<string> } {
  const code = `
    import { acquireDataDirLock } from ${JSON.stringify(LOCK_MODULE)};
    while (performance.timeOrigin + performance.now() < ${startAt}) { /* all racers start together */ }
    try { acquireDataDirLock(${JSON.stringify(dir)}, { role: 'cli', command: 'enclave test-child' }); process.stdout.write('held\\n'); }
    catch (e) { process.stdout.write(e.name === 'AppError' && e.code === 'conflict' ? 'busy\\n' : 'error ' + e.message + '\\n'); }
    ${holdMs === null ? 'setInterval(() => undefined, 1000);' : `setTimeout(() => undefined, ${holdMs});`}
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const said = new Promise<string>((resolve) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', () => resolve(out.trim()));
  });
  return { child, said };
}

const exited = (c: ReturnType<typeof spawn>): Promise<void> => new Promise((resolve) => {
  if (c.exitCode !== null || c.signalCode !== null) resolve();
  else c.once('exit', () => resolve());
});

describe('data directory lock', () => {
  let root: string;
  let n = 0;
  const freshDir = (): string => join(root, `d${n++}`);
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'enclave-lock-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a second opener is refused with the holder named, and gets the lock once it is released', () => {
    const dir = freshDir();
    const first = acquireDataDirLock(dir, { role: 'server', command: 'enclave serve' });
    first.serving(join(dir, 'enclave.sock'));
    let caught: unknown;
    try {
      acquireDataDirLock(dir, { role: 'cli', command: 'enclave keys rotate-master' });
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof DataDirInUse);
    assert.equal(caught.code, 'conflict');
    assert.match(caught.message, new RegExp(`in use by the Enclave server \\(pid ${process.pid}: enclave serve`));
    assert.match(caught.hint ?? '', /ENCLAVE_URL and ENCLAVE_TOKEN, or stop the server/);
    assert.equal(caught.holder.socket, join(dir, 'enclave.sock'));
    assert.equal(lockHolderOf(dir)?.role, 'server');
    first.release();
    assert.equal(existsSync(join(dir, LOCK_FILE)), false);
    assert.equal(lockHolderOf(dir), null);
    const second = acquireDataDirLock(dir, { role: 'cli', command: 'enclave keys rotate-master' });
    first.release(); // a late second release of the first holder never removes the second's lock
    assert.equal(lockHolderOf(dir)?.command, 'enclave keys rotate-master');
    second.release();
  });

  test('the lock file is owner-only and says who holds it', async () => {
    const dir = freshDir();
    const l = acquireDataDirLock(dir, { role: 'cli', command: 'enclave ingest --dataset snds x' });
    const { statSync } = await import('node:fs');
    assert.equal(statSync(join(dir, LOCK_FILE)).mode & 0o777, 0o600);
    const h = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8')) as Record<string, unknown>;
    assert.equal(h['pid'], process.pid);
    assert.equal(h['hostname'], hostname());
    assert.equal(h['command'], 'enclave ingest --dataset snds x');
    l.release();
  });

  test('a process killed with SIGKILL leaves a stale lock that the next process takes over', async () => {
    const dir = freshDir();
    const { child, said } = lockChild(dir, null);
    assert.equal(await said, 'held');
    assert.throws(() => acquireDataDirLock(dir, { role: 'server', command: 'enclave serve' }), (e: unknown) => e instanceof DataDirInUse && e.holder.pid === child.pid && e.holder.role === 'cli');
    child.kill('SIGKILL');
    await exited(child);
    assert.equal(existsSync(join(dir, LOCK_FILE)), true, 'SIGKILL left the lock file behind');
    assert.equal(lockHolderOf(dir), null, 'a lock whose process is gone has no live holder');
    const l = acquireDataDirLock(dir, { role: 'server', command: 'enclave serve' });
    assert.equal(lockHolderOf(dir)?.pid, process.pid);
    l.release();
  });

  test('a lock whose pid now runs another process (start time changed) is stale', async () => {
    const dir = freshDir();
    const l = acquireDataDirLock(dir, { role: 'cli', command: 'x' });
    l.release();
    if (processStartTime(process.pid) === null) return; // no /proc: pid liveness alone
    // Our own pid, but another start time: the process that wrote it is gone and its pid reused.
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, startTime: '1', hostname: hostname(), role: 'server', command: 'enclave serve', since: '2026-01-01T00:00:00Z', socket: null, nonce: 'old' }));
    assert.equal(lockHolderOf(dir), null);
    const again = acquireDataDirLock(dir, { role: 'cli', command: 'y' });
    assert.equal(lockHolderOf(dir)?.command, 'y');
    again.release();
  });

  test('an unreadable lock file is taken over; a lock from another host never is', async () => {
    const dir = freshDir();
    acquireDataDirLock(dir, { role: 'cli', command: 'x' }).release();
    await writeFile(join(dir, LOCK_FILE), '{"pid":');
    const l = acquireDataDirLock(dir, { role: 'cli', command: 'after garbage' });
    l.release();
    await writeFile(join(dir, LOCK_FILE), JSON.stringify({ pid: 1, startTime: null, hostname: `not-${hostname()}`, role: 'server', command: 'enclave serve', since: '2026-01-01T00:00:00Z', socket: null, nonce: 'remote' }));
    assert.throws(() => acquireDataDirLock(dir, { role: 'cli', command: 'z' }), (e: unknown) => e instanceof DataDirInUse && /on host not-/.test(e.message));
  });

  test('a stale lock is not taken over while another process holds the takeover guard; an abandoned guard is cleared', async () => {
    const dir = freshDir();
    const dead = lockChild(dir, null);
    assert.equal(await dead.said, 'held');
    dead.child.kill('SIGKILL');
    await exited(dead.child);
    const stale = await readFile(join(dir, LOCK_FILE), 'utf8');
    // This process is taking over (it holds the guard): the child must wait for it.
    const guard = join(dir, 'enclave.lock.takeover');
    await writeFile(guard, JSON.stringify({ pid: process.pid, startTime: processStartTime(process.pid), hostname: hostname(), nonce: 'guard', role: 'cli' }));
    const waiting = lockChild(dir, 0);
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(await readFile(join(dir, LOCK_FILE), 'utf8'), stale, 'the stale lock was replaced while the guard was held');
    await rm(guard);
    assert.equal(await waiting.said, 'held');
    await exited(waiting.child);
    // A guard left by a process that died during its takeover does not block forever.
    await writeFile(join(dir, LOCK_FILE), stale);
    await writeFile(guard, JSON.stringify({ pid: dead.child.pid, startTime: null, hostname: hostname(), nonce: 'dead-guard', role: 'cli' }));
    const l = acquireDataDirLock(dir, { role: 'cli', command: 'after an abandoned guard' });
    assert.equal(lockHolderOf(dir)?.command, 'after an abandoned guard');
    assert.equal(existsSync(guard), false);
    l.release();
  });

  test('of six processes racing for a stale lock, exactly one takes it', async () => {
    const dir = freshDir();
    const dead = lockChild(dir, null);
    assert.equal(await dead.said, 'held');
    dead.child.kill('SIGKILL');
    await exited(dead.child);
    const startAt = Date.now() + 2_000;
    const racers = Array.from({ length: 6 }, () => lockChild(dir, 3_000, startAt));
    const answers = await Promise.all(racers.map((r) => r.said));
    assert.deepEqual(answers.filter((a) => a !== 'held' && a !== 'busy'), [], answers.join(', '));
    assert.equal(answers.filter((a) => a === 'held').length, 1, answers.join(', '));
    await Promise.all(racers.map((r) => exited(r.child)));
    assert.equal(existsSync(join(dir, 'enclave.lock.takeover')), false, 'the takeover guard is removed');
  });
});
