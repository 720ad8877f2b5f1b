import { createHash, randomBytes } from 'node:crypto';
import type { Actor, AuditLog, JsonValue, LogSigner } from '../audit/index.ts';
import { canonicalJson, hashLeaf, rootFromLeafHashes, signNote } from '../audit/index.ts';
import { copyObject, datasetRoot, hashObject, isVersionAncillary, Throttle, withRetry, type DatasetLocations, type DatasetVersion, type DatasetVersions } from '../datasets/index.ts';
import type { Db } from '../db/index.ts';
import { sqlString, type Engine, type EngineSession } from '../engine/index.ts';
import { AppError, isAppError } from '../errors.ts';
import type { KeyService } from '../keys/index.ts';
import type { Store, StoreRegistry, UploadJournal, UploadPart } from '../store/index.ts';
import { checkStore, type ExpectedFile, type StoreCheck } from './check.ts';

export interface MigrationDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly keys: KeyService;
  /** The versions migrated (read and attached through it). */
  readonly datasets: DatasetVersions;
  readonly engine: Engine;
  readonly stores: StoreRegistry;
  readonly locations: DatasetLocations;
  /** Signs migration reports: the audit log's key, so one public key verifies both. */
  readonly signer: LogSigner;
  /** A run that stopped renewing its lease this long ago was killed; another may resume it. */
  readonly leaseSeconds?: number;
}

export interface PlanFile {
  readonly key: string;
  readonly dataset: string;
  readonly version: number;
  readonly bytes: number;
  readonly sha256: string;
  /** The source store's tag of the object when it was planned (StoreEntry.tag). */
  readonly tag?: string;
}

export interface PlanVersion {
  readonly dataset: string;
  readonly version: number;
  readonly prefix: string;
  readonly merkleRoot: string;
  readonly files: number;
  readonly bytes: number;
}

export interface PlanCheck {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface MigrationPlan {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly datasets: readonly string[];
  readonly createdAt: string;
  readonly versions: readonly PlanVersion[];
  readonly files: readonly PlanFile[];
  readonly totalBytes: number;
  readonly checks: readonly PlanCheck[];
}

export interface RunProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly filesDone: number;
  readonly filesTotal: number;
  readonly file?: string;
}

/**
 * Where a plan stands, for the operator page: the journal's counts (whoever runs the plan, this
 * process or another), whether a run holds its lease, and the byte-level progress of a run of
 * this process (`live`, null otherwise: another process's run shows at file granularity).
 */
export interface MigrationStatus {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  readonly datasets: readonly string[];
  readonly createdAt: string;
  readonly running: boolean;
  readonly files: { readonly total: number; readonly copied: number; readonly pending: number; readonly failed: number };
  readonly bytes: { readonly total: number; readonly copied: number };
  readonly live: RunProgress | null;
  readonly checksFailed: number;
  readonly verified: { readonly ok: boolean; readonly at: string } | null;
  /** The last run's error, when it failed (the journal keeps it per file). */
  readonly lastError: string | null;
}

export interface RunOptions {
  readonly actor: Actor;
  /** Files copied at once (default 4). */
  readonly concurrency?: number;
  /** Bytes per second for the whole run; unlimited when undefined. */
  readonly maxBytesPerSecond?: number;
  /** Attempts per file on transient errors (default 5), with exponential backoff from `retryBaseMs`. */
  readonly attempts?: number;
  readonly retryBaseMs?: number;
  readonly onProgress?: (p: RunProgress) => void;
  readonly onRetry?: (file: string, attempt: number, error: string) => void;
  /** Called after each part of a multipart upload is journaled (`resumed`: already in the target from an interrupted run, not sent again). */
  readonly onPart?: (key: string, partNumber: number, resumed: boolean) => void | Promise<void>;
  /** Test hook: called after each file is journaled as copied (crash tests kill the process here). */
  readonly afterFile?: (key: string) => void | Promise<void>;
}

export interface RunResult {
  readonly planId: string;
  readonly copied: number;
  /** Files found already complete and correct in the target (a run killed after the upload, before its journal entry). */
  readonly adopted: number;
  readonly skipped: number;
  readonly bytesCopied: number;
  /** Parts of multipart uploads found in the target from an interrupted run, and not sent again. */
  readonly partsResumed: number;
  readonly seconds: number;
}

export interface Difference {
  readonly dataset: string;
  readonly version: number;
  readonly where: string;
  readonly problem: string;
}

export interface PartitionCheck {
  readonly dataset: string;
  readonly version: number;
  readonly table: string;
  readonly year: number;
  readonly file: string;
  readonly rows: { readonly manifest: number; readonly source: number; readonly target: number };
  readonly fingerprint: { readonly source: string; readonly target: string };
  readonly ok: boolean;
}

export interface VerifyResult {
  readonly planId: string;
  readonly ok: boolean;
  readonly filesChecked: number;
  readonly bytesChecked: number;
  readonly merkleRoots: ReadonlyArray<{ readonly dataset: string; readonly version: number; readonly expected: string; readonly target: string; readonly ok: boolean }>;
  readonly partitions: readonly PartitionCheck[];
  readonly differences: readonly Difference[];
  readonly datasets: Readonly<Record<string, boolean>>;
  readonly seconds: number;
  /** 'bytes': every target file hashed, rows counted on one side; 'deep': every partition also fingerprinted on both sides. */
  readonly mode?: 'bytes' | 'deep';
  /** Store tags of the files found correct, so that cutover and rollback can re-check them cheaply (checkStore). */
  readonly targetTags?: Readonly<Record<string, string>>;
  readonly sourceTags?: Readonly<Record<string, string>>;
}

/** What cutover or rollback found in the store it switched to, at the moment it switched. */
export interface SwitchCheck {
  readonly store: string;
  readonly at: string;
  readonly files: number;
  /** Files whose tag changed since they were last verified, hashed again. */
  readonly rehashed: number;
}

export interface MirrorQueryResult {
  readonly dataset: string;
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly source: string;
  readonly target: string;
  readonly ok: boolean;
}

export interface MirrorResult {
  readonly planId: string;
  readonly ok: boolean;
  readonly queries: readonly MirrorQueryResult[];
}

export interface SignedReport {
  readonly planId: string;
  readonly kind: string;
  readonly report: JsonValue;
  readonly sha256: string;
  readonly summary: string;
  /** C2SP signed note over the summary (which ends with the report's SHA-256). */
  readonly note: string;
}

/**
 * Cohort queries of the benchmark, run on both locations by `mirror` when their tables exist.
 * Results are compared by fingerprint, so every query must be deterministic: amounts are summed
 * as DECIMAL, because a parallel sum of DOUBLEs changes its last bits from one run to the next.
 */
