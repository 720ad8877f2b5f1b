import { createHash, randomBytes } from 'node:crypto';
import type { Actor, AuditLog, JsonValue, LogSigner } from '../audit/index.ts';
import { canonicalJson, hashLeaf, rootFromLeafHashes, signNote } from '../audit/index.ts';
import type { Db } from '../db/index.ts';
import { sqlString, type Engine, type EngineSession } from '../engine/index.ts';
import { AppError, isAppError } from '../errors.ts';
import type { DatasetVersion, IngestService } from '../ingest/index.ts';
import type { KeyService } from '../keys/index.ts';
import type { StoreRegistry, UploadJournal, UploadPart } from '../store/index.ts';
import { copyObject, hashObject, Throttle, withRetry } from './copy.ts';
import type { DatasetLocations } from './locations.ts';

export interface MigrationDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly keys: KeyService;
  readonly ingest: IngestService;
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
}

export interface MirrorQueryResult {
  readonly dataset: string;
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
      const vs = (await this.#d.ingest.versions(ds)).reverse();
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
        const listed = await from.list(v.prefix);
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
          files.push({ key: e.key, dataset: ds, version: v.version, bytes: got.bytes, sha256: m?.sha256 ?? got.sha256 });
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

  /**
   * Copies every file of the plan not yet journaled as copied. Killed at any moment, the next
   * run resumes: journaled files are skipped, and a file whose upload completed before the kill
   * is found whole in the target (same SHA-256) and adopted without a second copy.
   */
  async run(planId: string, o: RunOptions): Promise<RunResult> {
    const t0 = Date.now();
    const plan = await this.getPlan(planId);
    const failed = plan.checks.filter((c) => !c.ok);
    if (failed.length > 0) {
      throw new AppError('invalid', `plan ${planId} failed its pre-migration checks: ${failed.map((c) => `${c.check}: ${c.detail}`).join('; ')}`, { hint: 'fix the cause and make a new plan: enclave migrate plan' });
    }
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
    const progress = (file?: string): void => o.onProgress?.({ bytesDone, bytesTotal, filesDone, filesTotal: rows.length, ...(file === undefined ? {} : { file }) });
    progress();

    const copyOne = async (r: { key: string; bytes: string; sha256: string }): Promise<void> => {
      const expect = { sha256: r.sha256, bytes: Number(r.bytes) };
      let attempts = 0;
      let inFlight = 0;
      const mode = await withRetry(async () => {
        attempts++;
        bytesDone -= inFlight;
        inFlight = 0;
        if ((await to.size(r.key)) === expect.bytes) {
          const got = await hashObject(to, r.key);
          if (got.sha256 === expect.sha256) return 'adopted' as const;
        }
        const journal = this.#uploadJournal(planId, r.key, async (n, resumed) => {
          if (resumed) partsResumed++;
          await o.onPart?.(r.key, n, resumed);
        });
        await copyObject(from, to, r.key, r.key, expect, { throttle, journal, onBytes: (n) => { inFlight += n; bytesDone += n; progress(r.key); } });
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
      await this.#d.db.query(
        `UPDATE migration_files SET status = 'copied', copies = copies + $3, attempts = attempts + $4, copied_at = now(), error = NULL WHERE plan_id = $1 AND key = $2`,
        [planId, r.key, mode === 'copied' ? 1 : 0, attempts],
      );
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
   * Re-reads the target: every file's SHA-256 and each version's Merkle root against the source
   * manifest; then row counts and an order-independent fingerprint per table and partition on
   * both locations through the engine. A file found wrong goes back to `pending` in the journal,
   * so the next run copies it again.
   */
  async verify(planId: string, o: { readonly actor: Actor; readonly engine?: boolean }): Promise<VerifyResult> {
    const t0 = Date.now();
    const plan = await this.getPlan(planId);
    const journaled = await this.#d.db.query<{ n: string }>("SELECT count(*)::text AS n FROM migration_files WHERE plan_id = $1 AND (status = 'copied' OR copies > 0)", [planId]);
    if (plan.files.length > 0 && Number(journaled[0]?.n ?? 0) === 0) {
      throw new AppError('conflict', `plan ${planId} has not been run: there is nothing in the target to verify yet`, { hint: `run it first: enclave migrate run ${planId}` });
    }
    const to = this.#d.stores.get(plan.to);
    const differences: Difference[] = [];
    const observed = new Map<string, string>();
    let bytesChecked = 0;
    for (const f of plan.files) {
      const got = await hashObject(to, f.key).catch((e: unknown) => {
        if (isAppError(e) && e.code === 'not_found') return undefined;
        throw e;
      });
      if (got === undefined) {
        differences.push({ dataset: f.dataset, version: f.version, where: f.key, problem: 'missing in the target' });
        continue;
      }
      bytesChecked += got.bytes;
      observed.set(f.key, got.sha256);
      if (got.bytes !== f.bytes) differences.push({ dataset: f.dataset, version: f.version, where: f.key, problem: `size ${got.bytes} bytes, expected ${f.bytes}` });
      else if (got.sha256 !== f.sha256) differences.push({ dataset: f.dataset, version: f.version, where: f.key, problem: `SHA-256 ${got.sha256.slice(0, 16)}…, expected ${f.sha256.slice(0, 16)}…` });
    }
    const wrong = [...new Set(differences.map((d) => d.where))];
    for (const key of wrong) {
      await this.#d.db.query("UPDATE migration_files SET status = 'pending', error = 'failed verification' WHERE plan_id = $1 AND key = $2", [planId, key]);
    }

    const merkleRoots: Array<{ dataset: string; version: number; expected: string; target: string; ok: boolean }> = [];
    const partitions: PartitionCheck[] = [];
    const versions: DatasetVersion[] = [];
    for (const pv of plan.versions) {
      const v = await this.#d.ingest.version(pv.dataset, pv.version);
      versions.push(v);
      // Leaves as the target holds them: the manifest entry with the hash actually read back.
      const leaves = v.manifest.files.map((f) => hashLeaf(Buffer.from(canonicalJson({ ...f, sha256: observed.get(`${v.prefix}/${f.path}`) ?? 'missing' }))));
      const root = rootFromLeafHashes(leaves).toString('hex');
      merkleRoots.push({ dataset: v.dataset, version: v.version, expected: v.merkleRoot, target: root, ok: root === v.merkleRoot });
      if (root !== v.merkleRoot) differences.push({ dataset: v.dataset, version: v.version, where: 'Merkle root', problem: `target ${root.slice(0, 16)}…, manifest ${v.merkleRoot.slice(0, 16)}…` });
    }
    if (o.engine !== false) {
      const session = await this.#d.engine.session();
      try {
        for (const v of versions) {
          const keyName = await this.#registerKey(session, v.dataset);
          for (const f of v.manifest.files) {
            const key = `${v.prefix}/${f.path}`;
            // One file at a time, each pinned in the read cache only while it is read: a remote
            // side of any size goes through a bounded cache.
            const { s, t } = await this.#d.locations.withLease(async () => ({
              s: await fingerprint(session, await this.#d.locations.localFile(plan.from, key, f.bytes, f.sha256), keyName),
              t: wrong.includes(key) ? { rows: -1, fp: 'unreadable' } : await fingerprint(session, await this.#d.locations.localFile(plan.to, key, f.bytes, f.sha256), keyName),
            }));
            const ok = s.rows === f.rows && t.rows === f.rows && s.fp === t.fp;
            partitions.push({ dataset: v.dataset, version: v.version, table: f.table, year: f.year, file: f.path, rows: { manifest: f.rows, source: s.rows, target: t.rows }, fingerprint: { source: s.fp, target: t.fp }, ok });
            if (!ok) differences.push({ dataset: v.dataset, version: v.version, where: `${f.table} year ${f.year} (${f.path})`, problem: `rows manifest ${f.rows} / source ${s.rows} / target ${t.rows}; fingerprint ${s.fp === t.fp ? 'equal' : 'differs'}` });
          }
        }
      } finally {
        session.close();
      }
    }
    const datasets: Record<string, boolean> = {};
    for (const ds of plan.datasets) datasets[ds] = !differences.some((d) => d.dataset === ds);
    const result: VerifyResult = { planId, ok: differences.length === 0, filesChecked: plan.files.length, bytesChecked, merkleRoots, partitions, differences, datasets, seconds: (Date.now() - t0) / 1000 };
    await this.#d.audit.transaction({ actor: o.actor, action: 'migrate.verify', target: `migration:${planId}`, details: { ok: result.ok, files: plan.files.length, differences: differences.length, partitions: partitions.length } }, async (tx) => {
      await tx.query('UPDATE migration_plans SET verify = $2, verified_at = now() WHERE id = $1', [planId, JSON.stringify(result)]);
    });
    return result;
  }

  /**
   * The mirror environments of the parallel period: the same queries on both locations, their
   * results reduced to an order-independent fingerprint (row count + sum of row hashes).
   */
  async mirror(planId: string, o: { readonly actor: Actor; readonly queries?: readonly string[] }): Promise<MirrorResult> {
    const plan = await this.getPlan(planId);
    const out: MirrorQueryResult[] = [];
    for (const ds of plan.datasets) {
      const latest = Math.max(...plan.versions.filter((v) => v.dataset === ds).map((v) => v.version));
      const v = await this.#d.ingest.version(ds, latest);
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
          await this.#d.ingest.attachVersion(a, v, 'ds', { storeId: plan.from });
          await this.#d.ingest.attachVersion(b, v, 'ds', { storeId: plan.to });
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
            out.push({ dataset: ds, name: q.name, sql: q.sql, source, target, ok: source === target && !source.startsWith('error') });
          }
        } finally {
          a.close();
          b.close();
        }
      });
    }
    const result: MirrorResult = { planId, ok: out.every((q) => q.ok), queries: out };
    await this.#d.audit.transaction({ actor: o.actor, action: 'migrate.mirror', target: `migration:${planId}`, details: { ok: result.ok, queries: out.length, differing: out.filter((q) => !q.ok).length } }, async (tx) => {
      await tx.query('UPDATE migration_plans SET mirror = $2 WHERE id = $1', [planId, JSON.stringify(result)]);
    });
    return result;
  }

  /**
   * Switches the active location of each dataset of the plan (or one) to the target, one atomic
   * audited step per dataset; then writes a signed report. Refused unless the last verify of the
   * plan was green for the dataset and no version was added since the plan.
   */
  async cutover(planId: string, o: { readonly actor: Actor; readonly dataset?: string }): Promise<SignedReport> {
    return this.#switch(planId, 'cutover', o);
  }

  /** Switches back to the source; refused if a version was published on the target since the cutover. */
  async rollback(planId: string, o: { readonly actor: Actor; readonly dataset?: string }): Promise<SignedReport> {
    return this.#switch(planId, 'rollback', o);
  }

  async #switch(planId: string, kind: 'cutover' | 'rollback', o: { readonly actor: Actor; readonly dataset?: string }): Promise<SignedReport> {
    const row = await this.#row(planId);
    const plan = json<MigrationPlan>(row.plan);
    const verify = row.verify === null ? null : json<VerifyResult>(row.verify);
    const datasets = o.dataset === undefined ? plan.datasets : [o.dataset];
    const [fromId, toId] = kind === 'cutover' ? [plan.from, plan.to] : [plan.to, plan.from];
    for (const ds of datasets) {
      if (!plan.datasets.includes(ds)) throw new AppError('invalid', `dataset ${ds} is not in plan ${planId}`, { hint: `the plan covers: ${plan.datasets.join(', ')}` });
      if (kind === 'cutover' && verify?.datasets[ds] !== true) {
        throw new AppError('conflict', `dataset ${ds} has not passed verification for plan ${planId}`, { hint: `run: enclave migrate verify ${planId}` });
      }
      await this.#d.audit.transaction({ actor: o.actor, action: `migrate.${kind}`, target: `dataset:${ds}`, details: { planId, from: fromId, to: toId } }, async (tx) => {
        const cur = await tx.query<{ store_id: string }>('SELECT store_id FROM dataset_locations WHERE dataset = $1 FOR UPDATE', [ds]);
        const versions = await tx.query<{ version: number; store_id: string }>('SELECT version, store_id FROM dataset_versions WHERE dataset = $1', [ds]);
        const active = cur[0]?.store_id ?? versions[0]?.store_id;
        if (active !== fromId) throw new AppError('conflict', `dataset ${ds} is active on ${this.#d.stores.nameOf(active ?? '?')}, not on ${this.#d.stores.nameOf(fromId)}`, { hint: kind === 'cutover' ? 'it was already switched' : 'nothing to roll back' });
        const planned = new Set(plan.versions.filter((v) => v.dataset === ds).map((v) => v.version));
        const extra = versions.filter((v) => !planned.has(v.version)).map((v) => v.version);
        if (extra.length > 0) {
          throw new AppError('conflict', `dataset ${ds} has version(s) ${extra.join(', ')} that plan ${planId} did not copy`, { hint: kind === 'cutover' ? 'make a new plan that includes them' : `those exist only on ${this.#d.stores.nameOf(fromId)}: plan a migration back instead` });
        }
        await tx.query(
          `INSERT INTO dataset_locations (dataset, store_id, plan_id, switched_at) VALUES ($1, $2, $3, now())
           ON CONFLICT (dataset) DO UPDATE SET store_id = EXCLUDED.store_id, plan_id = EXCLUDED.plan_id, switched_at = now()`,
          [ds, toId, planId],
        );
      });
    }
    return this.report(planId, { actor: o.actor, kind });
  }

  /** Builds the migration report (JSON + readable summary), signs it and records it in the audit log. */
  async report(planId: string, o: { readonly actor: Actor; readonly kind?: string }): Promise<SignedReport> {
    const row = await this.#row(planId);
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
      verify: verify === null ? null : { ok: verify.ok, files: verify.filesChecked, bytes: verify.bytesChecked, partitions: verify.partitions.length, differences: verify.differences.slice(0, 100) as unknown as JsonValue, merkleRoots: verify.merkleRoots as unknown as JsonValue },
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
      `verify: ${verify === null ? 'not run' : verify.ok ? `green (${verify.filesChecked} files, ${verify.partitions.length} partitions reconciled)` : `${verify.differences.length} differences`}`,
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

  async #row(id: string): Promise<PlanRow> {
    const rows = await this.#d.db.query<PlanRow>('SELECT id, from_store, to_store, plan, run_owner, verify, mirror FROM migration_plans WHERE id = $1', [id]);
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

/** Row count and an order-independent fingerprint (sum of row hashes) of one Parquet file. */
async function fingerprint(session: EngineSession, path: string, keyName: string): Promise<{ rows: number; fp: string }> {
  const [r] = await session.all<{ n: bigint; fp: string }>(`SELECT count(*) AS n, coalesce(sum(hash(t)), 0)::VARCHAR AS fp FROM read_parquet(${sqlString(path)}, encryption_config = {footer_key: ${sqlString(keyName)}}) t`);
  return { rows: Number(r?.n ?? -1n), fp: r?.fp ?? '' };
}

