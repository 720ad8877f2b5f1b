/**
 * One writer per data directory. The embedded PGlite database, the store and the staging areas
 * under ENCLAVE_DATA_DIR belong to one process at a time: two processes that both open them each
 * keep their own view, and whichever closes last silently erases the other's writes (audit
 * events included, their sequence numbers reused). So every process that opens the directory
 * first takes `enclave.lock` in it, exclusively.
 *
 * Node has no flock(2), so the lock is a file created with O_EXCL holding who took it (pid, the
 * process start time, host, role, command, a random nonce). It dies with its process: a lock
 * whose pid no longer runs, or runs a different process (start time changed: the pid was
 * reused), is stale, and the next process takes it over atomically (under a short takeover
 * guard, by renaming its own lock file over the stale one). A lock taken on another host (a data
 * directory on a network file system) is never presumed stale: that holder cannot be checked.
 * The one window left: a process killed inside the takeover itself (microseconds) leaves the
 * guard behind, and if two others then race to clear that guard, both may take over. It needs a
 * crash during a takeover and a three-way race; it is stated here rather than hidden.
 *
 * @example
 *   const lock = acquireDataDirLock('./data', { role: 'server', command: 'enclave serve' });
 *   // … open the database, serve …
 *   lock.release();
 */
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../errors.ts';

export const LOCK_FILE = 'enclave.lock';
const GUARD_FILE = 'enclave.lock.takeover';
/** A takeover guard older than this whose holder cannot be found is abandoned (a takeover takes microseconds). */
const GUARD_STALE_MS = 5_000;
/** How long a reader waits for a lock file being written by its creator before calling it garbage. */
const PARTIAL_WAIT_MS = 1_000;

export type LockRole = 'server' | 'cli';

/** Who holds a data directory: the content of its lock file. */
export interface LockHolder {
  readonly pid: number;
  /** The process start time (Linux /proc clock ticks since boot), to tell a reused pid; null where unknown. */
  readonly startTime: string | null;
  readonly hostname: string;
  readonly role: LockRole;
  /** What runs, e.g. `enclave serve` or `enclave keys rotate-master`. */
  readonly command: string;
  /** When it took the lock (UTC). */
  readonly since: string;
  /** The server's local operator socket (unix socket, mode 0600, in the data directory), when it listens on one. */
  readonly socket: string | null;
  readonly nonce: string;
}

/**
 * The data directory is held by another live process. `holder` says which; the CLI forwards a
 * command to a server that listens on its socket, and prints this error otherwise.
 */
export class DataDirInUse extends AppError {
  readonly holder: LockHolder;
  readonly dataDir: string;

  constructor(dataDir: string, holder: LockHolder) {
    const self = holder.pid === process.pid && holder.hostname === hostname();
    const who = holder.role === 'server' ? 'the Enclave server' : 'another enclave command';
    const where = holder.hostname === hostname() ? '' : ` on host ${holder.hostname}`;
    super('conflict', `the data directory ${dataDir} is in use by ${who} (pid ${holder.pid}${where}: ${holder.command}, since ${holder.since})${self ? ' in this very process' : ''}; only one process may open it at a time`, {
      hint: holder.role === 'server'
        ? `${holder.socket === null ? 'if it is starting, wait until it listens (commands then go through it); otherwise ' : ''}run the command against that server's API with ENCLAVE_URL and ENCLAVE_TOKEN, or stop the server (kill ${holder.pid}) and run it again`
        : `wait until pid ${holder.pid} finishes (or stop it), then run this again`,
      details: { pid: holder.pid, role: holder.role, command: holder.command, since: holder.since, hostname: holder.hostname },
    });
    this.holder = holder;
    this.dataDir = dataDir;
  }
}

/** A held lock. `release` is idempotent and also runs when the process exits normally. */
export interface DataDirLock {
  readonly dataDir: string;
  readonly path: string;
  readonly holder: LockHolder;
  /** Marks the holder a server listening on `socket` (the lock file rewritten atomically), so that CLI commands can find it. */
  serving(socket: string | null): void;
  release(): void;
}