export const DEFAULT_MIRROR_QUERIES: ReadonlyArray<{ readonly name: string; readonly tables: readonly string[]; readonly sql: string }> = [
  { name: 'ER_PRS_F totals', tables: ['ER_PRS_F'], sql: 'SELECT count(*) AS n, sum(CAST(PRS_PAI_MNT AS DECIMAL(18, 2))) AS paid, count(DISTINCT BEN_NIR_PSA) AS people FROM ds.ER_PRS_F' },
  { name: 'ER_PRS_F per person', tables: ['ER_PRS_F'], sql: 'SELECT BEN_NIR_PSA, count(*) AS acts, sum(CAST(PRS_PAI_MNT AS DECIMAL(18, 2))) AS paid FROM ds.ER_PRS_F GROUP BY 1' },
  { name: 'people by sex and birth year', tables: ['IR_BEN_R'], sql: 'SELECT BEN_SEX_COD, BEN_NAI_ANN, count(*) AS n FROM ds.IR_BEN_R GROUP BY ALL' },
  { name: 'hospital stays and hospitals', tables: ['T_MCOaaB'], sql: 'SELECT count(*) AS stays, count(DISTINCT ETA_NUM) AS hospitals FROM ds.T_MCOaaB' },
];

const DEFAULT_LEASE_SECONDS = 30;

interface PlanRow {
  id: string;
  from_store: string;
  to_store: string;
  plan: MigrationPlan | string;
  run_owner: string | null;
  verify: VerifyResult | string | null;
  verified_at: Date | string | null;
  mirror: MirrorResult | string | null;
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

/**
 * Moves datasets between stores with proof: plan (inventory and pre-checks), run (parallel
 * streaming copy with a resumable journal), verify (hashes, Merkle roots, engine reconciliation),
 * mirror (the same queries on both locations), cutover / rollback (one atomic switch of the
 * active location) and a signed report in the audit log. See docs/migration.md.
 */
export class MigrationService {
  readonly #d: MigrationDeps;
  /** Byte-level progress of the runs of this process, by plan id, while they run. */
  readonly #live = new Map<string, RunProgress>();

  constructor(deps: MigrationDeps) {
    this.#d = deps;
  }

  /** Inventory of what moves, and the pre-migration checks; saved as a plan. */
  async plan(o: { readonly from: string; readonly to: string; readonly datasets?: readonly string[]; readonly actor: Actor }): Promise<MigrationPlan> {
    const from = this.#d.stores.get(o.from);
    const to = this.#d.stores.get(o.to);
    if (from.id === to.id) throw new AppError('invalid', 'source and target are the same store', { hint: 'give two different stores, e.g. --from local --to s3' });
    const datasets = o.datasets !== undefined && o.datasets.length > 0
      ? [...o.datasets]
      : (await this.#d.db.query<{ dataset: string }>('SELECT DISTINCT dataset FROM dataset_versions ORDER BY dataset')).map((r) => r.dataset);
    if (datasets.length === 0) throw new AppError('not_found', 'there is no dataset to migrate', { hint: 'ingest one first: enclave ingest --dataset snds DIR' });
    const checks: PlanCheck[] = [];
    const versions: PlanVersion[] = [];
    const files: PlanFile[] = [];
    for (const ds of datasets) {
      const vs = (await this.#d.datasets.versions(ds)).reverse();
      if (vs.length === 0) throw new AppError('not_found', `dataset ${ds} has no ingested version`, { hint: 'plan only datasets listed by enclave datasets versions' });
      const active = (await this.#d.locations.active(ds)) ?? vs[0]?.storeId;
      if (active !== from.id || vs.some((v) => v.storeId !== from.id && active === v.storeId)) {
        if (active !== from.id) {
          throw new AppError('conflict', `dataset ${ds} is active on ${this.#d.stores.nameOf(active ?? '?')}, not on ${o.from}`, { hint: `plan from the store it lives on: --from ${this.#d.stores.nameOf(active ?? '?')}` });
        }
      }
      try {
        await this.#d.keys.withDataKey('dataset', ds, 'encryption', (k) => Promise.resolve(k.length));
        checks.push({ check: `keys of ${ds}`, ok: true, detail: 'dataset encryption key unwraps' });
      } catch (e) {
        checks.push({ check: `keys of ${ds}`, ok: false, detail: isAppError(e) ? e.message : 'key unavailable' });
      }
      for (const v of vs) {
        const all = await from.list(v.prefix);
        const named = new Set(v.manifest.files.map((f) => `${v.prefix}/${f.path}`));
        const listed = all.filter((e) => named.has(e.key) || isVersionAncillary(e.key.slice(v.prefix.length + 1)));
        const strays = all.filter((e) => !listed.includes(e));
        if (strays.length > 0) {
          // Not part of the version: never copied, so they cannot travel on to the next store.
          checks.push({ check: `${ds} v${v.version}: objects its manifest does not name`, ok: true, detail: `left out of the plan: ${strays.slice(0, 5).map((e) => e.key).join(', ')}${strays.length > 5 ? ` and ${strays.length - 5} more` : ''}` });
        }
        const bySha = new Map<string, (typeof v.manifest.files)[number]>(v.manifest.files.map((f) => [`${v.prefix}/${f.path}`, f]));
        const problems: string[] = [];
        const root = rootFromLeafHashes(v.manifest.files.map((f) => hashLeaf(Buffer.from(canonicalJson(f as unknown as JsonValue))))).toString('hex');
        if (root !== v.merkleRoot) problems.push(`manifest Merkle root ${root.slice(0, 16)}… differs from the recorded ${v.merkleRoot.slice(0, 16)}…`);
        for (const key of bySha.keys()) if (!listed.some((e) => e.key === key)) problems.push(`${key} is missing`);
        let bytes = 0;
        for (const e of listed) {
          const got = await hashObject(from, e.key).catch((err: unknown) => { problems.push(`${e.key} unreadable: ${isAppError(err) ? err.message : 'read error'}`); return undefined; });
          if (got === undefined) continue;
          const m = bySha.get(e.key);
          if (m !== undefined && (m.sha256 !== got.sha256 || m.bytes !== got.bytes)) problems.push(`${e.key} does not match its manifest (SHA-256 ${got.sha256.slice(0, 12)}…, manifest ${m.sha256.slice(0, 12)}…)`);
          files.push({ key: e.key, dataset: ds, version: v.version, bytes: got.bytes, sha256: m?.sha256 ?? got.sha256, tag: e.tag });
          bytes += got.bytes;
        }
        versions.push({ dataset: ds, version: v.version, prefix: v.prefix, merkleRoot: v.merkleRoot, files: listed.length, bytes });
        checks.push({ check: `${ds} v${v.version} readable and matching its manifest`, ok: problems.length === 0, detail: problems.length === 0 ? `${listed.length} files, Merkle root ${v.merkleRoot.slice(0, 16)}…` : problems.slice(0, 5).join('; ') });
      }
    }
    const totalBytes = files.reduce((s, f) => s + f.bytes, 0);
    try {
      await to.probe();
      checks.push({ check: 'target reachable and writable', ok: true, detail: to.id });
    } catch (e) {
      checks.push({ check: 'target reachable and writable', ok: false, detail: isAppError(e) ? e.message : 'probe failed' });
    }
    const free = await to.freeBytes().catch(() => undefined);
    checks.push(free === undefined
      ? { check: 'free space on target', ok: true, detail: 'not knowable on this store (object storage)' }
      : { check: 'free space on target', ok: free > totalBytes * 1.05, detail: `${free} bytes free for ${totalBytes} to copy` });

    const plan: MigrationPlan = { id: `mig_${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}_${randomBytes(4).toString('hex')}`, from: from.id, to: to.id, datasets, createdAt: new Date().toISOString(), versions, files, totalBytes, checks };
    await this.#d.audit.transaction({ actor: o.actor, action: 'migrate.plan', target: `migration:${plan.id}`, details: { from: from.id, to: to.id, datasets, files: files.length, bytes: totalBytes, checksFailed: checks.filter((c) => !c.ok).length } }, async (tx) => {
      await tx.query('INSERT INTO migration_plans (id, from_store, to_store, datasets, created_by, plan) VALUES ($1, $2, $3, $4, $5, $6)', [plan.id, from.id, to.id, JSON.stringify(datasets), o.actor.id, JSON.stringify(plan)]);
      for (const f of files) {
        await tx.query("INSERT INTO migration_files (plan_id, key, dataset, version, bytes, sha256, status) VALUES ($1, $2, $3, $4, $5, $6, 'pending')", [plan.id, f.key, f.dataset, f.version, f.bytes, f.sha256]);
      }
    });
    return plan;
  }

  async getPlan(id: string): Promise<MigrationPlan> {
    return json<MigrationPlan>((await this.#row(id)).plan);
  }

  /** The journal of a plan: one row per file with its status and how many times it was copied. */
  async journal(id: string): Promise<Array<{ key: string; status: string; copies: number; attempts: number; error: string | null }>> {
    return this.#d.db.query('SELECT key, status, copies, attempts, error FROM migration_files WHERE plan_id = $1 ORDER BY key', [id]);
  }

  /** Plans, newest first (at most 50), with where each stands. */
  async list(): Promise<MigrationStatus[]> {
    const ids = await this.#d.db.query<{ id: string }>('SELECT id FROM migration_plans ORDER BY created_at DESC, id DESC LIMIT 50');
    return Promise.all(ids.map((r) => this.status(r.id)));
  }

  /** Where one plan stands: journal counts, lease, live progress of a run of this process. */
  async status(id: string): Promise<MigrationStatus> {
    const row = await this.#row(id);
    const plan = json<MigrationPlan>(row.plan);
    const lease = this.#d.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    const [counts, lease_, err] = await Promise.all([
      this.#d.db.query<{ status: string; n: string; bytes: string | null }>('SELECT status, count(*)::text AS n, sum(bytes)::text AS bytes FROM migration_files WHERE plan_id = $1 GROUP BY status', [id]),
      this.#d.db.query<{ running: boolean }>('SELECT (run_owner IS NOT NULL AND run_heartbeat >= now() - make_interval(secs => $2)) AS running FROM migration_plans WHERE id = $1', [id, lease]),
      this.#d.db.query<{ error: string }>("SELECT error FROM migration_files WHERE plan_id = $1 AND status = 'failed' AND error IS NOT NULL ORDER BY key LIMIT 1", [id]),
    ]);
    const n = (st: string): number => Number(counts.find((c) => c.status === st)?.n ?? 0);
    const copiedBytes = Number(counts.find((c) => c.status === 'copied')?.bytes ?? 0);
    const verify = row.verify === null ? null : json<VerifyResult>(row.verify);
    return {
      id, from: plan.from, to: plan.to, datasets: plan.datasets, createdAt: plan.createdAt,
      running: lease_[0]?.running === true || this.#live.has(id),
      files: { total: plan.files.length, copied: n('copied'), pending: n('pending'), failed: n('failed') },
      bytes: { total: plan.totalBytes, copied: copiedBytes },
      live: this.#live.get(id) ?? null,
      checksFailed: plan.checks.filter((c) => !c.ok).length,
      verified: verify === null || row.verified_at === null ? null : { ok: verify.ok, at: new Date(row.verified_at).toISOString() },
      lastError: err[0]?.error ?? null,
    };
  }

  /**
   * Copies every file of the plan not yet journaled as copied. Killed at any moment, the next
   * run resumes: journaled files are skipped, and a file whose upload completed before the kill
   * is found whole in the target (same SHA-256) and adopted without a second copy.
   */
  async run(planId: string, o: RunOptions): Promise<RunResult> {
    const t0 = Date.now();
    const plan = await this.getPlan(planId);
    await this.#reapKilledRun(planId, o.actor);
    const failed = plan.checks.filter((c) => !c.ok);
    if (failed.length > 0) {
      const e = new AppError('invalid', `plan ${planId} failed its pre-migration checks: ${failed.map((c) => `${c.check}: ${c.detail}`).join('; ')}`, { hint: 'fix the cause and make a new plan: enclave migrate plan' });
      await this.#refused('migrate.run', planId, o.actor, e);
      throw e;
    }
    const planned = new Map(plan.files.map((f) => [f.key, f]));
    const from = this.#d.stores.get(plan.from);
    const to = this.#d.stores.get(plan.to);
    const owner = `run_${randomBytes(6).toString('hex')}`;
    const lease = this.#d.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    await this.#d.audit.transaction({ actor: o.actor, action: 'migrate.run.start', target: `migration:${planId}`, details: { owner } }, async (tx) => {
      const got = await tx.query<{ id: string }>(
        'UPDATE migration_plans SET run_owner = $2, run_heartbeat = now(), verify = NULL, verified_at = NULL WHERE id = $1 AND (run_owner IS NULL OR run_heartbeat < now() - make_interval(secs => $3)) RETURNING id',
        [planId, owner, lease],
      );
      if (got.length === 0) throw new AppError('conflict', `plan ${planId} is being run by another process`, { hint: `wait for it, or retry after ${lease} s if that process was killed` });
      await tx.query("UPDATE migration_files SET status = 'pending', error = NULL WHERE plan_id = $1 AND status = 'failed'", [planId]);
    });
    const heartbeat = setInterval(() => {
      this.#d.db.query('UPDATE migration_plans SET run_heartbeat = now() WHERE id = $1 AND run_owner = $2', [planId, owner]).catch(() => undefined);
    }, Math.max(lease * 250, 200));
    heartbeat.unref();

