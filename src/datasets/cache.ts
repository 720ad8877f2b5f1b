import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface ReadCacheOptions {
  readonly dir: string;
  /** The cache is trimmed to this many bytes (least recently used first) whenever a file is added. */
  readonly maxBytes: number;
  /**
   * A file handed out without a lease (`DatasetLocator.localFiles`, whose callers have no release
   * step) counts as in use for this long after it was last resolved.
   */
  readonly holdMs?: number;
}

interface Entry {
  bytes: number;
  lastUsed: number;
  pins: number;
}

export const DEFAULT_CACHE_MAX_BYTES = 20 * 1024 ** 3;
export const DEFAULT_CACHE_HOLD_MS = 10 * 60_000;

/**
 * The bounded local cache through which DuckDB reads files of remote stores. Files are added
 * whole (a verified temp file renamed into place), looked up by path, and evicted least recently
 * used first once the total passes `maxBytes`; a file in use (pinned by a lease, or resolved less
 * than `holdMs` ago outside any lease) is never evicted, so the cache may exceed its cap while
 * readers hold more than it.
 *
 * @example
 *   await cache.withLease(async () => { await attach(session); await session.all(sql); }); // then evictable
 */
export class ReadCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly holdMs: number;
  /** Insertion order is recency order: a hit deletes and re-inserts. */
  readonly #entries = new Map<string, Entry>();
  #total = 0;
  #loaded: Promise<void> | undefined;
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #scope = new AsyncLocalStorage<Set<string>>();

  constructor(o: ReadCacheOptions) {
    this.dir = o.dir;
    this.maxBytes = o.maxBytes;
    this.holdMs = o.holdMs ?? DEFAULT_CACHE_HOLD_MS;
  }

  /** Bytes and files currently in the cache. */
  async usage(): Promise<{ bytes: number; files: number }> {
    await this.#load();
    return { bytes: this.#total, files: this.#entries.size };
  }

  /**
   * Runs `fn`; every file resolved inside it (at any depth of its async calls) stays pinned until
   * `fn` settles, then becomes evictable at once.
   */
  async withLease<T>(fn: () => Promise<T>): Promise<T> {
    const pinned = new Set<string>();
    try {
      return await this.#scope.run(pinned, fn);
    } finally {
      for (const p of pinned) this.#unpin(p);
      await this.trim();
    }
  }

  /**
   * The local path of a cached file of `bytes` bytes, fetched first when absent: `fetch` writes
   * (and verifies) the content at the temp path it is given, which is then renamed into place.
   * The file is pinned by the current lease, or held for `holdMs` outside any lease.
   */
  async get(path: string, bytes: number, fetch: (tmp: string) => Promise<void>, o: { readonly fresh?: boolean } = {}): Promise<string> {
    await this.#load();
    const lease = this.#scope.getStore();
    // Pin before any await, so a concurrent trim cannot take it between the check and the use.
    const pin = (): void => {
      const e = this.#entries.get(path);
      if (e === undefined) return;
      this.#entries.delete(path);
      this.#entries.set(path, e);
      e.lastUsed = Date.now();
      if (lease !== undefined && !lease.has(path)) {
        lease.add(path);
        e.pins++;
      }
    };
    const have = this.#entries.get(path);
    if (have !== undefined && have.bytes === bytes && o.fresh !== true) {
      pin();
      // Removed behind our back (an operator cleaning up): fall through and fetch again.
      if ((await stat(path).catch(() => undefined))?.size === bytes) return path;
      this.#forget(path);
    }
    let running = this.#inflight.get(path);
    if (running === undefined) {
      running = (async () => {
        const tmp = `${path}.part-${randomBytes(4).toString('hex')}`;
        try {
          await fetch(tmp);
          await rename(tmp, path);
        } catch (e) {
          await rm(tmp, { force: true });
          throw e;
        }
        this.#forget(path);
        this.#entries.set(path, { bytes, lastUsed: Date.now(), pins: 0 });
        this.#total += bytes;
      })().finally(() => this.#inflight.delete(path));
      this.#inflight.set(path, running);
    }
    await running;
    pin();
    await this.trim();
    return path;
  }

  /** Evicts least recently used files not in use until the cache fits its cap. */
  async trim(): Promise<void> {
    await this.#load();
    if (this.#total <= this.maxBytes) return;
    const now = Date.now();
    for (const [p, e] of [...this.#entries]) {
      if (this.#total <= this.maxBytes) break;
      if (e.pins > 0 || now - e.lastUsed < this.holdMs || this.#inflight.has(p)) continue;
      this.#forget(p);
      await rm(p, { force: true });
    }
  }

  #unpin(path: string): void {
    const e = this.#entries.get(path);
    if (e === undefined) return;
    e.pins = Math.max(0, e.pins - 1);
    // Released: no longer held by time either.
    if (e.pins === 0) e.lastUsed = 0;
  }

  #forget(path: string): void {
    const e = this.#entries.get(path);
    if (e === undefined) return;
    this.#entries.delete(path);
    this.#total -= e.bytes;
  }

  /** Indexes what an earlier process left in the cache (oldest first); removes stale temp files. */
  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      const found: Array<{ path: string; bytes: number; mtime: number }> = [];
      const walk = async (dir: string): Promise<void> => {
        const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
        for (const e of entries) {
          const p = join(dir, e.name);
          if (e.isDirectory()) await walk(p);
          else if (/\.part-[0-9a-f]{8}$/.test(e.name)) await rm(p, { force: true });
          else if (e.isFile()) {
            const st = await stat(p);
            found.push({ path: p, bytes: st.size, mtime: st.mtimeMs });
          }
        }
      };
      await walk(this.dir);
      found.sort((a, b) => a.mtime - b.mtime);
      for (const f of found) {
        if (this.#entries.has(f.path)) continue;
        this.#entries.set(f.path, { bytes: f.bytes, lastUsed: 0, pins: 0 });
        this.#total += f.bytes;
      }
    })();
    return this.#loaded;
  }
}