/** The start time of a process (field 22 of /proc/PID/stat), or null where /proc is not there. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from its end.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether the holder still runs: same host, its pid alive, and (where known) the same start time. */
export function holderIsAlive(h: LockHolder): boolean {
  if (h.hostname !== hostname()) return true; // cannot be checked from here: never presumed dead
  try {
    process.kill(h.pid, 0);
  } catch (e) {
    // EPERM: the pid runs, as another user.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (h.startTime === null) return true;
  const now = processStartTime(h.pid);
  return now === null || now === h.startTime;
}

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

function parseHolder(text: string): LockHolder | null {
  try {
    const v = JSON.parse(text) as Partial<LockHolder>;
    if (typeof v.pid !== 'number' || typeof v.nonce !== 'string' || typeof v.hostname !== 'string') return null;
    return {
      pid: v.pid, startTime: typeof v.startTime === 'string' ? v.startTime : null, hostname: v.hostname,
      role: v.role === 'server' ? 'server' : 'cli', command: typeof v.command === 'string' ? v.command : '?',
      since: typeof v.since === 'string' ? v.since : '?', socket: typeof v.socket === 'string' ? v.socket : null, nonce: v.nonce,
    };
  } catch {
    return null;
  }
}

type Read = { readonly kind: 'absent' } | { readonly kind: 'garbage'; readonly text: string } | { readonly kind: 'holder'; readonly holder: LockHolder };

/** Reads a lock file; waits briefly for one its creator is still writing (O_EXCL create, then write). */
function readLock(path: string): Read {
  const deadline = Date.now() + PARTIAL_WAIT_MS;
  for (;;) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
      throw e;
    }
    const h = parseHolder(text);
    if (h !== null) return { kind: 'holder', holder: h };
    if (Date.now() > deadline) return { kind: 'garbage', text };
    sleepSync(20);
  }
}

/** Creates `path` with O_EXCL holding `text`; false when it exists. */
function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
  return true;
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Writes `text` to a fresh file beside `path`, then renames it over `path` (atomic replace). */
function replaceAtomically(path: string, text: string, nonce: string): void {
  const tmp = `${path}.${nonce}.tmp`;
  if (!createExclusive(tmp, text)) throw new AppError('internal', `cannot write ${tmp}`);
  try {
    renameSync(tmp, path);
  } catch (e) {
    unlinkQuiet(tmp);
    throw e;
  }
}

/**
 * Replaces a stale lock by ours, under the takeover guard so that two processes finding the same
 * stale lock cannot both take it: the one holding the guard checks the lock is still that stale
 * one, then renames its own over it. Returns whether we now hold the lock.
 */
function takeOver(dir: string, lockPath: string, stale: Read, mine: LockHolder): boolean {
  const guard = join(dir, GUARD_FILE);
  const guardHolder = JSON.stringify({ pid: process.pid, startTime: mine.startTime, hostname: mine.hostname, nonce: mine.nonce, role: mine.role });
  if (!createExclusive(guard, guardHolder)) {
    // Another process is taking over right now; if it died doing so, its guard is abandoned.
    const g = readLock(guard);
    const abandoned = g.kind === 'absent' ? false
      : g.kind === 'holder' ? !holderIsAlive(g.holder)
        : Date.now() - (statMtime(guard) ?? Date.now()) > GUARD_STALE_MS;
    if (abandoned) unlinkQuiet(guard);
    else sleepSync(20);
    return false;
  }
  try {
    const now = readLock(lockPath);
    const same = (now.kind === 'holder' && stale.kind === 'holder' && now.holder.nonce === stale.holder.nonce)
      || (now.kind === 'garbage' && stale.kind === 'garbage' && now.text === stale.text);
    if (!same) return false; // it changed meanwhile: start over
    replaceAtomically(lockPath, JSON.stringify(mine), mine.nonce);
    return true;
  } finally {
    unlinkQuiet(guard);
  }
}

function statMtime(path: string): number | null {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** The live holder of a data directory's lock, or null (no lock, or a stale one). Never takes it. */
export function lockHolderOf(dataDir: string): LockHolder | null {
  const r = readLock(join(dataDir, LOCK_FILE));
  return r.kind === 'holder' && holderIsAlive(r.holder) ? r.holder : null;
}

/**
 * Takes the data directory's lock for this process, or throws `DataDirInUse` naming the live
 * holder. A stale lock (its process gone) is taken over.
 */
export function acquireDataDirLock(dataDir: string, o: { readonly role: LockRole; readonly command: string }): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, LOCK_FILE);
  let holder: LockHolder = {
    pid: process.pid, startTime: processStartTime(process.pid), hostname: hostname(), role: o.role, command: o.command,
    since: new Date().toISOString(), socket: null, nonce: randomBytes(12).toString('hex'),
  };
  for (let attempt = 0; ; attempt++) {
    if (createExclusive(path, JSON.stringify(holder))) break;
    const found = readLock(path);
    if (found.kind === 'absent') continue; // released meanwhile
    if (found.kind === 'holder' && holderIsAlive(found.holder)) throw new DataDirInUse(dataDir, found.holder);
    if (takeOver(dataDir, path, found, holder)) break;
    if (attempt > 200) throw new AppError('unavailable', `could not take the lock of ${dataDir}: other processes keep racing for it`, { hint: `try again; if it persists, check which processes use ${path}` });
  }
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    // Only our own lock is removed: never one a later process took over.
    const r = readLock(path);
    if (r.kind === 'holder' && r.holder.nonce === holder.nonce) unlinkQuiet(path);
  };
  process.on('exit', release);
  return {
    dataDir, path,
    get holder() { return holder; },
    serving(socket) {
      if (released) return;
      holder = { ...holder, role: 'server', socket };
      replaceAtomically(path, JSON.stringify(holder), randomBytes(6).toString('hex'));
    },
    release,
  };
}
