import { createHash, randomBytes } from 'node:crypto';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Actor, AuditedTx, AuditLog, JsonValue } from '../audit/index.ts';
import { canonicalJson } from '../audit/index.ts';
import type { CatalogColumn, CatalogTable } from '../catalog/index.ts';
import { stagingKeyOf, type DatasetVersion, type DatasetVersions, type ManifestFile } from '../datasets/index.ts';
import type { Db } from '../db/index.ts';
import { sqlIdent, sqlString, type Engine, type EngineSession } from '../engine/index.ts';
import { AppError, isAppError } from '../errors.ts';
import type { KeyService } from '../keys/index.ts';
import type { LocalFileStore } from '../store/index.ts';
import { hashFiles, isGzipped, listInputFiles, locateRows, readHeader, stemOf, type InputFile } from './files.ts';
import { detectDelivery, type Detection } from './detect.ts';
import { tableOfFile } from './file-tables.ts';
import { DEFAULT_PROFILE, normalisedSql, profiledColumns, type DeliveryProfile } from './profile.ts';
import { chooseTypedReading, columnProofs, type ColumnProof, type LineScanEngine, type TypedReading } from './typed-reading.ts';
import { codeListOf, type ColumnSqlContext, isPseudonymised, keepsRawText, redactedShapeSql, rowHasViolationSql, rowTypedSql, rowViolationsSql, typedSql } from './rules.ts';

/** What ingestion needs of the catalogue. */
export interface IngestCatalog {
  listTables(dataset: string): Promise<readonly CatalogTable[]>;
  /** The codes of a nomenclature, or undefined when the catalogue has no code list for it. */
  nomenclatureCodes(name: string): Promise<readonly string[] | undefined>;
}

/** Writes the rows of a query as an encrypted Parquet file; returns its size and SHA-256. */
export type EncryptedParquetWriter = (session: EngineSession, selectSql: string, path: string, key: Buffer) => Promise<{ bytes: number; sha256: string }>;

/**
 * Streams a query's rows into one encrypted Parquet file per value of an integer partition
 * column (fixed in advance), in one pass and without plaintext on disk.
 */
export interface PartitionedParquetWriter {
  /** `pathOf(value)` undefined: the partition's rows are counted and dropped. */
  copy(session: EngineSession, selectSql: string, pathOf: (value: number) => string | undefined, key: Buffer): Promise<ReadonlyMap<number, { readonly rows: number; readonly file?: { readonly bytes: number; readonly sha256: string } }>>;
  close(): Promise<void>;
}

export interface IngestDeps {
  readonly db: Db;
  readonly audit: AuditLog;
  readonly keys: KeyService;
  readonly catalog: IngestCatalog;
  readonly engine: Engine;
  readonly store: LocalFileStore;
  readonly writeParquet: EncryptedParquetWriter;
  /** Opens the partition pipes a run streams its year files through: one writer per set of values. */
  readonly openPartitions: (column: string, sets: ReadonlyArray<readonly number[]>) => Promise<PartitionedParquetWriter[]>;
  /** Where runs publish their version (the datasets domain: versions, manifests, the active store). */
  readonly datasets: DatasetVersions;
  /**
   * Read clean files' plain columns with DuckDB's typed reader (default true; see typed-reading.ts).
   * False reads every file as text and checks each value in SQL: the reference the typed reading
   * is tested against.
   */
  readonly typedReading?: boolean;
  /**
   * How the typed reading's line scan runs (default `auto`: Enclave's own line automaton where the
   * file's shapes compile, else DuckDB; `verify` runs both and fails the file when they differ).
   */
  readonly lineScan?: LineScanEngine;
}

export interface IngestProgress {
  readonly phase: 'hash' | 'validate' | 'write' | 'commit';
  readonly done: number;
  readonly total: number;
  readonly file?: string;
  /** With a file's `write`: how it was read, `typed` (a clean file, see typed-reading.ts) or `text` (value by value). */
  readonly reading?: 'typed' | 'text';
  /** With a file read typed: the columns whose rules its line scan proved (left out of its row check). */
  readonly proven?: readonly string[];
}

export interface IngestOptions {
  readonly dataset: string;
  readonly inputs: readonly string[];
  readonly actor: Actor;
  readonly requestId?: string;
  readonly onProgress?: (p: IngestProgress) => void;
  /**
   * A delivered table that lands under this share of its rows (or lands nothing) refuses the whole
   * delivery (default `MIN_LANDED_SHARE`): a table mostly quarantined is a wrong catalogue or a
   * wrong profile far more often than a bad source, and publishing it would hide that.
   */
  readonly minLandedShare?: number;
  /** The operator's override: publish even when tables land under the share (audited, with the tables). */
  readonly acceptShortTables?: boolean;
  /** How the producer spells its files (separator, encoding, dates, missing values, names); default: ISO, `;`, UTF-8. */
  readonly profile?: DeliveryProfile;
  /**
   * Refuse the delivery when a foreign key between delivered tables has more than this share of
   * orphan rows (rows whose key matches no row of the referenced table). Undefined: relations
   * are measured and reported, never refused.
   */
  readonly maxOrphanShare?: number;
  /**
   * Measure the relations between delivered tables (default false). They cost a read of the key
   * columns of every referencing and referenced table after the main pass: 0.49× → 0.43× raw
   * DuckDB in `npm run bench`, so they are asked for, not paid by every delivery.
   */
  readonly checkRelations?: boolean;
  /** Test hook: called after each table file is written (crash tests kill the process here). */
  readonly afterFile?: (file: string) => void | Promise<void>;
}

export interface QuarantineEntry {
  readonly file: string;
  /** The catalogue table of the file (in the complete report). */
  readonly table?: string;
  readonly line: number;
  readonly column: string;
  readonly rule: string;
  /** The value's shape with its content removed (digits → 9, letters → A). */
  readonly value: string;
}