    const rows = await this.#d.db.query<{ key: string; bytes: string; sha256: string; status: string }>('SELECT key, bytes, sha256, status FROM migration_files WHERE plan_id = $1 ORDER BY key', [planId]);
    const todo = rows.filter((r) => r.status !== 'copied');
    const bytesTotal = rows.reduce((s, r) => s + Number(r.bytes), 0);
    let bytesDone = rows.filter((r) => r.status === 'copied').reduce((s, r) => s + Number(r.bytes), 0);
    let filesDone = rows.length - todo.length;
    let copied = 0;
    let adopted = 0;
    let bytesCopied = 0;
    let partsResumed = 0;
    const throttle = o.maxBytesPerSecond === undefined ? undefined : new Throttle(o.maxBytesPerSecond);
    let stop: unknown;
    const progress = (file?: string): void => {
      const p = { bytesDone, bytesTotal, filesDone, filesTotal: rows.length, ...(file === undefined ? {} : { file }) };
      this.#live.set(planId, p);
      o.onProgress?.(p);
    };
    progress();

    // What the target holds already, listed once (a HEAD per file costs a round trip each on S3);
    // a retry, or a run whose listing failed, asks again for its one file.
    const listed = (async () => {
      const sizes = new Map<string, number>();
      if (todo.length > 0) for (const root of this.#roots(plan, plan.datasets).keys()) for (const e of await to.list(root)) sizes.set(e.key, e.bytes);
      return sizes;
    })().catch(() => undefined);
    // Group commit of the journal: a file copied while a write is in flight joins the next one,
    // so a run writes one statement per batch instead of one per file. Each file's copy waits
    // for its batch (and afterFile) before the next file starts, so the journal never lags the
    // target by more than the files in flight: a kill leaves those to be found whole and adopted.
    const batch: Array<{ key: string; copies: number; attempts: number; done: () => void; failed: (e: unknown) => void }> = [];
    let writing: Promise<void> | undefined;
    const drain = async (): Promise<void> => {
      while (batch.length > 0) {
        const b = batch.splice(0);
        try {
          await this.#d.db.query(
            `UPDATE migration_files m SET status = 'copied', copies = m.copies + u.copies, attempts = m.attempts + u.attempts, copied_at = now(), error = NULL
             FROM unnest($2::text[], $3::int[], $4::int[]) AS u(key, copies, attempts) WHERE m.plan_id = $1 AND m.key = u.key`,
            [planId, b.map((x) => x.key), b.map((x) => String(x.copies)), b.map((x) => String(x.attempts))],
          );
        } catch (e) {
          for (const x of b) x.failed(e);
          continue;
        }
        for (const x of b) x.done();
      }
      writing = undefined;
    };
    const journalCopied = (key: string, copies: number, attempts: number): Promise<void> => new Promise((done, failed) => {
      batch.push({ key, copies, attempts, done, failed });
      writing ??= drain();
    });

