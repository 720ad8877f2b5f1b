import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { canonicalJson, generateLogKey, hashLeaf, rootFromLeafHashes, type JsonValue, type LogSigner } from '../../src/audit/index.ts';
import { sqlString, type EngineSession } from '../../src/engine/index.ts';
import { DatasetLocations, DatasetVersions, type DatasetVersion, type Manifest, type ManifestFile } from '../../src/datasets/index.ts';
import { IngestService, ingestCatalogFrom } from '../../src/ingest/index.ts';
import { MigrationService } from '../../src/migrate/index.ts';
import { openPartitionPipes, writeEncryptedParquet } from '../../src/parquet-crypto/index.ts';
import { StoreRegistry } from '../../src/store/index.ts';
import { openTestPlatform, type TestPlatform } from './platform.ts';

export const operator = { kind: 'person', id: 'test:operator' } as const;

export interface MigratePlatform extends TestPlatform {
  readonly stores: StoreRegistry;
  readonly locations: DatasetLocations;
  /** The versions read through the location resolver, as main.ts wires them. */
  readonly datasetsL: DatasetVersions;
  /** Ingestion wired to the location resolver, as main.ts wires it. */
  readonly ingestL: IngestService;
  readonly migration: MigrationService;
  readonly signer: LogSigner;
}

/** The test platform plus the store registry, the location resolver and the migration service. */
export async function openMigratePlatform(o: { readonly leaseSeconds?: number; readonly cacheMaxBytes?: number; readonly cacheHoldMs?: number } = {}): Promise<MigratePlatform> {
  const p = await openTestPlatform();
  const stores = new StoreRegistry().add('local', p.store);
  const locations = new DatasetLocations({ db: p.t.db, stores, cacheDir: join(p.dir, 'cache'), ...(o.cacheMaxBytes === undefined ? {} : { cacheMaxBytes: o.cacheMaxBytes }), ...(o.cacheHoldMs === undefined ? {} : { cacheHoldMs: o.cacheHoldMs }) });
  const datasetsL = new DatasetVersions({ db: p.t.db, audit: p.audit, keys: p.keys, store: p.store, locations });
  const ingestL = new IngestService({ db: p.t.db, audit: p.audit, keys: p.keys, catalog: ingestCatalogFrom(p.catalog), engine: p.engine, store: p.store, writeParquet: writeEncryptedParquet, openPartitions: openPartitionPipes, datasets: datasetsL });
  const signer = generateLogKey('enclave.test/migration');
  const migration = new MigrationService({ db: p.t.db, audit: p.audit, keys: p.keys, datasets: datasetsL, engine: p.engine, stores, locations, signer, leaseSeconds: o.leaseSeconds ?? 1 });
  return { ...p, stores, locations, datasetsL, ingestL, migration, signer };
}

const people = {
  name: 'IR_BEN_R', title: 'people', product: 'TEST', primaryKey: ['BEN_NIR_PSA'], enclave: { unpartitioned: true },
  fields: [
    { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
    { name: 'BEN_SEX_COD', type: 'integer', constraints: { required: true, enum: [1, 2] } },
    { name: 'BEN_NAI_ANN', type: 'year', constraints: { required: true, minimum: 1900, maximum: 2100 } },
  ],
};
const acts = {
  name: 'ER_PRS_F', title: 'acts', product: 'TEST', primaryKey: [], enclave: { yearColumn: 'EXE_SOI_DTD' },
  fields: [
    { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
    { name: 'EXE_SOI_DTD', type: 'date', constraints: { required: true } },
    { name: 'PRS_PAI_MNT', type: 'number', constraints: { required: true } },
  ],
};
const psa = (i: number): string => `P${String(i).padStart(16, '0')}`;

/**
 * A small delivery ingested as dataset `demo` (two tables shaped like SNDS's IR_BEN_R and
 * ER_PRS_F, one file per year): a dozen files of tens of KB, ingested in about a second.
 */
export async function ingestSample(p: Pick<MigratePlatform, 'catalog' | 'dir' | 'ingestL'>, o: { readonly rows?: number; readonly years?: number; readonly seed?: number } = {}): Promise<void> {
  if ((await p.catalog.listDatasets()).every((d) => d.name !== 'demo')) {
    const dir = join(p.dir, 'schema');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'IR_BEN_R.json'), JSON.stringify(people));
    await writeFile(join(dir, 'ER_PRS_F.json'), JSON.stringify(acts));
    await p.catalog.importDirectory(dir, { dataset: 'demo', actor: operator });
  }
  const seed = o.seed ?? 1;
  const out = join(p.dir, `delivery-${seed}`);
  await mkdir(out, { recursive: true });
  const n = 200;
  await writeFile(join(out, 'IR_BEN_R.csv'), ['BEN_NIR_PSA;BEN_SEX_COD;BEN_NAI_ANN', ...Array.from({ length: n }, (_, i) => `${psa(i)};${1 + (i % 2)};${1940 + ((i * seed) % 60)}`)].join('\n') + '\n');
  const rows = o.rows ?? 2000;
  const years = o.years ?? 8;
  const lines = ['BEN_NIR_PSA;EXE_SOI_DTD;PRS_PAI_MNT'];
  for (let i = 0; i < rows * years; i++) lines.push(`${psa((i * 7 + seed) % n)};${2015 + (i % years)}-0${1 + (i % 9)}-1${i % 10};${((i * 37 + seed) % 10000) / 100}`);
  await writeFile(join(out, 'ER_PRS_F.csv'), lines.join('\n') + '\n');
  await p.ingestL.ingest({ dataset: 'demo', inputs: [out], actor: operator });
}

