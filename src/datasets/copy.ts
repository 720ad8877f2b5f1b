import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline, Transform, type Readable } from 'node:stream';
import { AppError, isAppError } from '../errors.ts';
import type { Store, UploadJournal } from '../store/index.ts';
import { fileHasher } from './hasher.ts';

export interface Expected {
  readonly sha256: string;
  readonly bytes: number;
}

/**
 * A shared bandwidth cap: every copy stream takes its bytes from one budget, so the whole run
 * stays under `bytesPerSecond` whatever the concurrency.
 */
export class Throttle {
  readonly #rate: number;
  #t = 0;

  constructor(bytesPerSecond: number) {
    if (!(bytesPerSecond > 0)) throw new AppError('invalid', 'bandwidth cap must be positive', { hint: 'e.g. --max-bandwidth 100MB' });
    this.#rate = bytesPerSecond;
  }

  async take(n: number): Promise<void> {
    const now = Date.now();
    this.#t = Math.max(this.#t, now) + (n / this.#rate) * 1000;
    const wait = this.#t - now;
    // A 50 ms burst allowance keeps timers coarse.
    if (wait > 50) await new Promise((r) => setTimeout(r, wait));
  }
}

export interface CopyOptions {
  readonly throttle?: Throttle | undefined;
  readonly onBytes?: ((n: number) => void) | undefined;
  /** Journal of the target's multipart upload, so that an interrupted copy resumes it. */
  readonly journal?: UploadJournal | undefined;
  /** false: leave durability to a later `Store.sync` (WriteOptions.durable). */
  readonly durable?: boolean | undefined;
}

/**
 * Streams `src` into `write`, computing SHA-256 in the stream (in a worker thread: the main
 * thread keeps to the network). The check runs before the stream ends, so a mismatch fails the
 * write itself: the target never gets a wrong object (a temp file is removed, a multipart upload
 * aborted, a single PUT never sent).
 */
export async function copyVerified(src: Readable, write: (body: Readable) => Promise<void>, expect: Expected, o: CopyOptions = {}): Promise<void> {
  const hash = fileHasher.stream();
  let n = 0;
  let mismatch: AppError | undefined;
  const tap = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, cb) {
      const hashed = hash.update(chunk);
      n += chunk.length;
      o.onBytes?.(chunk.length);
      const taken = o.throttle?.take(chunk.length);
      if (hashed === undefined && taken === undefined) cb(null, chunk);
      else Promise.all([hashed, taken]).then(() => cb(null, chunk), cb);
    },
    flush(cb) {
      hash.digest().then(({ sha256: got }) => {
        if (got !== expect.sha256 || n !== expect.bytes) {
          mismatch = new AppError('integrity', `read ${n} bytes with SHA-256 ${got.slice(0, 16)}…, expected ${expect.bytes} bytes with SHA-256 ${expect.sha256.slice(0, 16)}…`, {
            hint: 'the source changed since it was planned or recorded',
          });
          cb(mismatch);
        } else cb();
      }, cb);
    },
  });
  const body = pipeline(src, tap, () => undefined);
  try {
    await write(body);
  } catch (e) {
    throw mismatch ?? e;
  } finally {
    hash.abort();
    src.destroy();
  }
  if (mismatch !== undefined) throw mismatch;
}

/** Copies one object between stores with its SHA-256 checked in the stream. */
export async function copyObject(from: Store, to: Store, fromKey: string, toKey: string, expect: Expected, o: CopyOptions = {}): Promise<void> {
  const src = from.localPath(fromKey);
  const dst = to.localPath(toKey);
  if (src !== undefined && dst !== undefined && o.throttle === undefined) {
    // Disk to disk: copied and hashed in a worker thread (every core at work), into a temp name
    // renamed only once the hash is right, as LocalStore.write does.
    await mkdir(dirname(dst), { recursive: true });
    const tmp = `${dst}.part-${randomBytes(4).toString('hex')}`;
    try {
      const got = await fileHasher.hash(src, { dst: tmp, durable: o.durable !== false }).catch((e: unknown) => {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('not_found', `${fromKey} is not in store ${from.id}`, { hint: 'the file was removed or never copied' });
        throw e;
      });
      o.onBytes?.(got.bytes);
      if (got.sha256 !== expect.sha256 || got.bytes !== expect.bytes) {
        throw new AppError('integrity', `read ${got.bytes} bytes with SHA-256 ${got.sha256.slice(0, 16)}…, expected ${expect.bytes} bytes with SHA-256 ${expect.sha256.slice(0, 16)}…`, { hint: 'the source changed since it was planned or recorded' });
      }
      await rename(tmp, dst);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return;
  }
  await copyVerified(await from.read(fromKey), (b) => to.write(toKey, b, { journal: o.journal, durable: o.durable }), expect, o);
}

/** SHA-256 and size of an object, read as a stream, hashed in a worker thread. */
export async function hashObject(store: Store, key: string): Promise<Expected> {
  const path = store.localPath(key);
  if (path !== undefined) {
    return fileHasher.hash(path).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('not_found', `${key} is not in store ${store.id}`, { hint: 'the file was removed or never copied' });
      throw e;
    });
  }
  const hash = fileHasher.stream();
  try {
    for await (const c of await store.read(key)) await hash.update(c as Buffer);
  } catch (e) {
    hash.abort();
    throw e;
  }
  return hash.digest();
}

export interface RetryOptions {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs?: number;
  readonly onRetry?: (attempt: number, e: unknown, delayMs: number) => void;
}

/** Errors worth another attempt: the store unreachable or failing, not a wrong hash or a refusal. */
export function isTransient(e: unknown): boolean {
  if (isAppError(e)) return e.code === 'unavailable';
  return true;
}

/** Retries `fn` on transient errors with exponential backoff and full jitter. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= o.attempts || !isTransient(e)) throw e;
      const delay = Math.min(o.baseDelayMs * 2 ** (attempt - 1), o.maxDelayMs ?? 30_000) * (0.5 + Math.random() / 2);
      o.onRetry?.(attempt, e, delay);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
