import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { dirname, join } from 'node:path';
import type { Db, Queryable } from '../db/index.ts';
import type { AuditedTx } from '../audit/index.ts';
import { AppError } from '../errors.ts';
import type { Store, StoreRegistry } from '../store/index.ts';
import { DEFAULT_CACHE_MAX_BYTES, ReadCache } from './cache.ts';
import { copyObject, copyVerified, hashObject } from './copy.ts';
import type { DatasetLocator, DatasetVersion } from './version.ts';

export interface DatasetLocationsDeps {
  readonly db: Db;
  readonly stores: StoreRegistry;
  /** Local directory of the read-through cache for remote stores (docs/datasets.md). */
  readonly cacheDir: string;
  /** Size cap of that cache in bytes (default 20 GiB); least recently used files not in use are evicted. */
  readonly cacheMaxBytes?: number;
  /** How long a file handed to a reader outside `withLease` counts as in use (default 10 min). */
  readonly cacheHoldMs?: number;
}

/**
 * The one resolver of where a dataset lives. The active store is `dataset_locations.store_id`,
 * or, without a row, the store each version was ingested into. Readers resolve once per attach,
 * so a cutover (one UPDATE) is atomic for them: before it they read the old location whole,
 * after it the new one whole.
 *
 * DuckDB reads only local files, so a remote store is read through a local cache: each file is
 * downloaded to a temp name, its SHA-256 checked against the manifest, then renamed into place.
 * A cached file therefore exists only if it was verified; it is trusted while its size matches.
 * The cache is bounded (`ReadCache`): files not in use are evicted least recently used first.
 */
export class DatasetLocations implements DatasetLocator {
  readonly #d: DatasetLocationsDeps;
  readonly cache: ReadCache;

  constructor(deps: DatasetLocationsDeps) {
    this.#d = deps;
    this.cache = new ReadCache({ dir: deps.cacheDir, maxBytes: deps.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES, ...(deps.cacheHoldMs === undefined ? {} : { holdMs: deps.cacheHoldMs }) });
  }

  /** Runs `fn` with every cached file it resolves pinned until it settles (then evictable at once). */
  withLease<T>(fn: () => Promise<T>): Promise<T> {
    return this.cache.withLease(fn);
  }

  /** The local path of one file of a store (through the cache for a remote store), checked against its manifest hash. */
  async localFile(storeId: string, key: string, bytes: number, sha256: string, o: { readonly fresh?: boolean } = {}): Promise<string> {
    return this.#local(this.#d.stores.get(storeId), key, bytes, sha256, o.fresh === true);
  }

  /** The active store id of a dataset (undefined: where each version was ingested). */
  async active(dataset: string, q: Queryable = this.#d.db): Promise<string | undefined> {
    const rows = await q.query<{ store_id: string }>('SELECT store_id FROM dataset_locations WHERE dataset = $1', [dataset]);
    return rows[0]?.store_id;
  }

  async localFiles(v: DatasetVersion, storeId?: string): Promise<{ storeId: string; paths: string[] }> {
    const id = storeId ?? (await this.active(v.dataset)) ?? v.storeId;
    const store = this.#d.stores.get(id);
    const paths: string[] = [];
    for (const f of v.manifest.files) paths.push(await this.#local(store, `${v.prefix}/${f.path}`, f.bytes, f.sha256));
    return { storeId: store.id, paths };
  }

  async publish(dataset: string, staged: Store, stagingKey: string, prefix: string): Promise<string | undefined> {
    // Outside any transaction: the commit re-reads the location under lock (lockActive) and
    // gives up this copy if a cutover happened meanwhile.
    const id = await this.active(dataset);
    if (id === undefined || id === staged.id) return undefined;
    const target = this.#d.stores.get(id);
    try {
      for (const e of await staged.list(stagingKey)) {
        const key = `${prefix}${e.key.slice(stagingKey.length)}`;
        // Hashed first, then checked in the copy stream: what lands is what was staged.
        await copyObject(staged, target, e.key, key, await hashObject(staged, e.key));
      }
    } catch (e) {
      await target.removePrefix(prefix).catch(() => undefined);
      throw e;
    }
    return target.id;
  }

  async lockActive(tx: Queryable, dataset: string): Promise<string | undefined> {
    // FOR UPDATE: a cutover of this dataset waits for this commit, and this commit for it.
    const rows = await tx.query<{ store_id: string }>('SELECT store_id FROM dataset_locations WHERE dataset = $1 FOR UPDATE', [dataset]);
    return rows[0]?.store_id;
  }

  /**
   * Inside a transaction that holds `lockActive`: makes `storeId` the dataset's active store (a
   * migration's cutover or rollback, `planId`). Readers that resolve after the commit read there.
   */
  async switchActive(tx: AuditedTx, dataset: string, storeId: string, planId: string): Promise<void> {
    await tx.query(
      `INSERT INTO dataset_locations (dataset, store_id, plan_id, switched_at) VALUES ($1, $2, $3, now())
       ON CONFLICT (dataset) DO UPDATE SET store_id = EXCLUDED.store_id, plan_id = EXCLUDED.plan_id, switched_at = now()`,
      [dataset, storeId, planId],
    );
  }

  async unpublish(storeId: string, prefix: string): Promise<void> {
    await this.#d.stores.get(storeId).removePrefix(prefix);
  }

  /** `fresh`: download and check again even if cached (verify must read the store, not the cache). */
  async #local(store: Store, key: string, bytes: number, sha256: string, fresh = false): Promise<string> {
    const direct = store.localPath(key);
    if (direct !== undefined) return direct;
    const path = join(this.#d.cacheDir, createHash('sha256').update(store.id).digest('hex').slice(0, 16), ...key.split('/'));
    try {
      return await this.cache.get(path, bytes, async (tmp) => {
        await mkdir(dirname(tmp), { recursive: true });
        await copyVerified(await store.read(key), (b) => pipeline(b, createWriteStream(tmp, { highWaterMark: 1 << 20 })), { sha256, bytes });
      }, { fresh });
    } catch (e) {
      if (e instanceof AppError && e.code === 'integrity') {
        throw new AppError('integrity', `${key} in ${store.id} does not match its manifest: ${e.message}`, { hint: 'run enclave migrate verify on the plan that copied it, then run it again to re-copy', cause: e });
      }
      throw e;
    }
  }
}