/** What became of one delivered table: rows in, rows landed, and why the others did not. */
export interface TableReport {
  readonly table: string;
  readonly files: readonly string[];
  /** Rows read from its files (landed + quarantined). */
  readonly rowsDelivered: number;
  readonly rowsLanded: number;
  readonly rowsQuarantined: number;
  /** Violations per column and rule (a row breaking two rules counts under each; malformed lines under `(line)`). */
  readonly violations: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface QuarantineReport {
  /** Quarantined rows. */
  readonly total: number;
  /** Violations per rule (malformed lines: rows). */
  readonly byRule: Readonly<Record<string, number>>;
  /** Quarantined rows per file. */
  readonly byFile: Readonly<Record<string, number>>;
  /** Every delivered table, those that landed nothing included, in name order. */
  readonly byTable: Readonly<Record<string, TableReport>>;
  /** The first `MAX_REPORT_ENTRIES` entries (file, line, column order); the complete list is paged by `runReport`. */
  readonly entries: readonly QuarantineEntry[];
  /** Entries in the complete report (one per bad row and violated column, and per malformed line). */
  readonly storedEntries: number;
  /** Store keys of the complete report (encrypted Parquet, one file per delivered file with bad rows). */
  readonly reportFiles: readonly string[];
  /** Foreign keys between delivered tables, measured on the landed (pseudonymised) rows. */
  readonly relations?: readonly RelationReport[];
}

/** One foreign key of the catalogue between two delivered tables, as the delivery honours it. */
export interface RelationReport {
  /** `TABLE(F1,F2) → REFERENCED(G1,G2)` */
  readonly relation: string;
  /** Landed rows whose key fields are all present. */
  readonly rowsChecked: number;
  /** Of those, rows whose key matches no landed row of the referenced table. */
  readonly orphans: number;
  /** True when rows were checked and none matched: always reported as such. */
  readonly matchesNothing: boolean;
  /** Orphan rows per delivered file (where to look). */
  readonly orphansByFile: Readonly<Record<string, number>>;
}

/** Which page of a report's entries to read. */
export interface ReportPageRequest {
  readonly offset?: number;
  readonly limit?: number;
  readonly table?: string;
  readonly column?: string;
  readonly rule?: string;
}

/** A report's complete counts and one page of its entries. */
export interface QuarantineReportPage {
  readonly runId: string;
  readonly total: number;
  readonly byRule: Readonly<Record<string, number>>;
  readonly byFile: Readonly<Record<string, number>>;
  readonly byTable: Readonly<Record<string, TableReport>>;
  readonly relations: readonly RelationReport[];
  readonly storedEntries: number;
  readonly offset: number;
  readonly limit: number;
  readonly entries: readonly QuarantineEntry[];
}

/** Tables that landed under the delivery's share of their rows: why the delivery is refused. */
export interface ShortTable {
  readonly table: string;
  readonly rowsDelivered: number;
  readonly rowsLanded: number;
  /** The most frequent reasons, `COLUMN rule ×n`. */
  readonly reasons: readonly string[];
}

export interface IngestResult {
  readonly dataset: string;
  readonly version: number;
  readonly deliveryId: string;
  /** True when this delivery was already ingested: nothing was done. */
  readonly alreadyIngested: boolean;
  readonly rowsRead: number;
  readonly rowsAccepted: number;
  readonly rowsQuarantined: number;
  readonly bytesRead: number;
  readonly seconds: number;
  readonly tables: ReadonlyArray<{ readonly table: string; readonly year: number; readonly rows: number }>;
  readonly quarantine: QuarantineReport;
  readonly merkleRoot: string;
  readonly runId: string;
}

/** Entries of the quarantine report kept in the run's result and JSON summary; the stored report is complete. */
export const MAX_REPORT_ENTRIES = 10_000;
/** Largest page of report entries served at once. */
export const MAX_REPORT_PAGE = 10_000;
/** Default share of its rows a delivered table must land, or the delivery is refused. */
export const MIN_LANDED_SHARE = 0.9;
/** A run whose heartbeat is older than this is considered dead (killed) and may be replaced. */
export const RUN_LEASE_SECONDS = 60;
export const CSV_DELIMITER = ';';
/** Years written to their own file; a row whose year is missing or outside goes to year 0. */
export const YEAR_MIN = 1900;
export const YEAR_MAX = 2100;
/** The partition of rows that break a rule: read back from the pipe and dropped. */
const REJECTED = -1;
const PARTITION_COLUMN = '__part';
const PARTITION_VALUES: readonly number[] = [REJECTED, 0, ...Array.from({ length: YEAR_MAX - YEAR_MIN + 1 }, (_, k) => YEAR_MIN + k)];

/** Files processed at once by one ingestion run (engine sessions taking files in turn). */
const INGEST_LANES = 2;
/** Rows a partition of a partitioned write buffers before DuckDB writes them: one row group (DuckDB's default size). */
const PARTITION_FLUSH_ROWS = 122_880;

/** One engine session of a run, with its own pipes and its own pseudonym table. */
interface Lane {
  readonly session: EngineSession;
  readonly pipeSets: LanePipes;
  cached: number;
}

/** The run's pseudonyms of referenced identifiers (raw value, HMAC), kept in the engine's memory only. */
const PSEUDONYMS = 'enclave_pseudonyms';

/**
 * Pseudonymised columns that other tables of the delivery reference by foreign key, per table:
 * their values are hashed once, and the referencing rows look them up.
 */
export function pseudonymSources(tables: readonly CatalogTable[]): Map<string, Set<string>> {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const out = new Map<string, Set<string>>();
  for (const t of tables) {
    for (const fk of t.foreignKeys) {
      const target = byName.get(fk.reference.resource);
      if (target === undefined || target === t) continue;
      for (const [i, f] of fk.fields.entries()) {
        const from = t.columns.find((c) => c.name === f);
        const to = target.columns.find((c) => c.name === fk.reference.fields[i]);
        if (from === undefined || to === undefined || !isPseudonymised(from) || !isPseudonymised(to)) continue;
        let set = out.get(target.name);
        if (set === undefined) out.set(target.name, (set = new Set()));
        set.add(to.name);
      }
    }
  }
  return out;
}

/**
 * The partition values a file is written with: every year (and 0, and the rejected rows) for a
 * table partitioned by a date column, two for a file whose year is in its name or a table without
 * years (fewer pipes to arm per file).
 */
function valuesOf(p: { readonly table: CatalogTable; readonly year: number | undefined }): readonly number[] {
  const fixedYear = p.year !== undefined ? clampYear(p.year) : typeof p.table.enclave?.['yearColumn'] !== 'string' ? 0 : undefined;
  return fixedYear === undefined ? PARTITION_VALUES : [REJECTED, fixedYear];
}

/** One lane's partition pipes, by value list (`valuesOf`, joined with commas). */
type LanePipes = ReadonlyMap<string, PartitionedParquetWriter>;

/**
 * Every lane's partition pipes for a run's files: one set per distinct value list and lane, all
 * made in one call (one `mkfifo` process).
 */
async function openRunPipes(open: IngestDeps['openPartitions'], plan: ReadonlyArray<{ readonly table: CatalogTable; readonly year: number | undefined }>): Promise<LanePipes[]> {
  const sets = [...new Map(plan.map((p) => valuesOf(p)).map((v) => [v.join(','), v])).values()];
  const writers = await open(PARTITION_COLUMN, Array.from({ length: INGEST_LANES }, () => sets).flat());
  return Array.from({ length: INGEST_LANES }, (_, l) => new Map(sets.map((values, n) => [values.join(','), writers[l * sets.length + n] as PartitionedParquetWriter])));
}

function clampYear(y: number): number {
  return y >= YEAR_MIN && y <= YEAR_MAX ? y : 0;
}

function yearFileKey(table: string, year: number, file: string): string {
  return `${table}/year=${year}/${stemOf(file)}.parquet`;
}

/**
 * Ingestion of a delivery into a new dataset version: every row validated against the
 * catalogue, identifiers pseudonymised with the dataset's HMAC key, Parquet written encrypted
 * with the dataset's data key, bad rows quarantined with a report. The version becomes visible
 * in one database commit, so a failure or a crash leaves the previous version untouched.
 */
export class IngestService {
  private readonly d: IngestDeps;

  constructor(deps: IngestDeps) {
    this.d = deps;
  }

  async ingest(o: IngestOptions): Promise<IngestResult> {
    const t0 = Date.now();
    const files = await listInputFiles(o.inputs);
    // Fingerprint of the delivery: what makes a rerun of the same files idempotent. The files are
    // hashed in worker threads while the catalogue loads (both take a few tenths of a second on
    // the bench's delivery); a catalogue or file-name error stops the hashing and is reported at once.
    const totalBytes = files.reduce((s, f) => s + f.bytes, 0);
    let hashed = 0;
    const stopHashing = new AbortController();
    const hashing = hashFiles(files.map((f) => f.path), files.map((f) => f.bytes), (n) => {
      hashed += n;
      o.onProgress?.({ phase: 'hash', done: hashed, total: totalBytes });
    }, { signal: stopHashing.signal });
    hashing.catch(() => undefined);
    let plan: ReturnType<typeof matchFiles>;
    const profile = o.profile ?? DEFAULT_PROFILE;
    try {
      const tables = await this.d.catalog.listTables(o.dataset);
      if (tables.length === 0) {
        throw new AppError('not_found', `dataset ${o.dataset} has no tables in the catalogue`, { hint: `import its schema first: enclave catalog import --dataset ${o.dataset} DIR` });
      }
      plan = matchFiles(files, tables, profile);
    } catch (e) {
      stopHashing.abort();
      throw e;
    }
    // The partition pipes (hundreds of FIFOs for date-partitioned tables: half a second on the
    // bench's machine) are made while the files are hashed and the run starts, and removed here
    // however the ingestion ends.
    const pipes = openRunPipes(this.d.openPartitions, plan);
    pipes.catch(() => undefined);
    try {
      const hashes = await hashing;
      // The same files read with another profile are another delivery (their rows differ); the
      // default profile adds nothing, so earlier delivery ids stay as they were.
      const profileLine = o.profile === undefined || canonicalJson(o.profile as unknown as JsonValue) === canonicalJson(DEFAULT_PROFILE as unknown as JsonValue) ? '' : `profile\t${canonicalJson(o.profile as unknown as JsonValue)}\n`;
      const deliveryId = createHash('sha256').update(files.map((f, i) => `${f.name}\t${hashes[i] ?? ''}\n`).join('') + profileLine).digest('hex');

      const v = await this.d.datasets.byDelivery(o.dataset, deliveryId);
      if (v !== undefined) {
        await this.d.audit.record({ actor: o.actor, action: 'ingest.delivery', target: `dataset:${o.dataset}`, ...(o.requestId === undefined ? {} : { requestId: o.requestId }), details: { deliveryId, alreadyIngestedAs: v.version } });
        return {
          dataset: o.dataset, version: v.version, deliveryId, alreadyIngested: true, rowsRead: v.rowsAccepted + v.rowsQuarantined, rowsAccepted: v.rowsAccepted,
          rowsQuarantined: v.rowsQuarantined, bytesRead: totalBytes, seconds: (Date.now() - t0) / 1000,
          tables: v.manifest.files.map((f) => ({ table: f.table, year: f.year, rows: f.rows })),
          quarantine: { total: v.rowsQuarantined, byRule: {}, byFile: {}, byTable: {}, entries: [], storedEntries: 0, reportFiles: [] }, merkleRoot: v.merkleRoot, runId: '',
        };
      }

      const minShare = o.minLandedShare ?? MIN_LANDED_SHARE;
      if (!(minShare >= 0 && minShare <= 1)) {
        throw new AppError('invalid', `minimum landed share ${String(minShare)} is not between 0 and 1`, { hint: 'give a share such as 0.9 (90 % of each table\'s rows must land)' });
      }
      if (o.maxOrphanShare !== undefined && !(o.maxOrphanShare >= 0 && o.maxOrphanShare <= 1)) {
        throw new AppError('invalid', `maximum orphan share ${String(o.maxOrphanShare)} is not between 0 and 1`, { hint: 'give a share such as 0.01 (1 % of a relation\'s rows may match nothing)' });
      }
      const runId = `run_${new Date().toISOString().replace(/[-:.TZ]/g, '').slice(0, 14)}_${randomBytes(4).toString('hex')}`;
      const stagingKey = stagingKeyOf(o.dataset, runId);
      await this.startRun(o, runId, deliveryId, stagingKey, minShare);
      let report: QuarantineReport | undefined;
      const heartbeat = setInterval(() => {
        this.d.db.query('UPDATE ingest_runs SET heartbeat_at = now() WHERE id = $1', [runId]).catch(() => undefined);
      }, 10_000);
      heartbeat.unref();
      try {
        const result = await this.d.keys.withDataKey('dataset', o.dataset, 'encryption', (encKey) =>
          this.d.keys.withDataKey('dataset', o.dataset, 'pseudonymisation', (hmacKey) => this.process(o, plan, stagingKey, runId, encKey, hmacKey, totalBytes, pipes)),
        ).catch((e: unknown) => {
          throw outOfMemory(e) ?? e;
        });
        const relations = o.checkRelations !== true && o.maxOrphanShare === undefined ? [] : await this.referentialChecks(o.dataset, stagingKey, result.files, plan.map((x) => x.table), result.columns);
        report = { ...result.quarantine, relations };
        result.quarantine = report;
        const broken = relations.filter((r) => o.maxOrphanShare !== undefined && r.rowsChecked > 0 && r.orphans / r.rowsChecked > o.maxOrphanShare);
        if (broken.length > 0) {
          throw new AppError('invalid', `delivery refused, nothing published: ${broken.length} relation${broken.length === 1 ? '' : 's'} above ${formatShare(o.maxOrphanShare ?? 0)} orphan rows: ${broken.map((r) => `${r.relation} ${r.orphans} of ${r.rowsChecked} rows match nothing`).join('; ')}`, {
            hint: `see the relations with: enclave ingest-report ${runId}; fix the delivery, or raise --max-orphan-share`,
            details: { runId, relations: broken.map((r) => r.relation) },
          });
        }
        const short = shortTables(result.quarantine, minShare);
        if (short.length > 0 && o.acceptShortTables !== true) {
          throw new AppError('invalid', `delivery refused, nothing published: ${short.length} table${short.length === 1 ? '' : 's'} would land under ${formatShare(minShare)} of ${short.length === 1 ? 'its' : 'their'} rows: ${short.map((t) => `${t.table} landed ${t.rowsLanded} of ${t.rowsDelivered} (${t.reasons.join(', ') || 'no reason recorded'})`).join('; ')}`, {
            hint: `see every reason with: enclave ingest-report ${runId}; fix the delivery, its profile or the catalogue, or publish anyway with --accept-short-tables (audited)`,
            details: { runId, shortTables: short },
          });
        }
        o.onProgress?.({ phase: 'commit', done: 0, total: 1 });
        const version = await this.commit(o, runId, deliveryId, stagingKey, result, o.acceptShortTables === true ? short : []);
        return {
          dataset: o.dataset, version: version.version, deliveryId, alreadyIngested: false, rowsRead: result.rowsAccepted + result.quarantine.total,
          rowsAccepted: result.rowsAccepted, rowsQuarantined: result.quarantine.total, bytesRead: totalBytes, seconds: (Date.now() - t0) / 1000,
          tables: result.files.map((f) => ({ table: f.table, year: f.year, rows: f.rows })), quarantine: result.quarantine, merkleRoot: version.merkleRoot, runId,
        };
      } catch (e) {
        await this.failRun(o, runId, stagingKey, e, report);
        throw e;
      } finally {
        clearInterval(heartbeat);
      }
    } finally {
      for (const lane of await pipes.catch(() => [])) for (const w of lane.values()) await w.close();
    }
  }