/** ER_PRS_F as SNDS ships it is wide (dozens of codes and amounts per act); the bulk base keeps 16 columns. */
const wideActs = {
  name: 'ER_PRS_F', title: 'acts (wide)', product: 'TEST', primaryKey: [], enclave: { yearColumn: 'EXE_SOI_DTD' },
  fields: [
    { name: 'BEN_NIR_PSA', type: 'string', constraints: { required: true, pattern: '^[0-9A-Z]{17}$' } },
    { name: 'EXE_SOI_DTD', type: 'date', constraints: { required: true } },
    { name: 'PRS_PAI_MNT', type: 'number', constraints: { required: true } },
    ...['PRS_ACT_QTE', 'PRS_NAT_REF', 'PSE_SPE_COD', 'DCT_ORD_NUM', 'PFS_EXE_NUM', 'PFS_PRE_NUM', 'ORG_CLE_NUM', 'ETB_PRE_FIN', 'PRS_ORD_NUM'].map((name) => ({ name, type: 'integer' })),
    { name: 'FLX_TRT_DTD', type: 'date' },
    ...['BSE_REM_MNT', 'BSE_REM_BSE', 'CPL_REM_MNT'].map((name) => ({ name, type: 'number' })),
  ],
};

/** Column expressions of generated act `i` (a BIGINT), typed as ingestion types the catalogue's fields. */
function actColumns(year: number): string {
  const h = (k: number): string => `(hash(i, ${year}, ${k}) >> 1)::BIGINT`;
  return [
    'p.BEN_NIR_PSA',
    `(DATE '${year}-01-01' + (hash(i, ${year}) % 365)::INTEGER)::DATE AS EXE_SOI_DTD`,
    `((hash(i, ${year}, 99) % 100000) / 100)::DOUBLE AS PRS_PAI_MNT`,
    ...['PRS_ACT_QTE', 'PRS_NAT_REF', 'PSE_SPE_COD', 'DCT_ORD_NUM', 'PFS_EXE_NUM', 'PFS_PRE_NUM', 'ORG_CLE_NUM', 'ETB_PRE_FIN', 'PRS_ORD_NUM'].map((c, k) => `${h(k)} AS ${c}`),
    `(DATE '${year}-01-01' + (hash(i, ${year}, 50) % 400)::INTEGER)::DATE AS FLX_TRT_DTD`,
    ...['BSE_REM_MNT', 'BSE_REM_BSE', 'CPL_REM_MNT'].map((c, k) => `(${h(60 + k)} % 100000000)::DOUBLE / 100 AS ${c}`),
  ].join(', ');
}

export interface BulkBase {
  /** Version 1: a real ingestion of a small delivery. Version 2: the bulk partitions. */
  readonly v1: DatasetVersion;
  readonly v2: DatasetVersion;
  readonly bytes: number;
  readonly rows: number;
  readonly seconds: number;
}