    const copyOne = async (r: { key: string; bytes: string; sha256: string }): Promise<void> => {
      const expect = { sha256: r.sha256, bytes: Number(r.bytes) };
      let attempts = 0;
      let inFlight = 0;
      const mode = await withRetry(async () => {
        attempts++;
        bytesDone -= inFlight;
        inFlight = 0;
        const sizes = attempts === 1 ? await listed : undefined;
        if ((sizes === undefined ? await to.size(r.key) : sizes.get(r.key)) === expect.bytes) {
          const got = await hashObject(to, r.key);
          if (got.sha256 === expect.sha256) {
            // Adopting reads nothing from the source: make sure it still holds what was planned.
            await sourceUnchanged(from, r.key, expect, planned.get(r.key)?.tag);
            return 'adopted' as const;
          }
        }
        const journal = this.#uploadJournal(planId, r.key, async (n, resumed) => {
          if (resumed) partsResumed++;
          await o.onPart?.(r.key, n, resumed);
        });
        // Not fsynced one by one: the switch makes the target durable before anything reads it
        // (#switch), and until then a file lost to a crash is found by verify and copied again.
        await copyObject(from, to, r.key, r.key, expect, { throttle, journal, durable: false, onBytes: (n) => { inFlight += n; bytesDone += n; progress(r.key); } });
        return 'copied' as const;
      }, {
        attempts: o.attempts ?? 5,
        baseDelayMs: o.retryBaseMs ?? 500,
        onRetry: (attempt, e) => o.onRetry?.(r.key, attempt, isAppError(e) ? e.message : String(e)),
      }).catch(async (e: unknown) => {
        const msg = isAppError(e) ? e.message : 'copy failed';
        await this.#d.db.query("UPDATE migration_files SET status = 'failed', attempts = attempts + $3, error = $4 WHERE plan_id = $1 AND key = $2", [planId, r.key, attempts, msg]);
        if (isAppError(e) && e.code === 'integrity') {
          throw new AppError('integrity', `source file ${r.key} changed since plan ${planId} was made: ${e.message}`, { hint: 'nothing wrong was written to the target; find why the source changed, then make a new plan', cause: e });
        }
        if (isAppError(e) && e.code === 'unavailable') {
          throw new AppError('unavailable', `copy of ${r.key} failed after ${attempts} attempts: ${e.message}`, { hint: `files copied so far are journaled; when the store is back, resume with: enclave migrate run ${planId}`, cause: e });
        }
        throw e;
      });
      if (mode === 'adopted') {
        adopted++;
        bytesDone += expect.bytes - inFlight;
      } else {
        copied++;
        bytesCopied += expect.bytes;
      }
      await journalCopied(r.key, mode === 'copied' ? 1 : 0, attempts);
      filesDone++;
      progress(r.key);
      await o.afterFile?.(r.key);
    };

    let next = 0;
    const worker = async (): Promise<void> => {
      while (stop === undefined) {
        const r = todo[next++];
        if (r === undefined) return;
        try {
          await copyOne(r);
        } catch (e) {
          stop ??= e;
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 4) }, worker));
    } finally {
      clearInterval(heartbeat);
      this.#live.delete(planId);
    }
    const result: RunResult = { planId, copied, adopted, skipped: rows.length - todo.length, bytesCopied, partsResumed, seconds: (Date.now() - t0) / 1000 };
    if (stop !== undefined) {
      await this.#d.db.query('UPDATE migration_plans SET run_owner = NULL WHERE id = $1 AND run_owner = $2', [planId, owner]);
      await this.#d.audit.record({ actor: o.actor, action: 'migrate.run', target: `migration:${planId}`, outcome: 'failure', details: { copied, adopted, errorCode: isAppError(stop) ? stop.code : 'internal' } });
      throw stop instanceof Error ? stop : new AppError('internal', 'migration run failed');
    }
    await this.#d.audit.transaction({ actor: o.actor, action: 'migrate.run', target: `migration:${planId}`, details: { copied, adopted, skipped: result.skipped, bytesCopied, partsResumed, seconds: result.seconds } }, async (tx) => {
      await tx.query('UPDATE migration_plans SET run_owner = NULL WHERE id = $1 AND run_owner = $2', [planId, owner]);
    });
    return result;
  }

  /**
   * Re-reads the target once: every file's SHA-256 (so its Merkle root) against the source
   * manifest, and lists the dataset folders for objects no manifest names. The source is checked
   * cheaply (size and store tag, hashed again only if its tag changed since the plan). The
   * engine then opens each partition with the dataset key and counts its rows against the
   * manifest, on a local side; identical bytes hold identical rows, so the row-level comparison
   * of both sides is left to `mirror` (or `deep`: a fingerprint of every partition on both
   * sides). A file found wrong goes back to `pending` in the journal, so the next run copies it
   * again. A data fault is a difference naming the file, never a crash; every attempt is audited.
   */
  async verify(planId: string, o: { readonly actor: Actor; readonly engine?: boolean; readonly deep?: boolean }): Promise<VerifyResult> {
    await this.#reapKilledRun(planId, o.actor);
    let recorded = false;
    try {
      return await this.#verify(planId, o, () => { recorded = true; });
    } catch (e) {
      if (!recorded) await this.#refused('migrate.verify', planId, o.actor, e);
      throw e;
    }
  }

  async #verify(planId: string, o: { readonly actor: Actor; readonly engine?: boolean; readonly deep?: boolean }, recording: () => void): Promise<VerifyResult> {
    const t0 = Date.now();
    const plan = await this.getPlan(planId);
    const journaled = await this.#d.db.query<{ n: string }>("SELECT count(*)::text AS n FROM migration_files WHERE plan_id = $1 AND (status = 'copied' OR copies > 0)", [planId]);
    if (plan.files.length > 0 && Number(journaled[0]?.n ?? 0) === 0) {
      throw new AppError('conflict', `plan ${planId} has not been run: there is nothing in the target to verify yet`, { hint: `run it first: enclave migrate run ${planId}` });
    }
    const from = this.#d.stores.get(plan.from);
    const to = this.#d.stores.get(plan.to);
    const roots = this.#roots(plan, plan.datasets);
    const ignorePrefixes = await this.#versionsOutside(plan, plan.datasets);
    const differences: Difference[] = [];
    const versions: DatasetVersion[] = [];
    for (const pv of plan.versions) versions.push(await this.#d.datasets.version(pv.dataset, pv.version));
    const src = await checkStore(from, plan.files, { roots, hash: 'changed', ignorePrefixes });
    const sourceBad = new Set(src.problems.map((p) => p.where));
    for (const p of src.problems) differences.push({ ...p, problem: `source ${p.problem} (changed since plan ${planId}: make a new plan once the source is right)` });

    const session = o.engine !== false ? await this.#d.engine.session() : undefined;
    try {
      const keyNames = new Map<string, string>();
      for (const v of versions) if (session !== undefined && !keyNames.has(v.dataset)) keyNames.set(v.dataset, await this.#registerKey(session, v.dataset));
      // One file at a time, pinned in the read cache only while it is read; a remote target is
      // downloaded afresh (never a cached copy), its SHA-256 checked in the stream.
      const read = async (key: string, f: { bytes: number; sha256: string }, dataset: string, side: 'source' | 'target'): Promise<{ rows: number; fp: string } | { error: string }> => {
        if (session === undefined) return { error: 'no engine' };
        try {
          return await this.#d.locations.withLease(async () => fingerprint(session, await this.#d.locations.localFile(side === 'source' ? plan.from : plan.to, key, f.bytes, f.sha256, { fresh: side === 'target' }), keyNames.get(dataset) ?? '', o.deep !== true));
        } catch (e) {
          if (isAppError(e) && e.code === 'unavailable') throw e;
          return { error: firstLine(e) };
        }
      };
      // Bytes mode counts rows from footers on one local side: the target when it is local, else
      // the source. Those counts run while the workers hash the target (the engine reads a few KB
      // per file, the hash every byte); a file the hash then finds wrong is counted again on the
      // other side below.
      const side0 = (key: string): 'source' | 'target' | undefined => (to.localPath(key) !== undefined ? 'target' : sourceBad.has(key) ? undefined : 'source');
      let engineFailed: unknown;
      const early = session === undefined || o.deep === true ? undefined : (async () => {
        const out = new Map<string, { rows: number; fp: string } | { error: string }>();
        for (const v of versions) {
          for (const f of v.manifest.files) {
            const key = `${v.prefix}/${f.path}`;
            const side = side0(key);
            if (side !== undefined) out.set(key, await read(key, f, v.dataset, side));
          }
        }
        return out;
      })().catch((e: unknown) => { engineFailed = e; return undefined; });
      // The counts finish before the session can close, whatever the hashing does.
      const tgt = await checkStore(to, plan.files, { roots, hash: 'always', ignorePrefixes }).finally(() => early);
      const counted = await early;
      if (engineFailed !== undefined) throw engineFailed instanceof Error ? engineFailed : new AppError('internal', 'row counts failed');
      differences.push(...tgt.problems);
      for (const u of tgt.unexpected) differences.push({ ...u, problem: `${u.problem}: remove it, or find who wrote it` });
      const wrong = new Set(tgt.problems.map((p) => p.where));
      for (const key of wrong) {
        await this.#d.db.query("UPDATE migration_files SET status = 'pending', error = 'failed verification' WHERE plan_id = $1 AND key = $2", [planId, key]);
      }

      const merkleRoots: Array<{ dataset: string; version: number; expected: string; target: string; ok: boolean }> = [];
      for (const v of versions) {
        // Leaves as the target holds them: the manifest entry with the hash actually read back.
        const leaves = v.manifest.files.map((f) => hashLeaf(Buffer.from(canonicalJson({ ...f, sha256: tgt.hashed.get(`${v.prefix}/${f.path}`) ?? 'missing' }))));
        const root = rootFromLeafHashes(leaves).toString('hex');
        merkleRoots.push({ dataset: v.dataset, version: v.version, expected: v.merkleRoot, target: root, ok: root === v.merkleRoot });
        if (root !== v.merkleRoot) differences.push({ dataset: v.dataset, version: v.version, where: 'Merkle root', problem: `target ${root.slice(0, 16)}…, manifest ${v.merkleRoot.slice(0, 16)}…` });
      }
      const partitions: PartitionCheck[] = [];
      if (session !== undefined) {
        for (const v of versions) {
          for (const f of v.manifest.files) {
            const key = `${v.prefix}/${f.path}`;
            const where = `${f.table} year ${f.year} (${key})`;
            const srcOk = !sourceBad.has(key);
            const tgtOk = !wrong.has(key);
            const readOr = async (side: 'source' | 'target', bad: string): Promise<{ rows: number; fp: string }> => {
              const r = await read(key, f, v.dataset, side);
              if ('rows' in r) return r;
              differences.push({ dataset: v.dataset, version: v.version, where: key, problem: `the engine cannot read the ${side} file with the dataset key: ${r.error}` });
              return { rows: -1, fp: bad };
            };
            if (o.deep === true) {
              const s = srcOk ? await readOr('source', 'unreadable') : { rows: -1, fp: 'changed' };
              const t = tgtOk ? await readOr('target', 'unreadable') : { rows: -1, fp: 'unreadable' };
              const ok = s.rows === f.rows && t.rows === f.rows && s.fp === t.fp;
              partitions.push({ dataset: v.dataset, version: v.version, table: f.table, year: f.year, file: f.path, rows: { manifest: f.rows, source: s.rows, target: t.rows }, fingerprint: { source: s.fp, target: t.fp }, ok });
              if (!ok && srcOk && tgtOk) differences.push({ dataset: v.dataset, version: v.version, where, problem: `rows manifest ${f.rows} / source ${s.rows} / target ${t.rows}; fingerprint ${s.fp === t.fp ? 'equal' : 'differs'}` });
              continue;
            }
            // Bytes equal to the manifest on both sides: count the rows on a local side (the
            // encrypted footer only), the target when it is local, else the source.
            const side: 'source' | 'target' | undefined = tgtOk && to.localPath(key) !== undefined ? 'target' : srcOk ? 'source' : tgtOk ? 'target' : undefined;
            const pre = side !== undefined && side === side0(key) ? counted?.get(key) : undefined;
            let n: { rows: number; fp: string };
            if (side === undefined) n = { rows: -1, fp: '' };
            else if (pre !== undefined && 'rows' in pre) n = pre;
            else if (pre !== undefined) {
              differences.push({ dataset: v.dataset, version: v.version, where: key, problem: `the engine cannot read the ${side} file with the dataset key: ${pre.error}` });
              n = { rows: -1, fp: 'unreadable' };
            } else n = await readOr(side, 'unreadable');
            const sha = `sha256:${f.sha256.slice(0, 16)}`;
            const ok = srcOk && tgtOk && n.rows === f.rows;
            partitions.push({ dataset: v.dataset, version: v.version, table: f.table, year: f.year, file: f.path, rows: { manifest: f.rows, source: srcOk ? n.rows : -1, target: tgtOk ? n.rows : -1 }, fingerprint: { source: srcOk ? sha : 'changed', target: tgtOk ? sha : 'differs' }, ok });
            if (!ok && srcOk && tgtOk && n.rows >= 0) differences.push({ dataset: v.dataset, version: v.version, where, problem: `rows manifest ${f.rows} / ${side ?? '?'} ${n.rows}` });
          }
        }
      }
      return await this.#recordVerify(planId, plan, o, recording, { t0, differences, merkleRoots, partitions, tgt, src });
    } finally {
      session?.close();
    }
  }

  async #recordVerify(
    planId: string,
    plan: MigrationPlan,
    o: { readonly actor: Actor; readonly deep?: boolean },
    recording: () => void,
    r: { t0: number; differences: Difference[]; merkleRoots: VerifyResult['merkleRoots']; partitions: PartitionCheck[]; tgt: StoreCheck; src: StoreCheck },
  ): Promise<VerifyResult> {
    const { t0, differences, merkleRoots, partitions, tgt, src } = r;
    const datasets: Record<string, boolean> = {};
    for (const ds of plan.datasets) datasets[ds] = !differences.some((d) => d.dataset === ds || d.dataset === '?');
    const result: VerifyResult = {
      planId, ok: differences.length === 0, filesChecked: plan.files.length, bytesChecked: tgt.bytesHashed, merkleRoots, partitions, differences, datasets,
      seconds: (Date.now() - t0) / 1000, mode: o.deep === true ? 'deep' : 'bytes', targetTags: tgt.tags, sourceTags: src.tags,
    };
    recording();
    await this.#d.audit.transaction({ actor: o.actor, action: 'migrate.verify', target: `migration:${planId}`, details: { ok: result.ok, files: plan.files.length, differences: differences.length, partitions: partitions.length, unexpected: tgt.unexpected.length, where: [...new Set(differences.map((d) => d.where))].slice(0, 20) } }, async (tx) => {
      await tx.query('UPDATE migration_plans SET verify = $2, verified_at = now() WHERE id = $1', [planId, JSON.stringify(result)]);
    });
    return result;
  }

  /**
   * The mirror environments of the parallel period: the same queries on both locations, for
   * every version the plan moved, their results reduced to an order-independent fingerprint
   * (row count + sum of row hashes).
   */
  async mirror(planId: string, o: { readonly actor: Actor; readonly queries?: readonly string[] }): Promise<MirrorResult> {
    let recorded = false;
    try {
      return await this.#mirror(planId, o, () => { recorded = true; });
    } catch (e) {
      if (!recorded) await this.#refused('migrate.mirror', planId, o.actor, e);
      throw e;
    }
  }

  async #mirror(planId: string, o: { readonly actor: Actor; readonly queries?: readonly string[] }, recording: () => void): Promise<MirrorResult> {
    const plan = await this.getPlan(planId);
    const out: MirrorQueryResult[] = [];
    for (const pv of plan.versions) {
      const ds = pv.dataset;
      const v = await this.#d.datasets.version(ds, pv.version);
      const tables = new Set(v.manifest.files.map((f) => f.table));
      const queries = [
        ...DEFAULT_MIRROR_QUERIES.filter((q) => q.tables.every((t) => tables.has(t))).map((q) => ({ name: q.name, sql: q.sql })),
        ...[...tables].sort().map((t) => ({ name: `all of ${t}`, sql: `SELECT * FROM ds."${t}"` })),
        ...(o.queries ?? []).map((sql, i) => ({ name: `query ${i + 1}`, sql })),
      ];
      // Both locations attached whole: their cached files stay pinned until both sessions close.
      await this.#d.locations.withLease(async () => {
        const a = await this.#d.engine.session();
        const b = await this.#d.engine.session();
        try {
          await this.#d.datasets.attachVersion(a, v, 'ds', { storeId: plan.from });
          await this.#d.datasets.attachVersion(b, v, 'ds', { storeId: plan.to });
          for (const q of queries) {
            const fp = async (s: EngineSession): Promise<string> => {
              try {
                const [r] = await s.all<{ n: bigint; fp: string }>(`SELECT count(*) AS n, coalesce(sum(hash(q)), 0)::VARCHAR AS fp FROM (${q.sql.replace(/;\s*$/, '')}) q`);
                return `${r?.n ?? 0n}:${r?.fp ?? ''}`;
              } catch (e) {
                return `error: ${e instanceof Error ? e.message.split('\n')[0] ?? '' : 'failed'}`;
              }
            };
            const source = await fp(a);
            const target = await fp(b);
            out.push({ dataset: ds, version: v.version, name: q.name, sql: q.sql, source, target, ok: source === target && !source.startsWith('error') });
          }
        } finally {
          a.close();
          b.close();
        }
      });
    }
    const result: MirrorResult = { planId, ok: out.every((q) => q.ok), queries: out };
    recording();
    await this.#d.audit.transaction({ actor: o.actor, action: 'migrate.mirror', target: `migration:${planId}`, details: { ok: result.ok, queries: out.length, versions: plan.versions.length, differing: out.filter((q) => !q.ok).length } }, async (tx) => {
      await tx.query('UPDATE migration_plans SET mirror = $2 WHERE id = $1', [planId, JSON.stringify(result)]);
    });
    return result;
  }

  /**
   * Switches the active location of each dataset of the plan (or one) to the target, one atomic
   * audited step per dataset; then writes a signed report. Refused unless the last verify of the
   * plan was green for the dataset, the target holds now every file as verified (checkStore: each
   * present, of its size and store tag, anything rewritten hashed again, nothing unexpected) and
   * no version was added since the plan.
   */
  async cutover(planId: string, o: { readonly actor: Actor; readonly dataset?: string }): Promise<SignedReport> {
    return this.#switch(planId, 'cutover', o);
  }

  /**
   * Switches back to the source, after the same check of the source as cutover makes of the
   * target; refused if a version was published on the target since the cutover.
   */
  async rollback(planId: string, o: { readonly actor: Actor; readonly dataset?: string }): Promise<SignedReport> {
    return this.#switch(planId, 'rollback', o);
  }

  async #switch(planId: string, kind: 'cutover' | 'rollback', o: { readonly actor: Actor; readonly dataset?: string }): Promise<SignedReport> {
    await this.#reapKilledRun(planId, o.actor);
    const row = await this.#row(planId);
    const plan = json<MigrationPlan>(row.plan);
    const verify = row.verify === null ? null : json<VerifyResult>(row.verify);
    const datasets = o.dataset === undefined ? plan.datasets : [o.dataset];
    const [fromId, toId] = kind === 'cutover' ? [plan.from, plan.to] : [plan.to, plan.from];
    let check: SwitchCheck;
    try {
      for (const ds of datasets) {
        if (!plan.datasets.includes(ds)) throw new AppError('invalid', `dataset ${ds} is not in plan ${planId}`, { hint: `the plan covers: ${plan.datasets.join(', ')}` });
        if (kind === 'cutover' && verify?.datasets[ds] !== true) {
          throw new AppError('conflict', `dataset ${ds} has not passed verification for plan ${planId}`, { hint: `run: enclave migrate verify ${planId}` });
        }
      }
      // What the store switched to holds now, not what it held when it was last verified.
      const dest = this.#d.stores.get(toId);
      const tags = kind === 'cutover' ? verify?.targetTags : verify?.sourceTags;
      const files: ExpectedFile[] = plan.files.filter((f) => datasets.includes(f.dataset)).map((f) => ({ ...f, tag: tags?.[f.key] ?? (kind === 'rollback' ? f.tag : undefined) }));
      const at = new Date().toISOString();
      const found = await checkStore(dest, files, { roots: this.#roots(plan, datasets), hash: 'changed', ignorePrefixes: await this.#versionsOutside(plan, datasets) });
      const problems = [...found.problems, ...found.unexpected];
      if (problems.length > 0) {
        if (kind === 'cutover') {
          for (const p of found.problems) await this.#d.db.query("UPDATE migration_files SET status = 'pending', error = $3 WHERE plan_id = $1 AND key = $2", [planId, p.where, `found wrong at cutover: ${p.problem}`]);
        }
        throw new AppError('conflict', `${kind} of plan ${planId} refused: ${this.#d.stores.nameOf(toId)} does not hold what it must now (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.slice(0, 5).map((p) => `${p.where}: ${p.problem}`).join('; ')}`, {
          hint: kind === 'cutover' ? `missing or wrong files are pending again: enclave migrate run ${planId}, then verify; remove objects the manifests do not name` : `the dataset stays on ${this.#d.stores.nameOf(fromId)}; restore those files on ${this.#d.stores.nameOf(toId)} (or plan a migration back from ${this.#d.stores.nameOf(fromId)}), then roll back`,
        });
      }
      // Copies were not fsynced one by one (run): on stable storage before readers depend on them.
      await dest.sync(files.map((f) => f.key));
      check = { store: dest.id, at, files: files.length, rehashed: found.filesHashed };
    } catch (e) {
      await this.#refused(`migrate.${kind}`, planId, o.actor, e, { from: fromId, to: toId });
      throw e;
    }
    for (const ds of datasets) {
      await this.#d.audit.transaction({ actor: o.actor, action: `migrate.${kind}`, target: `dataset:${ds}`, details: { planId, from: fromId, to: toId, checkedAt: check.at, filesChecked: check.files, rehashed: check.rehashed } }, async (tx) => {
        const cur = await this.#d.locations.lockActive(tx, ds);
        const versions = await this.#d.datasets.placed(tx, ds);
        const active = cur ?? versions[0]?.storeId;
        if (active !== fromId) throw new AppError('conflict', `dataset ${ds} is active on ${this.#d.stores.nameOf(active ?? '?')}, not on ${this.#d.stores.nameOf(fromId)}`, { hint: kind === 'cutover' ? 'it was already switched' : 'nothing to roll back' });
        const planned = new Set(plan.versions.filter((v) => v.dataset === ds).map((v) => v.version));
        const extra = versions.filter((v) => !planned.has(v.version)).map((v) => v.version);
        if (extra.length > 0) {
          throw new AppError('conflict', `dataset ${ds} has version(s) ${extra.join(', ')} that plan ${planId} did not copy`, { hint: kind === 'cutover' ? 'make a new plan that includes them' : `those exist only on ${this.#d.stores.nameOf(fromId)}: plan a migration back instead` });
        }
        await this.#d.locations.switchActive(tx, ds, toId, planId);
      });
    }
    return this.report(planId, { actor: o.actor, kind, check });
  }

  /** Builds the migration report (JSON + readable summary), signs it and records it in the audit log. */
  async report(planId: string, o: { readonly actor: Actor; readonly kind?: string; readonly check?: SwitchCheck }): Promise<SignedReport> {
    const row = await this.#row(planId);
    const verifiedAt = row.verified_at === null ? null : new Date(row.verified_at).toISOString();
    const plan = json<MigrationPlan>(row.plan);
    const verify = row.verify === null ? null : json<VerifyResult>(row.verify);
    const mirror = row.mirror === null ? null : json<MirrorResult>(row.mirror);
    const journal = await this.#d.db.query<{ status: string; n: string; bytes: string; copies: string }>('SELECT status, count(*)::text AS n, sum(bytes)::text AS bytes, sum(copies)::text AS copies FROM migration_files WHERE plan_id = $1 GROUP BY status', [planId]);
    const locations: Record<string, string> = {};
    for (const ds of plan.datasets) locations[ds] = (await this.#d.locations.active(ds)) ?? plan.from;
    const kind = o.kind ?? 'status';
    const report = {
      format: 'enclave-migration-report/1', kind, planId, from: plan.from, to: plan.to, createdAt: new Date().toISOString(), actor: o.actor.id,
      versions: plan.versions.map((v) => ({ dataset: v.dataset, version: v.version, merkleRoot: v.merkleRoot, files: v.files, bytes: v.bytes })),
      journal: journal.map((j) => ({ status: j.status, files: Number(j.n), bytes: Number(j.bytes), copies: Number(j.copies) })),
      check: o.check === undefined ? null : { ...o.check },
      verify: verify === null ? null : { at: verifiedAt, store: plan.to, mode: verify.mode ?? 'deep', ok: verify.ok, files: verify.filesChecked, bytes: verify.bytesChecked, partitions: verify.partitions.length, differences: verify.differences.slice(0, 100) as unknown as JsonValue, merkleRoots: verify.merkleRoots as unknown as JsonValue },
      mirror: mirror === null ? null : { ok: mirror.ok, queries: mirror.queries.length, differing: mirror.queries.filter((q) => !q.ok).map((q) => q.name) },
      locations,
    } satisfies Record<string, JsonValue>;
    const sha256 = createHash('sha256').update(canonicalJson(report)).digest('hex');
    const copiedFiles = report.journal.find((j) => j.status === 'copied');
    const summary = [
      `Enclave migration report (${kind})`,
      `plan ${planId}`,
      `from ${plan.from}`,
      `to ${plan.to}`,
      ...plan.versions.map((v) => `${v.dataset} v${v.version}: ${v.files} files, ${v.bytes} bytes, Merkle root ${v.merkleRoot}`),
      `copied ${copiedFiles?.files ?? 0} of ${plan.files.length} files`,
      // Green only about a store as it was checked: the switch check is of this moment, verify of its own.
      ...(o.check === undefined ? [] : [`${kind} check of ${o.check.store} at ${o.check.at}: green (${o.check.files} files present with their verified size and checksum, ${o.check.rehashed} hashed again, nothing unexpected)`]),
      `verify of ${plan.to}${verifiedAt === null ? '' : ` at ${verifiedAt}`}: ${verify === null ? 'not run' : verify.ok ? `green (${verify.filesChecked} files, ${verify.partitions.length} partitions reconciled)` : `${verify.differences.length} differences`}`,
      `mirror: ${mirror === null ? 'not run' : mirror.ok ? `green (${mirror.queries.length} queries equal)` : `${mirror.queries.filter((q) => !q.ok).length} queries differ`}`,
      ...Object.entries(locations).map(([ds, s]) => `${ds} active on ${s}`),
      `report sha256 ${sha256}`,
    ].join('\n').replace(/[\u0000-\u0009\u000b-\u001f]/g, '?') + '\n';
    const note = signNote(summary, [this.#d.signer]);
    await this.#d.audit.transaction({ actor: o.actor, action: 'migrate.report', target: `migration:${planId}`, details: { kind, sha256, note } }, async (tx) => {
      await tx.query('INSERT INTO migration_reports (plan_id, kind, report, sha256, note) VALUES ($1, $2, $3, $4, $5)', [planId, kind, JSON.stringify(report), sha256, note]);
    });
    return { planId, kind, report, sha256, summary, note };
  }

  /** The folder of each dataset of the plan (among `datasets`), listed to find objects no manifest names. */
  #roots(plan: MigrationPlan, datasets: readonly string[]): Map<string, string> {
    return new Map(plan.versions.filter((v) => datasets.includes(v.dataset)).map((v) => [datasetRoot(v.prefix), v.dataset]));
  }

  /** Folders of recorded versions the plan does not cover (published after it): the version check reports them, not the object listing. */
  async #versionsOutside(plan: MigrationPlan, datasets: readonly string[]): Promise<string[]> {
    const rows = await this.#d.db.query<{ dataset: string; version: number; prefix: string }>('SELECT dataset, version, prefix FROM dataset_versions WHERE dataset = ANY($1::text[])', [[...datasets]]);
    return rows.filter((r) => !plan.versions.some((v) => v.dataset === r.dataset && v.version === r.version)).map((r) => r.prefix);
  }

  /** An attempt that was refused or failed before it could record its own event: every attempt is in the log. */
  async #refused(action: string, planId: string, actor: Actor, e: unknown, details: Readonly<Record<string, JsonValue>> = {}): Promise<void> {
    const code = isAppError(e) ? e.code : 'internal';
    await this.#d.audit.record({
      actor, action, target: `migration:${planId}`, outcome: code === 'forbidden' || code === 'unauthenticated' ? 'denied' : 'failure',
      details: { ...details, planId, error: code, reason: isAppError(e) ? e.message.slice(0, 2000) : 'unexpected error' },
    }).catch(() => undefined);
  }

  /**
   * A run whose lease expired without an end was killed (SIGKILL, power loss) and could not
   * record it: the first command to notice records it for it, then frees the plan.
   */
  async #reapKilledRun(planId: string, actor: Actor): Promise<void> {
    const lease = this.#d.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
    const stale = await this.#d.db.query<{ run_owner: string }>('SELECT run_owner FROM migration_plans WHERE id = $1 AND run_owner IS NOT NULL AND run_heartbeat < now() - make_interval(secs => $2)', [planId, lease]);
    const owner = stale[0]?.run_owner;
    if (owner === undefined) return;
    // Recorded first: a crash between the two records it twice, never not at all.
    await this.#d.audit.record({ actor, action: 'migrate.run', target: `migration:${planId}`, outcome: 'failure', details: { owner, error: 'interrupted', reason: `run ${owner} stopped renewing its lease for over ${lease} s without finishing: it was killed` } });
    await this.#d.db.query('UPDATE migration_plans SET run_owner = NULL WHERE id = $1 AND run_owner = $2 AND run_heartbeat < now() - make_interval(secs => $3)', [planId, owner, lease]);
  }

  async #row(id: string): Promise<PlanRow> {
    const rows = await this.#d.db.query<PlanRow>('SELECT id, from_store, to_store, plan, run_owner, verify, verified_at, mirror FROM migration_plans WHERE id = $1', [id]);
    const r = rows[0];
    if (r === undefined) throw new AppError('not_found', `no migration plan ${id}`, { hint: 'make one with: enclave migrate plan --from local --to s3' });
    return r;
  }

  /** The multipart journal of one file of a plan, in the metadata database (0012_migrate_multipart.sql). */
  #uploadJournal(planId: string, key: string, onPart: (partNumber: number, resumed: boolean) => Promise<void>): UploadJournal {
    const db = this.#d.db;
    return {
      async load() {
        const [u] = await db.query<{ upload_id: string; part_size: string }>('SELECT upload_id, part_size FROM migration_uploads WHERE plan_id = $1 AND key = $2', [planId, key]);
        if (u === undefined) return undefined;
        const parts = await db.query<{ part_number: number; etag: string; bytes: string; sha256: string }>('SELECT part_number, etag, bytes, sha256 FROM migration_upload_parts WHERE plan_id = $1 AND key = $2 ORDER BY part_number', [planId, key]);
        return { uploadId: u.upload_id, partSize: Number(u.part_size), parts: parts.map((p): UploadPart => ({ partNumber: p.part_number, etag: p.etag, bytes: Number(p.bytes), sha256: p.sha256 })) };
      },
      async begin(uploadId, partSize) {
        await db.query('DELETE FROM migration_uploads WHERE plan_id = $1 AND key = $2', [planId, key]);
        await db.query('INSERT INTO migration_uploads (plan_id, key, upload_id, part_size) VALUES ($1, $2, $3, $4)', [planId, key, uploadId, partSize]);
      },
      async part(p, resumed) {
        if (!resumed) {
          await db.query(
            `INSERT INTO migration_upload_parts (plan_id, key, part_number, etag, bytes, sha256) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (plan_id, key, part_number) DO UPDATE SET etag = EXCLUDED.etag, bytes = EXCLUDED.bytes, sha256 = EXCLUDED.sha256`,
            [planId, key, p.partNumber, p.etag, p.bytes, p.sha256],
          );
        }
        await onPart(p.partNumber, resumed);
      },
      async end() {
        await db.query('DELETE FROM migration_uploads WHERE plan_id = $1 AND key = $2', [planId, key]);
      },
    };
  }

  async #registerKey(session: EngineSession, dataset: string): Promise<string> {
    const name = `mk_${dataset.replace(/[^A-Za-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
    await this.#d.keys.withDataKey('dataset', dataset, 'encryption', (key) => session.addParquetKey(name, key));
    return name;
  }
}

/** Fails with `integrity` when the source object is gone or no longer holds the planned bytes (hashed only if its tag changed). */
async function sourceUnchanged(from: Store, key: string, expect: { sha256: string; bytes: number }, tag: string | undefined): Promise<void> {
  const st = await from.stat(key);
  if (st === undefined) throw new AppError('integrity', `it is no longer in ${from.id}`, { hint: 'the source changed since it was planned' });
  if (st.bytes !== expect.bytes) throw new AppError('integrity', `it is ${st.bytes} bytes, planned ${expect.bytes}`, { hint: 'the source changed since it was planned' });
  if (tag !== undefined && st.tag === tag) return;
  const got = await hashObject(from, key);
  if (got.sha256 !== expect.sha256 || got.bytes !== expect.bytes) throw new AppError('integrity', `it has SHA-256 ${got.sha256.slice(0, 16)}…, planned ${expect.sha256.slice(0, 16)}…`, { hint: 'the source changed since it was planned' });
}

/** The first line of an engine or store error, for a report (never row values: DuckDB names files and options, not data). */
function firstLine(e: unknown): string {
  if (isAppError(e)) return e.message;
  return e instanceof Error ? (e.message.split('\n')[0] ?? 'error') : 'error';
}

/** Row count and an order-independent fingerprint (sum of row hashes) of one Parquet file. */
async function fingerprint(session: EngineSession, path: string, keyName: string, countOnly = false): Promise<{ rows: number; fp: string }> {
  // count(*) alone reads the row groups' counts from the (encrypted) footer, not the data.
  const fp = countOnly ? "''" : 'coalesce(sum(hash(t)), 0)::VARCHAR';
  const [r] = await session.all<{ n: bigint; fp: string }>(`SELECT count(*) AS n, ${fp} AS fp FROM read_parquet(${sqlString(path)}, encryption_config = {footer_key: ${sqlString(keyName)}}) t`);
  return { rows: Number(r?.n ?? -1n), fp: r?.fp ?? '' };
}