  /**
   * Infers a delivery's profile and says what ingestion would do with each file (no write, no
   * audit: it reads the start of each file only). See `detectDelivery`.
   */
  async detect(dataset: string, inputs: readonly string[], base?: DeliveryProfile): Promise<Detection> {
    const tables = await this.d.catalog.listTables(dataset);
    if (tables.length === 0) throw new AppError('not_found', `dataset ${dataset} has no tables in the catalogue`, { hint: `import its schema first: enclave catalog import --dataset ${dataset} DIR` });
    return detectDelivery(inputs, tables, base);
  }

  /** Committed versions of a dataset, newest first (the datasets domain's, for the operator routes). */
  versions(dataset: string): Promise<DatasetVersion[]> {
    return this.d.datasets.versions(dataset);
  }

  /** One version (the latest when `version` is undefined), from the datasets domain. */
  version(dataset: string, version?: number): Promise<DatasetVersion> {
    return this.d.datasets.version(dataset, version);
  }

  /**
   * The quarantine report of a version's delivery, for operators: complete counts per rule, file,
   * table and column, and one page of the complete list of entries (file, line, column, rule,
   * value shape; never a value), in file and line order.
   */
  async quarantine(dataset: string, version: number, page: ReportPageRequest = {}): Promise<QuarantineReportPage> {
    const runId = await this.d.datasets.runOf(dataset, version);
    const { status: _s, error: _e, dataset: _d, ...report } = await this.runReport(runId, page);
    return report;
  }