/**
 * A synthetic base of `bytes` bytes as dataset `bulk`: version 1 is a real ingestion of a small
 * CSV delivery (people and wide acts); version 2 carries the same people and one large
 * partition of acts per year, generated in DuckDB and written by the product's writer
 * (`writeEncryptedParquet`, the dataset's key, the same column types as version 1's files),
 * then recorded as ingestion commits a version: manifest with SHA-256 per file and Merkle root,
 * files moved from staging in one rename, `dataset_versions` row in an audited transaction.
 * Ingesting GBs of CSV row by row would take tens of minutes; these are still real encrypted
 * Parquet files that the engine reads.
 */
export async function ingestBulk(p: Pick<MigratePlatform, 'catalog' | 'dir' | 'ingestL' | 'keys' | 'engine' | 'store' | 'audit' | 't'>, o: { readonly bytes: number; readonly years?: number; readonly concurrency?: number; readonly onFile?: (done: number, total: number) => void }): Promise<BulkBase> {
  const t0 = Date.now();
  const schema = join(p.dir, 'bulk-schema');
  await mkdir(schema, { recursive: true });
  await writeFile(join(schema, 'IR_BEN_R.json'), JSON.stringify(people));
  await writeFile(join(schema, 'ER_PRS_F.json'), JSON.stringify(wideActs));
  await p.catalog.importDirectory(schema, { dataset: 'bulk', actor: operator });
  const delivery = join(p.dir, 'bulk-delivery');
  await mkdir(delivery, { recursive: true });
  const n = 2000;
  await writeFile(join(delivery, 'IR_BEN_R.csv'), ['BEN_NIR_PSA;BEN_SEX_COD;BEN_NAI_ANN', ...Array.from({ length: n }, (_, i) => `${psa(i)};${1 + (i % 2)};${1930 + (i % 90)}`)].join('\n') + '\n');
  const cols = wideActs.fields.map((f) => f.name);
  const lines = [cols.join(';')];
  for (let i = 0; i < 10_000; i++) {
    lines.push(cols.map((c) => (c === 'BEN_NIR_PSA' ? psa(i % n) : c.endsWith('_DTD') ? `20${15 + (i % 8)}-0${1 + (i % 9)}-1${i % 10}` : c.endsWith('_MNT') || c.endsWith('_BSE') ? ((i * 37) % 10000) / 100 : (i * 7919 + c.length) % 100000)).join(';'));
  }
  await writeFile(join(delivery, 'ER_PRS_F.csv'), lines.join('\n') + '\n');
  await p.ingestL.ingest({ dataset: 'bulk', inputs: [delivery], actor: operator });
  const v1 = await p.ingestL.version('bulk', 1);

  const years = o.years ?? 24;
  const runId = `run_bulk_${randomBytes(4).toString('hex')}`;
  const staging = `datasets/bulk/.staging/${runId}`;
  const files: ManifestFile[] = [];
  await p.keys.withDataKey('dataset', 'bulk', 'encryption', async (key) => {
    const open = async (): Promise<EngineSession> => {
      const s = await p.engine.session();
      await s.addParquetKey('bulk_key', key);
      return s;
    };
    const s = await open();
    const v1File = (table: string): string => p.store.localPath(`${v1.prefix}/${v1.manifest.files.find((f) => f.table === table)?.path ?? ''}`);
    const read = (path: string): string => `read_parquet(${sqlString(path)}, encryption_config = {footer_key: 'bulk_key'})`;
    // The people of version 1, carried over; the acts reference them.
    const benPath = 'IR_BEN_R/year=0/IR_BEN_R.parquet';
    await mkdir(dirname(p.store.localPath(`${staging}/${benPath}`)), { recursive: true });
    const ben = await writeEncryptedParquet(s, `SELECT * FROM ${read(v1File('IR_BEN_R'))}`, p.store.localPath(`${staging}/${benPath}`), key);
    files.push({ path: benPath, table: 'IR_BEN_R', year: 0, rows: n, bytes: ben.bytes, sha256: ben.sha256 });
    // (`year` is DuckDB's hive partition column, from the path.)
    const v1Types = (await s.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${read(v1File('ER_PRS_F'))}`)).filter((c) => c.column_name !== 'year');
    s.close();
    // One partition per year, sized from the first one's bytes per row to reach the target.
    let bytesPerRow = 110;
    let written = ben.bytes;
    let next = 0;
    const partition = async (s: EngineSession, year: number): Promise<void> => {
      const rows = Math.max(1000, Math.round((o.bytes - written) / Math.max(1, years - files.length + 1) / bytesPerRow));
      const rel = `ER_PRS_F/year=${year}/ER_PRS_F.parquet`;
      const out = p.store.localPath(`${staging}/${rel}`);
      await mkdir(dirname(out), { recursive: true });
      const sql = `SELECT ${actColumns(year)} FROM range(${rows}) r(i) JOIN (SELECT BEN_NIR_PSA, row_number() OVER (ORDER BY BEN_NIR_PSA) - 1 AS k FROM ${read(v1File('IR_BEN_R'))}) p ON p.k = i % ${n}`;
      if (files.length === 1) {
        const t = await s.all<{ column_name: string; column_type: string }>(`DESCRIBE ${sql}`);
        if (JSON.stringify(t.map((c) => [c.column_name, c.column_type])) !== JSON.stringify(v1Types.map((c) => [c.column_name, c.column_type]))) {
          throw new Error(`bulk columns ${JSON.stringify(t)} differ from version 1's ${JSON.stringify(v1Types)}`);
        }
      }
      const w = await writeEncryptedParquet(s, sql, out, key);
      bytesPerRow = w.bytes / rows;
      written += w.bytes;
      files.push({ path: rel, table: 'ER_PRS_F', year, rows, bytes: w.bytes, sha256: w.sha256 });
      o.onFile?.(files.length - 1, years);
    };
    const worker = async (): Promise<void> => {
      const ws = await open();
      try {
        for (let k = next++; k < years; k = next++) await partition(ws, 2000 + k);
      } finally {
        ws.close();
      }
    };
    // The first partition alone (it measures bytes per row), then the rest in parallel.
    next = 1;
    const first = await open();
    try {
      await partition(first, 2000);
    } finally {
      first.close();
    }
    await Promise.all(Array.from({ length: o.concurrency ?? 2 }, worker));
  });
  files.sort((a, b) => (a.path < b.path ? -1 : 1));

  // Recorded as IngestService.commit records a version.
  const merkleRoot = rootFromLeafHashes(files.map((f) => hashLeaf(Buffer.from(canonicalJson(f as unknown as JsonValue))))).toString('hex');
  const rows: Record<string, Record<string, number>> = {};
  for (const f of files) (rows[f.table] ??= {})[String(f.year)] = f.rows;
  const deliveryId = createHash('sha256').update(`bulk ${o.bytes} ${years} ${runId}`).digest('hex');
  const prefix = `datasets/bulk/v0002-${runId}`;
  const manifest: Manifest = { format: 'enclave-manifest/1', dataset: 'bulk', version: 2, deliveryId, createdAt: new Date().toISOString(), files, rows, merkleRoot };
  await writeFile(p.store.localPath(`${staging}/manifest.json`), `${JSON.stringify(manifest, null, 1)}\n`);
  const bytes = files.reduce((s, f) => s + f.bytes, 0);
  const total = files.reduce((s, f) => s + f.rows, 0);
  await p.audit.transaction({ actor: operator, action: 'ingest.commit', target: 'dataset:bulk', details: { runId, deliveryId, merkleRoot, files: files.length, rowsAccepted: total, rowsQuarantined: 0, generated: 'test/helpers/migrate.ts ingestBulk' } }, async (tx) => {
    await tx.query("INSERT INTO ingest_runs (id, dataset, delivery_id, status, staging_key, host, pid, finished_at, version, report) VALUES ($1, 'bulk', $2, 'committed', $3, $4, $5, now(), 2, '{}')", [runId, deliveryId, prefix, hostname(), process.pid]);
    await p.store.movePrefix(staging, prefix);
    await tx.query(
      `INSERT INTO dataset_versions (dataset, version, delivery_id, run_id, store_id, prefix, merkle_root, files, bytes, rows_accepted, rows_quarantined, manifest)
       VALUES ('bulk', 2, $1, $2, $3, $4, $5, $6, $7, $8, 0, $9)`,
      [deliveryId, runId, p.store.id, prefix, merkleRoot, files.length, bytes, total, JSON.stringify(manifest)],
    );
  });
  return { v1, v2: await p.ingestL.version('bulk', 2), bytes: bytes + v1.bytes, rows: total + v1.rowsAccepted, seconds: (Date.now() - t0) / 1000 };
}
