/**
 * Keeps Enclave's run-time Trino catalogs (one per dataset, one per project: `catalogs.ts`)
 * across coordinator restarts.
 *
 * A deployment runs the coordinator with `catalog.store=memory` so that no SSE-C key is ever
 * written to its disk (docs/deploy/trino.md): a restart then forgets every catalog created at run
 * time. The keeper creates them again, from the key service (HKDF, as at first creation):
 * - lazily, when Trino answers `CATALOG_NOT_FOUND` for a catalog Enclave should have: the
 *   clients given `restore` as `TrinoClientOptions.onCatalogNotFound` re-create it and run the
 *   statement again, once;
 * - at server start (`restoreAll`), those in use: active projects' catalogs and the catalogs of
 *   the datasets their extracts were built from.
 *
 * Only what is still in use comes back: the catalog of an active project with an extract built (a
 * closed project's key is destroyed; a suspended one's comes back when it resumes and is used),
 * and the catalog of a dataset that has a version. A dataset's catalog is checked before use: `restoreDataset` makes
 * its current version (and each version already in use in this process) readable again through
 * the datasets domain, which checks the version's files against the manifest and that Trino sees
 * exactly the copy written from them (`dataset-copy.ts`, `datasets.ts`). Each re-creation is
 * audited (`trino.catalog.recreate`), a failed one too (outcome `failure`).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ensureS3Catalog, sseCKeyOf, trinoCatalogs, type TrinoS3Store } from './catalogs.ts';
import { TrinoClient } from './client.ts';
import { datasetCatalog } from './dataset-copy.ts';
import { projectCatalog } from './engine.ts';

/** One catalog the keeper re-created (or failed to), as audited. */
export interface CatalogRecreation {
  readonly catalog: string;
  readonly kind: 'dataset' | 'project';
  /** The dataset's name or the project's id. */
  readonly subject: string;
  /** `not_found`: a statement met its absence; `start`: found missing at server start. */
  readonly reason: 'not_found' | 'start';
  readonly outcome: 'success' | 'failure';
  readonly error?: string;
  readonly ms: number;
}

export interface CatalogKeeperOptions {
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** The store of the project catalogs and where their metastores live (`s3://bucket/<projectPrefix>/<catalog>`), as the extract builder creates them. */
  readonly store: TrinoS3Store;
  readonly projectPrefix: string;
  /**
   * The projects whose catalog must exist: active ones whose extract was built (their catalog was
   * created then); before a first build there is nothing to bring back.
   */
  activeProjects(): Promise<readonly string[]>;
  /** Lends the project's encryption key (the source of its SSE-C key). */
  withProjectKey<T>(projectId: string, fn: (key: Uint8Array) => Promise<T>): Promise<T>;
  /** The datasets that have at least one version: their catalog comes back when a statement needs it. */
  datasets(): Promise<readonly string[]>;
  /**
   * The datasets whose catalog comes back at start: those the extracts of active projects were
   * built from (a dataset no extract read yet is made ready when one first needs it, not at start).
   */
  datasetsInUse(): Promise<readonly string[]>;
  /**
   * Creates the dataset's catalog again and checks it: its current version, and each version in
   * use in this process, made readable again and checked against their manifests.
   */
  restoreDataset(dataset: string): Promise<void>;
  /** Records the re-creation (`trino.catalog.recreate`); a failure to record fails the re-creation. */
  audit(r: CatalogRecreation): Promise<void>;
}

export interface CatalogKeeper {
  /**
   * Re-creates `catalog` if it is one Enclave should have now; true once it exists again, false
   * when it is none of Enclave's (or no longer in use). For `TrinoClientOptions.onCatalogNotFound`.
   */
  restore(catalog: string): Promise<boolean>;
  /** Re-creates every missing catalog Enclave should have; a failed one is reported, the others still made. */
  restoreAll(): Promise<{ readonly recreated: readonly string[]; readonly failed: ReadonlyArray<{ readonly catalog: string; readonly error: string }> }>;
}

type Wanted = { readonly catalog: string; readonly kind: 'dataset' | 'project'; readonly subject: string };

function messageOf(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]?.slice(0, 300) ?? 'error';
}

export function openCatalogKeeper(o: CatalogKeeperOptions): CatalogKeeper {
  // This client has no `onCatalogNotFound`: a re-creation never waits on itself.
  const client = new TrinoClient({ url: o.url, ...(o.headers === undefined ? {} : { headers: o.headers }) });
  const running = new Map<string, Promise<boolean>>();
  /** The catalogs being re-created in this async context: a statement of the re-creation itself that meets the catalog's absence does not wait for it. */
  const inside = new AsyncLocalStorage<ReadonlySet<string>>();
  const prefix = o.projectPrefix.replace(/^\/+|\/+$/g, '');

  async function wanted(atStart: boolean): Promise<Wanted[]> {
    const out: Wanted[] = [];
    for (const d of await (atStart ? o.datasetsInUse() : o.datasets())) out.push({ catalog: datasetCatalog(d), kind: 'dataset', subject: d });
    for (const p of await o.activeProjects()) out.push({ catalog: projectCatalog(p), kind: 'project', subject: p });
    return out;
  }

  async function recreate(w: Wanted, reason: CatalogRecreation['reason']): Promise<void> {
    const started = performance.now();
    try {
      await inside.run(new Set([...(inside.getStore() ?? []), w.catalog]), async () => {
        if (w.kind === 'project') {
          await o.withProjectKey(w.subject, (key) => ensureS3Catalog(client, w.catalog, o.store, sseCKeyOf(key, `project ${w.subject}`), `s3://${o.store.bucket}/${prefix}/${w.catalog}`));
        } else {
          await o.restoreDataset(w.subject);
        }
      });
    } catch (e) {
      await o.audit({ ...w, reason, outcome: 'failure', error: messageOf(e), ms: Math.round(performance.now() - started) }).catch(() => undefined);
      throw e;
    }
    await o.audit({ ...w, reason, outcome: 'success', ms: Math.round(performance.now() - started) });
  }

  function once(w: Wanted, reason: CatalogRecreation['reason']): Promise<boolean> {
    let p = running.get(w.catalog);
    if (p === undefined) {
      p = recreate(w, reason).then(() => true).finally(() => running.delete(w.catalog));
      running.set(w.catalog, p);
    }
    return p;
  }

  return {
    async restore(catalog) {
      if (inside.getStore()?.has(catalog) === true) return false;
      const w = (await wanted(false)).find((x) => x.catalog === catalog);
      if (w === undefined) return false;
      // Several statements may meet the absence at once: the first brings it back, the others find it there.
      if (running.get(catalog) === undefined && (await trinoCatalogs(client)).includes(catalog)) return true;
      return once(w, 'not_found');
    },
    async restoreAll() {
      const present = new Set(await trinoCatalogs(client));
      const recreated: string[] = [];
      const failed: { catalog: string; error: string }[] = [];
      for (const w of await wanted(true)) {
        if (present.has(w.catalog)) continue;
        try {
          await once(w, 'start');
          recreated.push(w.catalog);
        } catch (e) {
          failed.push({ catalog: w.catalog, error: messageOf(e) });
        }
      }
      return { recreated, failed };
    },
  };
}