  /**
   * The report of a run, committed or refused: its status and error, complete counts, and one
   * page of its entries (`offset`, `limit` up to `MAX_REPORT_PAGE`, optionally one table, column or rule).
   */
  async runReport(runId: string, page: ReportPageRequest = {}): Promise<QuarantineReportPage & { readonly dataset: string; readonly status: string; readonly error: string | null }> {
    const rows = await this.d.db.query<{ dataset: string; status: string; report: unknown; error_message: string | null }>('SELECT dataset, status, report, error_message FROM ingest_runs WHERE id = $1', [runId]);
    const r = rows[0];
    if (r === undefined) throw new AppError('not_found', `no ingestion run ${runId}`, { hint: 'run ids are printed by enclave ingest and listed in the audit log (ingest.start)' });
    const offset = page.offset ?? 0;
    const limit = page.limit ?? 100;
    if (!Number.isInteger(offset) || offset < 0) throw new AppError('invalid', `offset ${String(offset)} must be a whole number ≥ 0`, { hint: 'e.g. offset=0' });
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REPORT_PAGE) throw new AppError('invalid', `limit ${String(limit)} must be a whole number from 1 to ${MAX_REPORT_PAGE}`, { hint: 'e.g. limit=100' });
    const stored = (typeof r.report === 'string' ? JSON.parse(r.report) : r.report ?? {}) as Partial<QuarantineReport>;
    const summary = { runId, dataset: r.dataset, status: r.status, error: r.error_message, total: stored.total ?? 0, byRule: stored.byRule ?? {}, byFile: stored.byFile ?? {}, byTable: stored.byTable ?? {}, relations: stored.relations ?? [], storedEntries: stored.storedEntries ?? stored.entries?.length ?? 0, offset, limit };
    const files = stored.reportFiles ?? [];
    // Reports written before the complete report existed kept their first entries inline.
    if (files.length === 0) return { ...summary, entries: (stored.entries ?? []).slice(offset, offset + limit) };
    const where: string[] = [];
    if (page.table !== undefined) where.push(`"table" = ${sqlString(page.table)}`);
    if (page.column !== undefined) where.push(`"column" = ${sqlString(page.column)}`);
    if (page.rule !== undefined) where.push(`rule = ${sqlString(page.rule)}`);
    const session = await this.d.engine.session();
    try {
      const keyName = `k_report_${randomBytes(4).toString('hex')}`;
      await this.d.keys.withDataKey('dataset', r.dataset, 'encryption', (key) => session.addParquetKey(keyName, key));
      const found = await session.all<{ file: string; table: string; line: bigint; column: string; rule: string; value: string }>(
        `SELECT file, "table", line, "column", rule, shape AS value FROM read_parquet([${files.map((f) => sqlString(this.d.store.localPath(f))).join(', ')}], encryption_config = {footer_key: ${sqlString(keyName)}})
         ${where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`} ORDER BY file, line, "column", rule LIMIT ${limit} OFFSET ${offset}`,
      );
      return { ...summary, entries: found.map((e) => ({ file: e.file, table: e.table, line: Number(e.line), column: e.column, rule: e.rule, value: e.value })) };
    } catch (e) {
      if (isAppError(e)) throw e;
      throw new AppError('unavailable', `the complete report of run ${runId} cannot be read`, { hint: 'its files under ingest-reports/ in the store may have been removed; the counts above are complete', cause: e });
    } finally {
      session.close();
    }
  }

  /**
   * Measures every catalogue foreign key between two delivered tables on the landed rows (the
   * staged, encrypted year files; identifiers compared as pseudonyms, the same HMAC on both sides).
   */
  private async referentialChecks(dataset: string, stagingKey: string, files: readonly ManifestFile[], delivered: readonly CatalogTable[], columns: Readonly<Record<string, readonly string[]>>): Promise<RelationReport[]> {
    const tables = new Map(delivered.map((t) => [t.name, t]));
    const pathsOf = (table: string): string[] => files.filter((f) => f.table === table).map((f) => this.d.store.localPath(`${stagingKey}/${f.path}`));
    const out: RelationReport[] = [];
    const relations = [...tables.values()].flatMap((t) => t.foreignKeys.filter((fk) => tables.has(fk.reference.resource) && fk.reference.resource !== t.name).map((fk) => ({ t, fk })));
    if (relations.length === 0) return out;
    const session = await this.d.engine.session();
    try {
      const keyName = `k_fk_${randomBytes(4).toString('hex')}`;
      await this.d.keys.withDataKey('dataset', dataset, 'encryption', (key) => session.addParquetKey(keyName, key));
      const keySets = new Map<string, string>();
      const scan = (paths: readonly string[], cols: readonly string[]): string => `(SELECT ${cols.map(sqlIdent).join(', ')}, filename AS __file FROM read_parquet([${paths.map(sqlString).join(', ')}], encryption_config = {footer_key: ${sqlString(keyName)}}, filename = true))`;
      for (const { t, fk } of [...relations].sort((a, b) => (a.t.name < b.t.name ? -1 : 1))) {
        const relation = `${t.name}(${fk.fields.join(',')}) → ${fk.reference.resource}(${fk.reference.fields.join(',')})`;
        const child = pathsOf(t.name);
        const has = (table: string, fields: readonly string[]): boolean => fields.every((f) => columns[table]?.includes(f) === true);
        // Key fields a table's files do not carry are missing on every row: a child without them
        // has no row to check; a parent without them matches nothing.
        const parent = has(fk.reference.resource, fk.reference.fields) ? pathsOf(fk.reference.resource) : [];
        if (child.length === 0) continue;
        if (!has(t.name, fk.fields)) {
          out.push({ relation, rowsChecked: 0, orphans: 0, matchesNothing: false, orphansByFile: {} });
          continue;
        }
        const present = fk.fields.map((f) => `c.${sqlIdent(f)} IS NOT NULL`).join(' AND ');
        // A referenced key set is read once, as one 64-bit hash per key, however many tables point
        // at it (three DCIR satellites reference ER_PRS_F's 9 keys): one narrow hash join per relation.
        const keyHash = (alias: string, cols: readonly string[]): string => `hash(${cols.map((c) => `${alias}.${sqlIdent(c)}`).join(', ')})`;
        let orphan = 'true';
        if (parent.length > 0) {
          const setKey = `${fk.reference.resource}(${fk.reference.fields.join(',')})`;
          let set = keySets.get(setKey);
          if (set === undefined) {
            set = `fk_keys_${keySets.size}`;
            await session.run(`CREATE OR REPLACE TEMP TABLE ${set} AS SELECT DISTINCT ${keyHash('p', fk.reference.fields)} AS h FROM ${scan(parent, fk.reference.fields)} p`);
            keySets.set(setKey, set);
          }
          orphan = `${keyHash('c', fk.fields)} NOT IN (SELECT h FROM ${set})`;
        }
        const rows = await session.all<{ file: string; checked: bigint; orphans: bigint }>(
          `SELECT __file AS file, count(*) AS checked, count(*) FILTER (__orphan) AS orphans
           FROM (SELECT *, ${orphan} AS __orphan FROM ${scan(child, fk.fields)} c WHERE ${present}) c GROUP BY 1`,
        );
        const orphansByFile: Record<string, number> = {};
        let checked = 0;
        let orphans = 0;
        for (const r of rows) {
          checked += Number(r.checked);
          orphans += Number(r.orphans);
          // The staged year file names the delivered file it came from.
          const delivered = /\/year=-?[0-9]+\/(.*)\.parquet$/.exec(r.file)?.[1] ?? r.file;
          if (Number(r.orphans) > 0) orphansByFile[delivered] = (orphansByFile[delivered] ?? 0) + Number(r.orphans);
        }
        out.push({ relation, rowsChecked: checked, orphans, matchesNothing: checked > 0 && orphans === checked, orphansByFile });
      }
      for (const set of keySets.values()) await session.run(`DROP TABLE IF EXISTS ${set}`);
    } finally {
      session.close();
    }
    return out;
  }

  private async startRun(o: IngestOptions, runId: string, deliveryId: string, stagingKey: string, minLandedShare: number): Promise<void> {
    await this.d.audit.transaction(
      { actor: o.actor, action: 'ingest.start', target: `dataset:${o.dataset}`, ...(o.requestId === undefined ? {} : { requestId: o.requestId }), details: { runId, deliveryId, minLandedShare, acceptShortTables: o.acceptShortTables === true, ...(o.maxOrphanShare === undefined ? {} : { maxOrphanShare: o.maxOrphanShare }), ...(o.checkRelations === true ? { checkRelations: true } : {}), ...(o.profile === undefined ? {} : { profile: o.profile as unknown as JsonValue }) } },
      async (tx) => {
        // One ingestion per dataset at a time; a run that stopped heart-beating was killed.
        const running = await tx.query<{ id: string; staging_key: string; fresh: boolean; host: string; pid: number }>(
          `SELECT id, staging_key, host, pid, heartbeat_at > now() - make_interval(secs => $2) AS fresh FROM ingest_runs WHERE dataset = $1 AND status = 'running' FOR UPDATE`,
          [o.dataset, RUN_LEASE_SECONDS],
        );
        const live = running.find((r) => r.fresh && processAlive(r.host, r.pid));
        if (live !== undefined) {
          throw new AppError('conflict', `dataset ${o.dataset} is being ingested by run ${live.id}`, { hint: `wait for it to finish, or retry after ${RUN_LEASE_SECONDS} s if that process was killed` });
        }
        for (const r of running) {
          await tx.query("UPDATE ingest_runs SET status = 'abandoned', finished_at = now() WHERE id = $1", [r.id]);
          await this.d.store.removePrefix(r.staging_key);
        }
        if (running.length > 0) tx.addDetails({ abandonedRuns: running.map((r) => r.id) });
        await this.d.keys.ensureDataKey(tx, 'dataset', o.dataset, 'encryption');
        await this.d.keys.ensureDataKey(tx, 'dataset', o.dataset, 'pseudonymisation');
        await tx.query("INSERT INTO ingest_runs (id, dataset, delivery_id, status, staging_key, host, pid) VALUES ($1, $2, $3, 'running', $4, $5, $6)", [runId, o.dataset, deliveryId, stagingKey, hostname(), process.pid]);
      },
    );
  }

  /**
   * Marks a run failed. A run refused for what its rows break keeps its complete report (the
   * operator needs every reason); any other failure removes what it wrote.
   */
  private async failRun(o: IngestOptions, runId: string, stagingKey: string, e: unknown, report: QuarantineReport | undefined): Promise<void> {
    await this.d.store.removePrefix(stagingKey).catch(() => undefined);
    if (report === undefined) await this.d.store.removePrefix(reportKey(o.dataset, runId)).catch(() => undefined);
    const code = isAppError(e) ? e.code : 'internal';
    const message = isAppError(e) ? e.message : 'internal error';
    await this.d.audit
      .transaction({ actor: o.actor, action: 'ingest.fail', target: `dataset:${o.dataset}`, ...(o.requestId === undefined ? {} : { requestId: o.requestId }), details: { runId, errorCode: code, ...(report === undefined ? {} : { shortTables: shortTables(report, o.minLandedShare ?? MIN_LANDED_SHARE).map((t) => t.table) }) } }, async (tx) => {
        await tx.query("UPDATE ingest_runs SET status = 'failed', finished_at = now(), error_code = $2, error_message = $3, report = $4 WHERE id = $1", [runId, code, message, report === undefined ? null : JSON.stringify(storedReport(report))]);
      })
      .catch(() => undefined);
  }

  /** `pipes`: each lane's partition pipes (`openRunPipes`; the caller removes them). */
  private async process(o: IngestOptions, delivered: ReadonlyArray<{ file: InputFile; table: CatalogTable; year: number | undefined }>, stagingKey: string, runId: string, encKey: Buffer, hmacKey: Buffer, totalBytes: number, pipes: Promise<readonly LanePipes[]>) {
    // Referenced identifiers are hashed once, from their own (small) table, before the tables that
    // point at them: those look their pseudonyms up instead of hashing every row.
    const profile = o.profile ?? DEFAULT_PROFILE;
    const sources = pseudonymSources(delivered.map((d) => d.table));
    // Every file's header, read once; a table's files are written with the catalogue columns its
    // files deliver (their union, in catalogue order), not every column the catalogue knows: the
    // whole SNDS catalogue has 123 columns for ER_PRS_F where a delivery may carry 37. All files
    // of one table in one version share that list (readers need no union by name).
    const headers: string[][] = [];
    for (const p of delivered) headers.push(await readHeader(p.file.path, profile.delimiter, profile.encoding));
    const plan = delivered.map((p, i) => ({ ...p, i, header: headers[i] as readonly string[] }));
    const tableColumns = writtenColumns(plan);
    const files: ManifestFile[] = [];
    const entries: QuarantineEntry[] = [];
    const byRule: Record<string, number> = {};
    const byFile: Record<string, number> = {};
    const byTable = new Map<string, { files: string[]; landed: number; quarantined: number; violations: Record<string, Record<string, number>> }>();
    for (const p of plan) {
      const t = byTable.get(p.table.name) ?? { files: [], landed: 0, quarantined: 0, violations: {} };
      t.files.push(p.file.name);
      byTable.set(p.table.name, t);
    }
    const violation = (table: string, column: string, rule: string, n: number): void => {
      const t = byTable.get(table);
      if (t === undefined) return;
      const c = (t.violations[column] ??= {});
      c[rule] = (c[rule] ?? 0) + n;
    };
    const reportFiles: string[] = [];
    let storedEntries = 0;
    let quarantined = 0;
    let accepted = 0;
    let bytesDone = 0;
    // Nomenclatures as ENUM types: being made (shared by both lanes), and made (read synchronously by the SQL builders).
    const nomPending = new Map<string, Promise<void>>();
    const noms = new Map<string, { readonly type: string; readonly integerCodes: boolean; readonly codes: readonly string[] }>();
    // What the line scan may prove of a table's columns (typed-reading.ts), by table and header: found once a run.
    const proofs = new Map<string, Promise<ReadonlyMap<string, ColumnProof>>>();
    // Two lanes (engine sessions) take files in turn, so that one file's engine work overlaps the
    // other's, and the waits between statements. Each lane has its own pipes and pseudonym table.
    const lanes: Lane[] = [];
    // HMAC-SHA256 in SQL (RFC 2104) with the key's pads in session variables: the key never
    // appears in a statement's text.
    const k = Buffer.alloc(64);
    hmacKey.copy(k);
    const ipad = Buffer.from(k.map((b) => b ^ 0x36));
    const opad = Buffer.from(k.map((b) => b ^ 0x5c));
    try {
      const lanePipes = await pipes;
      for (let n = 0; n < INGEST_LANES; n++) {
        const session = await this.d.engine.session();
        lanes.push({ session, pipeSets: lanePipes[n] as LanePipes, cached: 0 });
        await session.run(`SET VARIABLE enclave_ipad = unhex('${ipad.toString('hex')}'); SET VARIABLE enclave_opad = unhex('${opad.toString('hex')}')`);
        await session.run(`CREATE OR REPLACE TEMP TABLE ${PSEUDONYMS} (__pv VARCHAR, __ph VARCHAR)`);
      }
      k.fill(0); ipad.fill(0); opad.fill(0);
      // Engine-wide for this run (ingestion has an engine of its own): rows are not kept in file
      // order (bad rows are located by content), which lets every thread write freely; and a join
      // keeps its left side as the probe side: DuckDB's estimate for a CSV scan is low enough that
      // it would otherwise build its hash table from the whole file rather than from the pseudonyms.
      // A year partition is written out every row group's worth of rows (DuckDB's default buffers
      // 524,288 rows per partition before it writes them: measured 1.5-2.5 CPU-s more on ER_PRS_F).
      await (lanes[0] as Lane).session.run(`SET preserve_insertion_order = false; SET disabled_optimizers = 'build_side_probe_side'; SET partitioned_write_flush_threshold = ${PARTITION_FLUSH_ROWS}`);
      const pipesFor = (lane: Lane, values: readonly number[]): PartitionedParquetWriter => {
        const w = lane.pipeSets.get(values.join(','));
        if (w === undefined) throw new AppError('internal', `no pipes for partition values ${values.join(',')}`);
        return w;
      };
      const nomTable = (session: EngineSession, name: string): Promise<void> => {
        let pending = nomPending.get(name);
        if (pending === undefined) {
          const t = `nom_${nomPending.size}`;
          pending = (async () => {
            const codes = await this.d.catalog.nomenclatureCodes(name);
            if (codes === undefined || codes.length === 0) return;
            const csv = this.d.store.localPath(`${stagingKey}/_nomenclatures/${t}.csv`);
            await mkdir(dirname(csv), { recursive: true });
            await writeFile(csv, `code\n${codes.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join('\n')}\n`);
            await session.run(`CREATE OR REPLACE TEMP TABLE ${t} AS SELECT DISTINCT code FROM read_csv(${sqlString(csv)}, header = true, columns = {'code': 'VARCHAR'}, delim = ',', quote = '"') WHERE code IS NOT NULL`);
            // Types are database-wide: a run-unique name, dropped when the run ends.
            const type = `${t}_${runId.replace(/[^A-Za-z0-9]/g, '_')}`;
            await session.run(`CREATE TYPE ${type} AS ENUM (SELECT code FROM ${t})`);
            await session.run(`DROP TABLE ${t}`);
            noms.set(name, { type, integerCodes: codes.every((c) => /^-?[0-9]+$/.test(c)), codes });
          })();
          nomPending.set(name, pending);
        }
        return pending;
      };

      // The columns a clean file's line scan may prove, once per table and header (their code lists
      // made first). A failure here costs the files their proofs, never the delivery: the row check
      // runs the same rules and names what is wrong.
      const proofsOf = (session: EngineSession, table: string, columns: readonly CatalogColumn[], header: readonly string[], ctx: ColumnSqlContext): Promise<ReadonlyMap<string, ColumnProof>> => {
        const key = `${table}\u0000${header.join('\u0000')}`;
        let found = proofs.get(key);
        if (found === undefined) {
          found = columnProofs(session, columns, header, profile, ctx, (n) => noms.get(n)?.codes).catch(() => new Map<string, ColumnProof>());
          proofs.set(key, found);
        }
        return found;
      };

      // A referenced table's identifiers, hashed into every lane's pseudonym table (in memory).
      const fillPseudonyms = async (lane: Lane, p: (typeof plan)[number], header: readonly string[], readCsv: (options: string) => string): Promise<void> => {
        const own = [...(sources.get(p.table.name) ?? [])].filter((c) => header.includes(c));
        if (own.length === 0) return;
        const inserted = await lane.session.all<{ Count: bigint }>(`INSERT INTO ${PSEUDONYMS} SELECT v, ${hmacSql('v')} FROM (SELECT DISTINCT unnest([${own.map(sqlIdent).join(', ')}]) AS v FROM ${readCsv('')}) s
          WHERE v IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${PSEUDONYMS} p WHERE p.__pv = s.v)`);
        lane.cached += Number(inserted[0]?.Count ?? 0n);
      };

      const processFile = async (lane: Lane, p: (typeof plan)[number]): Promise<void> => {
        const { session } = lane;
        const i = p.i;
        // This file's report entries, kept whole up to the cap; the run keeps the first by file and line.
        const fileEntries: QuarantineEntry[] = [];
        o.onProgress?.({ phase: 'validate', done: bytesDone, total: totalBytes, file: p.file.name });
        const columns = profiledColumns(p.table, profile);
        const { header } = p;
        checkHeader(p.file.name, header, columns, profile.extraColumns);
        const output = tableColumns.get(p.table.name) ?? new Set<string>();
        for (const c of columns) {
          const list = codeListOf(c);
          if (list !== null && header.includes(c.name)) await nomTable(session, list);
        }
        const rej = `rej_${i}`;
        // DuckDB reads empty fields as NULL; values are not trimmed (a padded code is malformed).
        const raw = (name: string): string => (header.includes(name) ? sqlIdent(name) : 'NULL::VARCHAR');
        const ctx = { nomenclatureType: (n: string) => noms.get(n)?.type, nomenclatureIsIntegers: (n: string) => noms.get(n)?.integerCodes === true, types: { exponent: profile.exponent, integerPointZero: profile.integerPointZero } };
        // The file with every column as text. Each value is parsed once (an inner projection); every
        // row pays one condition per column on the parsed values (`rowHasViolationSql`).
        // The profile's spellings of "missing" (`.`, blanks) and of integers (`61.0`) are read as the
        // rules expect them, in a projection over the reader (none for a file read as it is). The
        // second pass also keeps every field's text as delivered (`__src`), to find the bad rows' lines.
        const byName = new Map(columns.map((c) => [c.name, c]));
        const replaced = header.map((h) => [h, normalisedSql(byName.get(h), h, profile)] as const).filter((x): x is readonly [string, string] => x[1] !== undefined);
        const hasExtra = header.some((h) => !byName.has(h));
        // `t`: the typed reading of a clean file (see typed-reading.ts): its plain columns come typed
        // from the reader; every other column, and every file otherwise, is read as text.
        const csvReader = (options: string, t?: TypedReading): string => `read_csv(${sqlString(p.file.path)},
            delim = ${sqlString(profile.delimiter)}, header = true, quote = '"', escape = '"', auto_detect = false,${profile.encoding === 'latin-1' ? ` encoding = 'latin-1',` : ''}${t?.dateFormat === undefined ? '' : ` dateformat = ${sqlString(t.dateFormat)},`}${t?.decimalComma === true ? ` decimal_separator = ',',` : ''}${t === undefined || t.missing.length === 0 ? '' : ` nullstr = [${['', ...t.missing].map(sqlString).join(', ')}],`}
            columns = {${header.map((h) => `${sqlString(h)}: '${t?.types.get(h) ?? 'VARCHAR'}'`).join(', ')}}, ignore_errors = true, null_padding = false${options === '' ? '' : `, ${options}`})`;
        const readCsv = (options: string, withSource = false, t?: TypedReading): string => {
          const own = t === undefined ? replaced : replaced.filter(([h]) => !t.types.has(h));
          if (own.length === 0 && !withSource) return csvReader(options, t);
          const src = withSource ? `, [${header.map(sqlIdent).join(', ')}]::VARCHAR[] AS __src` : '';
          return `(SELECT *${own.length === 0 ? '' : ` REPLACE (${own.map(([h, e]) => `${e} AS ${sqlIdent(h)}`).join(', ')})`}${src} FROM ${csvReader(options, t)})`;
        };
        const locateBySource = replaced.length > 0 || hasExtra;
        const parsed = columns.filter((c) => !keepsRawText(c));
        const tName = (c: CatalogColumn): string => sqlIdent(`__t_${c.name}`);
        const inner = (options: string, withSource = false, t?: TypedReading): string => `SELECT *, ${parsed.filter((c) => header.includes(c.name) && t?.types.has(c.name) !== true).map((c) => `${rowTypedSql(c, raw(c.name), ctx)} AS ${tName(c)}`).join(', ') || 'NULL AS __none'} FROM ${readCsv(options, withSource, t)}`;
        const typedRef = (c: CatalogColumn, t?: TypedReading): string => (keepsRawText(c) || t?.types.has(c.name) === true ? raw(c.name) : header.includes(c.name) ? tName(c) : typedSql(c, 'NULL::VARCHAR'));
        const rawKept = parsed.filter((c) => header.includes(c.name));
        const validated = (options: string, withSource = false, t?: TypedReading): string => `SELECT *, ${rowHasViolationSql(columns, raw, ctx, (c) => typedRef(c, t), t?.proven)} AS __bad FROM (${inner(options, withSource, t)})`;
        const yearOf = (t?: TypedReading): string => (p.year !== undefined ? String(p.year) : yearSql(p.table, (c) => typedRef(c, t)));

        for (const l of lanes) await fillPseudonyms(l, p, header, readCsv);

        // One streamed pass: every row is read, parsed and checked once, and lands in the pipe of its
        // partition: its year (YEAR_MIN..YEAR_MAX, else 0 like a missing year), or REJECTED. Good rows
        // are pseudonymised on the way: looked up among the referenced identifiers hashed already, else
        // HMAC in SQL. Rejected rows carry no identifier and are dropped.
        const looked = columns.map((c, k) => [c, `__p${k}`] as const).filter(([c]) => output.has(c.name) && isPseudonymised(c) && header.includes(c.name) && lane.cached > 0);
        const joins = looked.map(([c, alias]) => `LEFT JOIN ${PSEUDONYMS} ${alias} ON ${alias}.__pv = __x.${raw(c.name)}`);
        const aliasOf = new Map(looked.map(([c, alias]) => [c.name, alias]));
        const select = (t?: TypedReading): string => columns
          .filter((c) => output.has(c.name))
          .map((c) => {
            if (!isPseudonymised(c)) return `${typedRef(c, t)} AS ${sqlIdent(c.name)}`;
            if (!header.includes(c.name)) return `NULL::VARCHAR AS ${sqlIdent(c.name)}`;
            const alias = aliasOf.get(c.name);
            if (alias === undefined) return `CASE WHEN __bad THEN NULL ELSE ${hmacSql(raw(c.name))} END AS ${sqlIdent(c.name)}`;
            return `CASE WHEN __bad THEN NULL ELSE coalesce(${alias}.__ph, ${hmacSql(`__x.${raw(c.name)}`)}) END AS ${sqlIdent(c.name)}`;
          })
          .join(', ');
        const partition = `CASE WHEN __bad THEN ${REJECTED} ELSE coalesce(CASE WHEN __y BETWEEN ${YEAR_MIN} AND ${YEAR_MAX} THEN __y END, 0) END`;
        const pipes = pipesFor(lane, valuesOf(p));
        const rejectsOptions = `store_rejects = true, rejects_table = ${sqlString(rej)}, rejects_scan = ${sqlString(`${rej}_scan`)}`;
        // The typed reading keeps no rejects table: a row its reader drops shows in the row count.
        const pass = (t?: TypedReading): string => `SELECT ${select(t)}, ${partition} AS ${PARTITION_COLUMN} FROM (SELECT *, CAST(${yearOf(t)} AS INTEGER) AS __y FROM (${validated(t === undefined ? rejectsOptions : '', false, t)})) __x ${joins.join(' ')}`;
        const pathOf = (year: number): string | undefined => (year === REJECTED ? undefined : this.d.store.localPath(`${stagingKey}/${yearFileKey(p.table.name, year, p.file.name)}`));
        // A clean file is read typed when its every line has exact spellings (typed-reading.ts): a
        // look at its first lines, then the whole file. Otherwise, or when the typed reader still
        // refuses a row, the file is read as text and checked value by value.
        let readTyped = false;
        let proven: readonly string[] = [];
        let written: ReadonlyMap<number, { readonly rows: number; readonly file?: { readonly bytes: number; readonly sha256: string } }> | undefined;
        const choice = this.d.typedReading === false ? undefined : await chooseTypedReading(session, p.file.path, columns, header, profile, { ...(this.d.lineScan === undefined ? {} : { engine: this.d.lineScan }), proofs: isGzipped(p.file.path) ? new Map() : await proofsOf(session, p.table.name, columns, header, ctx) });
        if (choice !== undefined) {
          written = await pipes.copy(session, pass(choice.reading), pathOf, encKey);
          const rowsRead = [...written.values()].reduce((a, w) => a + w.rows, 0);
          if (rowsRead !== choice.lines) {
            for (const [year, w] of written) {
              const path = pathOf(year);
              if (w.file !== undefined && path !== undefined) await unlink(path).catch(() => undefined);
            }
            written = undefined;
          } else {
            readTyped = true;
            proven = [...choice.reading.proven];
          }
        }
        written ??= await pipes.copy(session, pass(), pathOf, encKey);
        for (const [year, w] of [...written].sort((a, b) => a[0] - b[0])) {
          if (year === REJECTED) continue;
          if (w.file === undefined) throw new AppError('internal', `${p.file.name}: year ${year} was written without a file`);
          files.push({ path: yearFileKey(p.table.name, year, p.file.name), table: p.table.name, year, rows: w.rows, bytes: w.file.bytes, sha256: w.file.sha256 });
          accepted += w.rows;
          (byTable.get(p.table.name) as { landed: number }).landed += w.rows;
        }
        const badRows = written.get(REJECTED)?.rows ?? 0;

        // Malformed lines (wrong number of fields, bad quoting, invalid UTF-8) never reach a row:
        // each becomes a quarantine entry with its line.
        const rejects = readTyped ? [] : await session.all<{ line: bigint; column_name: string | null; error_type: string }>(`SELECT line, column_name, error_type FROM ${rej} ORDER BY line`);
        for (const r of rejects) {
          pushEntry(fileEntries, { file: p.file.name, line: Number(r.line), column: r.column_name ?? '(line)', rule: 'csv_format', value: r.error_type });
        }
        const rejectedRows = new Set(rejects.map((r) => r.line)).size;
        if (rejectedRows > 0) {
          byRule['csv_format'] = (byRule['csv_format'] ?? 0) + rejectedRows;
          byFile[p.file.name] = (byFile[p.file.name] ?? 0) + rejectedRows;
          quarantined += rejectedRows;
          (byTable.get(p.table.name) as { quarantined: number }).quarantined += rejectedRows;
          violation(p.table.name, '(line)', 'csv_format', rejectedRows);
        }
        // The complete report of this file: every (bad row, violated column) and every malformed line,
        // written encrypted beside the run (kept when the delivery is refused, for its reasons).
        const reportParts: string[] = [];
        if (rejects.length > 0) {
          reportParts.push(`SELECT line, coalesce(column_name, '(line)') AS "column", 'csv_format' AS rule, CAST(error_type AS VARCHAR) AS shape FROM ${rej}`);
          storedEntries += rejects.length;
        }

        // Bad rows, when the pass rejected some: a second pass keeps them alone, with their raw text,
        // their line (found by content, see locateRows) and the full list of what they break.
        const rows = `rows_${i}`;
        const checked = `chk_${i}`;
        const lines = `lines_${i}`;
        if (badRows > 0) {
          await session.run(`CREATE OR REPLACE TEMP TABLE ${rows} AS SELECT
              ${columns.map((c) => `${typedRef(c)} AS ${sqlIdent(c.name)}`).join(', ')},
              [${rawKept.map((c) => raw(c.name)).join(', ')}]::VARCHAR[] AS __raw, ${locateBySource ? '__src, ' : ''}__bad
            FROM (${validated('', locateBySource)}) WHERE __bad`);
          const rawBad = (name: string): string => {
            const c = columns.find((x) => x.name === name);
            if (c === undefined || !header.includes(name)) return 'NULL::VARCHAR';
            return keepsRawText(c) ? sqlIdent(name) : `__raw[${rawKept.indexOf(c) + 1}]`;
          };
          await session.run(`CREATE OR REPLACE TEMP TABLE ${lines} (id BIGINT, line BIGINT)`);
          const badRaw = await session.all<Record<string, string | null | bigint>>(`SELECT rowid AS __id, ${header.map((h, k) => `${locateBySource ? `__src[${k + 1}]` : rawBad(h)} AS "c${k}"`).join(', ')} FROM ${rows} WHERE __bad`);
          if (badRaw.length > 0) {
            const located = await locateRows(p.file.path, profile.delimiter, badRaw.map((r) => ({ id: Number(r['__id']), values: header.map((_h, k) => r[`c${k}`] as string | null) })), profile.encoding);
            const pairs = [...located];
            for (let at = 0; at < pairs.length; at += 1000) {
              await session.run(`INSERT INTO ${lines} VALUES ${pairs.slice(at, at + 1000).map(([id, l]) => `(${id}, ${l})`).join(', ')}`);
            }
          }
          await session.run(`CREATE OR REPLACE TEMP TABLE ${checked} AS SELECT b.*, coalesce(l.line, 0) AS __line, ${rowViolationsSql(columns, rawBad, ctx)} AS __violations
            FROM (SELECT rowid AS __id, * FROM ${rows} WHERE __bad) b LEFT JOIN ${lines} l ON l.id = b.__id`);

          // The rule check and the rule-by-rule list are two formulations of one catalogue: they must
          // agree on every row, or the delivery stops here (nothing published, nothing lost).
          const recheck = await session.all<{ n: bigint; broken: bigint }>(`SELECT count(*) AS n, count(*) FILTER (len(__violations) > 0) AS broken FROM ${checked}`);
          if (Number(recheck[0]?.n ?? 0n) !== badRows || Number(recheck[0]?.broken ?? 0n) !== badRows) {
            throw new AppError('internal', `${p.file.name}: ${badRows} rows failed the row check but ${String(recheck[0]?.broken ?? 0n)} of ${String(recheck[0]?.n ?? 0n)} break a rule on recheck`, { hint: 'nothing was published; report this delivery to the Enclave developers' });
          }
          // Bad rows: one report entry per violated column, values reduced to their shape.
          quarantined += badRows;
          byFile[p.file.name] = (byFile[p.file.name] ?? 0) + badRows;
          (byTable.get(p.table.name) as { quarantined: number }).quarantined += badRows;
          const ruleCounts = await session.all<{ col: string; rule: string; n: bigint }>(`SELECT split_part(v, ':', 1) AS col, split_part(v, ':', 2) AS rule, count(*) AS n FROM (SELECT unnest(__violations) AS v FROM ${checked}) GROUP BY 1, 2`);
          for (const r of ruleCounts) {
            byRule[r.rule] = (byRule[r.rule] ?? 0) + Number(r.n);
            violation(p.table.name, r.col, r.rule, Number(r.n));
            storedEntries += Number(r.n);
          }
          const shapeCases = columns.filter((c) => header.includes(c.name)).map((c) => `WHEN ${sqlString(c.name)} THEN ${redactedShapeSql(rawBad(c.name))}`);
          reportParts.push(`SELECT __line AS line, split_part(v, ':', 1) AS "column", split_part(v, ':', 2) AS rule,
              CASE split_part(v, ':', 1) ${shapeCases.join(' ')} ELSE '(absent)' END AS shape
            FROM (SELECT *, unnest(__violations) AS v FROM ${checked})`);
          const room = Math.max(MAX_REPORT_ENTRIES - fileEntries.length, 0);
          if (room > 0) {
            const found = await session.all<{ line: bigint; column: string; rule: string; value: string }>(`SELECT __line AS line, split_part(v, ':', 1) AS "column", split_part(v, ':', 2) AS rule,
                CASE split_part(v, ':', 1) ${shapeCases.join(' ')} ELSE '(absent)' END AS value
              FROM (SELECT *, unnest(__violations) AS v FROM ${checked}) ORDER BY __line, "column" LIMIT ${room}`);
            for (const r of found) fileEntries.push({ file: p.file.name, line: Number(r.line), column: r.column, rule: r.rule, value: r.value });
          }
          // The bad rows themselves are kept, encrypted, with identifiers pseudonymised when valid
          // and blanked otherwise, so the producer can be sent line numbers and fix the source.
          const qSelect = `SELECT __line AS "LINE", array_to_string(__violations, ' ') AS "VIOLATIONS", ${columns.filter((c) => header.includes(c.name)).map((c) => `${isPseudonymised(c) ? `CASE WHEN len(list_filter(__violations, x -> starts_with(x, ${sqlString(`${c.name}:`)}))) > 0 THEN NULL ELSE ${hmacSql(rawBad(c.name))} END` : rawBad(c.name)} AS ${sqlIdent(c.name)}`).join(', ')} FROM ${checked} ORDER BY __line`;
          const qPath = this.d.store.localPath(`${stagingKey}/_quarantine/${stemOf(p.file.name)}.parquet`);
          await mkdir(dirname(qPath), { recursive: true });
          await this.d.writeParquet(session, qSelect, qPath, encKey);
        }
        if (reportParts.length > 0) {
          const key = `${reportKey(o.dataset, runId)}/${String(i).padStart(4, '0')}-${stemOf(p.file.name)}.parquet`;
          const path = this.d.store.localPath(key);
          await mkdir(dirname(path), { recursive: true });
          await this.d.writeParquet(session, `SELECT ${sqlString(p.file.name)} AS file, ${sqlString(p.table.name)} AS "table", CAST(line AS BIGINT) AS line, "column", rule, shape FROM (${reportParts.join(' UNION ALL ')})`, path, encKey);
          reportFiles.push(key);
        }
        // One statement: a file's fixed cost counts when a delivery has hundreds of small files.
        await session.run([rows, checked, lines, rej, `${rej}_scan`].map((t) => `DROP TABLE IF EXISTS ${t}`).join('; '));
        bytesDone += p.file.bytes;
        o.onProgress?.({ phase: 'write', done: bytesDone, total: totalBytes, file: p.file.name, reading: readTyped ? 'typed' : 'text', ...(readTyped ? { proven } : {}) });
        entries.push(...fileEntries);
        await o.afterFile?.(p.file.name);
      };

      // Referenced tables first, one at a time (every lane needs their pseudonyms); then the rest,
      // largest first, each lane taking the next file when it is free. The first failure stops the
      // lanes at their next file; the run fails once both have stopped.
      for (const p of plan.filter((x) => sources.has(x.table.name))) await processFile(lanes[0] as Lane, p);
      const queue = plan.filter((x) => !sources.has(x.table.name)).sort((a, b) => b.file.bytes - a.file.bytes);
      let failure: { error: unknown } | undefined;
      await Promise.all(lanes.map(async (lane) => {
        for (let p = queue.shift(); p !== undefined && failure === undefined; p = queue.shift()) {
          try {
            await processFile(lane, p);
          } catch (e) {
            failure ??= { error: e };
          }
        }
      }));
      if (failure !== undefined) throw failure.error;
    } finally {
      const first = lanes[0];
      if (first !== undefined) {
        await first.session.run('RESET preserve_insertion_order; RESET disabled_optimizers; RESET partitioned_write_flush_threshold').catch(() => undefined);
        for (const { type } of noms.values()) await first.session.run(`DROP TYPE IF EXISTS ${type}`).catch(() => undefined);
      }
      for (const lane of lanes) {
        await lane.session.run(`RESET VARIABLE enclave_ipad; RESET VARIABLE enclave_opad; DROP TABLE IF EXISTS ${PSEUDONYMS}`).catch(() => undefined);
        lane.session.close();
      }
    }
    await this.d.store.removePrefix(`${stagingKey}/_nomenclatures`);
    files.sort((a, b) => (a.path < b.path ? -1 : 1));
    entries.sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1));
    entries.length = Math.min(entries.length, MAX_REPORT_ENTRIES);
    const tableReports: Record<string, TableReport> = {};
    for (const [table, t] of [...byTable].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      tableReports[table] = { table, files: t.files.sort(), rowsDelivered: t.landed + t.quarantined, rowsLanded: t.landed, rowsQuarantined: t.quarantined, violations: t.violations };
    }
    reportFiles.sort();
    const quarantine: QuarantineReport = { total: quarantined, byRule, byFile, byTable: tableReports, entries, storedEntries, reportFiles };
    await writeFile(this.d.store.localPath(`${stagingKey}/_quarantine-report.json`), `${JSON.stringify({ runId, ...quarantine }, null, 1)}\n`).catch(async () => {
      await mkdir(this.d.store.localPath(stagingKey), { recursive: true });
      await writeFile(this.d.store.localPath(`${stagingKey}/_quarantine-report.json`), `${JSON.stringify({ runId, ...quarantine }, null, 1)}\n`);
    });
    const columnsOf: Record<string, string[]> = {};
    for (const [table, cols] of [...tableColumns].sort((a, b) => (a[0] < b[0] ? -1 : 1))) columnsOf[table] = [...cols];
    return { files, rowsAccepted: accepted, quarantine, columns: columnsOf };
  }

  /** Publishes the run's staged files as the next version (datasets domain), with the run's bookkeeping in the same commit. */
  private async commit(o: IngestOptions, runId: string, deliveryId: string, stagingKey: string, r: { files: ManifestFile[]; rowsAccepted: number; quarantine: QuarantineReport; columns: Readonly<Record<string, readonly string[]>> }, acceptedShort: readonly ShortTable[]): Promise<DatasetVersion> {
    return this.d.datasets.publish({
      dataset: o.dataset, runId, deliveryId, stagingKey, files: r.files, columns: r.columns, rowsAccepted: r.rowsAccepted, rowsQuarantined: r.quarantine.total,
      event: (merkleRoot) => ({ actor: o.actor, action: 'ingest.commit', target: `dataset:${o.dataset}`, ...(o.requestId === undefined ? {} : { requestId: o.requestId }), details: { runId, deliveryId, merkleRoot, files: r.files.length, rowsAccepted: r.rowsAccepted, rowsQuarantined: r.quarantine.total, ...(acceptedShort.length === 0 ? {} : { shortTablesAccepted: acceptedShort.map((t) => ({ table: t.table, rowsDelivered: t.rowsDelivered, rowsLanded: t.rowsLanded })) }) } }),
      inCommit: async (tx: AuditedTx, v) => {
        await tx.query("UPDATE ingest_runs SET status = 'committed', finished_at = now(), version = $2, staging_key = $3, report = $4 WHERE id = $1", [
          runId, v.version, v.prefix, JSON.stringify(storedReport(r.quarantine)),
        ]);
      },
    });
  }
}

/** DuckDB's out-of-memory error, as an operator can act on it (the engine does not spill raw values). */
function outOfMemory(e: unknown): AppError | undefined {
  const message = e instanceof Error ? e.message : '';
  const cause = e instanceof AppError && e.cause instanceof Error ? e.cause.message : '';
  if (!/Out of Memory Error/i.test(`${message} ${cause}`)) return undefined;
  return new AppError('unavailable', 'ingestion ran out of engine memory; nothing was published', {
    hint: 'raise ENCLAVE_ENGINE_MEMORY (ingestion never spills raw values to disk), or ingest the delivery in smaller parts',
    cause: e,
  });
}

/** A run is alive while its heartbeat is fresh, unless its process is known to be gone (same host). */
function processAlive(host: string, pid: number): boolean {
  if (host !== hostname()) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function pushEntry(entries: QuarantineEntry[], e: QuarantineEntry): void {
  if (entries.length < MAX_REPORT_ENTRIES) entries.push(e);
}

function hmacSql(v: string): string {
  return `CASE WHEN ${v} IS NULL THEN NULL ELSE sha256(getvariable('enclave_opad') || unhex(sha256(getvariable('enclave_ipad') || encode(${v})))) END`;
}

/**
 * The columns each delivered table is written with: the catalogue columns its files carry (the
 * union over its files, in catalogue order). Columns the delivery does not carry are not written
 * as empty columns: a version holds what was delivered (its manifest lists it, `columns`).
 */
export function writtenColumns(plan: ReadonlyArray<{ readonly table: CatalogTable; readonly header: readonly string[] }>): Map<string, Set<string>> {
  const delivered = new Map<string, Set<string>>();
  for (const p of plan) {
    let set = delivered.get(p.table.name);
    if (set === undefined) delivered.set(p.table.name, (set = new Set()));
    for (const h of p.header) set.add(h);
  }
  const out = new Map<string, Set<string>>();
  for (const p of plan) {
    if (out.has(p.table.name)) continue;
    const got = delivered.get(p.table.name) ?? new Set<string>();
    const cols = p.table.columns.filter((c) => got.has(c.name));
    // A file carrying no catalogue column at all (every one ignored as extra) keeps the catalogue's list.
    out.set(p.table.name, new Set((cols.length > 0 ? cols : p.table.columns).map((c) => c.name)));
  }
  return out;
}

/** The partition year of a row, from the table's `enclave.yearColumn`. */
function yearSql(t: CatalogTable, typed: (c: CatalogColumn) => string): string {
  const col = typeof t.enclave?.['yearColumn'] === 'string' ? t.enclave['yearColumn'] : undefined;
  if (col === undefined) return 'NULL::INTEGER';
  const c = t.columns.find((x) => x.name === col);
  if (c === undefined) throw new AppError('invalid', `table ${t.name}: yearColumn ${col} is not one of its columns`, { hint: 'fix the schema file' });
  return c.type === 'date' || c.type === 'datetime' ? `year(${typed(c)})` : `CAST(${typed(c)} AS INTEGER)`;
}

/** Which catalogue table a file is (see `tableOfFile`); a file that matches none refuses the delivery. */
export function matchTable(f: InputFile, tables: readonly CatalogTable[], profile: DeliveryProfile = DEFAULT_PROFILE): { table: CatalogTable; year: number | undefined } {
  const m = tableOfFile(f, tables, profile);
  if (m !== undefined) return m;
  throw new AppError('invalid', `${f.name} matches no table of the dataset`, {
    hint: `name files after their table (${tables.slice(0, 6).map((t) => `${t.name}.csv`).join(', ')}, …), or give the profile a file rule; enclave ingest --detect DIR lists every file`,
  });
}

/** Every file's table; all unknown files named in one error. */
function matchFiles(files: readonly InputFile[], tables: readonly CatalogTable[], profile: DeliveryProfile): Array<{ file: InputFile; table: CatalogTable; year: number | undefined }> {
  const unknown = files.filter((f) => tableOfFile(f, tables, profile) === undefined);
  if (unknown.length === 1) matchTable(unknown[0] as InputFile, tables, profile);
  if (unknown.length > 1) {
    throw new AppError('invalid', `${unknown.length} files match no table of the dataset: ${unknown.map((f) => f.name).join(', ')}`, {
      hint: 'name files after their table, or give the profile file rules; enclave ingest --detect DIR shows what each file would be',
    });
  }
  return files.map((f) => ({ file: f, ...matchTable(f, tables, profile) }));
}

/** Refuses a file whose header has unknown (unless ignored) or duplicate columns, or lacks a required column. */
export function checkHeader(file: string, header: readonly string[], columns: readonly CatalogColumn[], extraColumns: 'refuse' | 'ignore' = 'refuse'): void {
  const known = new Set(columns.map((c) => c.name));
  const seen = new Set<string>();
  for (const [i, h] of header.entries()) {
    if (seen.has(h)) throw new AppError('invalid', `${file} line 1: column ${h} appears twice`, { hint: 'each column once in the header' });
    seen.add(h);
    if (!known.has(h) && extraColumns === 'refuse') {
      throw new AppError('invalid', `${file} line 1, field ${i + 1}: column ${JSON.stringify(h)} is not in the catalogue`, {
        hint: 'fix the header, import the schema version that declares this column, or let the profile ignore extra columns ("extraColumns": "ignore")',
      });
    }
  }
  for (const c of columns) {
    if (c.constraints.required === true && !seen.has(c.name)) {
      throw new AppError('invalid', `${file} line 1: required column ${c.name} is missing`, { hint: 'the producer must deliver every required column' });
    }
  }
}

/** Where a run's complete report lives in the store: beside the dataset's versions, outside the staging, so a refused run keeps it. */
function reportKey(dataset: string, runId: string): string {
  return `ingest-reports/${dataset}/${runId}`;
}

/** The report as kept in the run's row: complete counts and where the entries are, not the entries. */
function storedReport(r: QuarantineReport): JsonValue {
  return { total: r.total, byRule: r.byRule, byFile: r.byFile, byTable: r.byTable as unknown as JsonValue, storedEntries: r.storedEntries, reportFiles: [...r.reportFiles], relations: (r.relations ?? []) as unknown as JsonValue };
}

function formatShare(share: number): string {
  return `${String(Math.round(share * 1000) / 10)} %`;
}

/**
 * Delivered tables that land nothing, or under `minShare` of their rows, with their main
 * reasons. A file without rows lands nothing but loses nothing: it is not short.
 */
export function shortTables(r: Pick<QuarantineReport, 'byTable'>, minShare: number): ShortTable[] {
  const out: ShortTable[] = [];
  for (const t of Object.values(r.byTable)) {
    if (t.rowsDelivered === 0) continue;
    if (t.rowsLanded > 0 && t.rowsLanded >= minShare * t.rowsDelivered) continue;
    const reasons = Object.entries(t.violations).flatMap(([column, rules]) => Object.entries(rules).map(([rule, n]) => ({ column, rule, n })))
      .sort((a, b) => b.n - a.n || (a.column < b.column ? -1 : 1)).slice(0, 5).map((x) => `${x.column} ${x.rule} ×${x.n}`);
    out.push({ table: t.table, rowsDelivered: t.rowsDelivered, rowsLanded: t.rowsLanded, reasons });
  }
  return out;
}
