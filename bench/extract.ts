/**
 * Extract materialisation throughput: `ExtractService.materialise` (the real service: plan,
 * DuckDB compile, re-keying HMAC in SQL, encryption through the transcoder, checkpoints and audit
 * events) against a raw DuckDB `COPY (SELECT ...) TO 'x.parquet'` of the same rows from the same
 * encrypted base files, with the same threads, in the same run.
 *
 *   node bench/extract.ts          a synthetic SNDS of 20 000 people, 2019-2023: 2.4 M extract rows
 *                                  (BENCH_EXTRACT_PEOPLE=3000 shows the fixed cost per build, about
 *                                  0.15 s: five audited transactions, one pipe and COPY per table)
 *                                  best of 3 runs of each (BENCH_EXTRACT_REPEAT), alternated
 *
 * ratio = raw time / extract time: 1.00 is as fast as raw DuckDB; the target is ≥ 0.5.
 * What the extract does that the raw COPY does not: HMAC-SHA256 of every person pseudonym,
 * AES-GCM of every page, SHA-256 of every file, a row count per file, one audited checkpoint per table.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { formatTable } from '../src/cli/table.ts';
import { openDuckDbExtractBuilder } from '../src/engine/duckdb-extract/builder.ts';
import { permitSha256, type PermitDocument } from '../src/governance/index.ts';
import { datasetVersionsFrom, extractCatalogFrom, extractKeysFrom } from '../src/main.ts';
import { registerParquetKey } from '../src/parquet-crypto/index.ts';
import { synthesize } from '../src/synth/index.ts';
import { ExtractService } from '../src/workspace/extract/index.ts';
import { openTestPlatform } from '../test/helpers/platform.ts';

const people = Number(process.env['BENCH_EXTRACT_PEOPLE'] ?? 20000);
const REPEAT = Math.max(1, Number(process.env['BENCH_EXTRACT_REPEAT'] ?? 3));
const THREADS = 2;
const actor = { kind: 'service', id: 'bench' } as const;
const YEARS = { from: 2019, to: 2023 };
const TABLES: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['ER_PRS_F', ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'FLX_DIS_DTD', 'PRS_NAT_REF', 'PRS_ACT_QTE', 'PRS_PAI_MNT', 'BSE_REM_MNT', 'PSE_SPE_COD']],
  ['T_MCOaaC', ['NIR_ANO_17', 'ETA_NUM', 'RSA_NUM', 'ENT_DAT', 'SOR_DAT']],
  ['IR_BEN_R', ['BEN_NIR_PSA', 'BEN_SEX_COD', 'BEN_NAI_ANN', 'BEN_RES_DPT']],
];

const p = await openTestPlatform();
try {
  process.stdout.write(`synthesising and ingesting ${people} people, ${YEARS.from}-${YEARS.to}…\n`);
  await p.catalog.importBuiltin(actor);
  await synthesize({ people, startYear: YEARS.from, endYear: YEARS.to, seed: 3, out: join(p.dir, 'synth'), parquet: false });
  await p.ingest.ingest({ dataset: 'snds', inputs: [join(p.dir, 'synth', 'csv')], actor });
  await rm(join(p.dir, 'synth'), { recursive: true, force: true });
  await p.audit.transaction({ actor, action: 'bench.keys', target: 'project:bench' }, async (tx) => {
    await p.keys.ensureDataKey(tx, 'project', 'bench', 'encryption');
    await p.keys.ensureDataKey(tx, 'project', 'bench', 'pseudonymisation');
  });
  const document: PermitDocument = {
    schemaVersion: 1, projectId: 'bench', title: 'bench', datasets: [{ dataset: 'snds', tables: TABLES.map(([table, columns]) => ({ table, columns: [...columns] })) }],
    years: YEARS, population: { description: 'all', criteria: [] }, members: [{ personId: 'pi', role: 'principal_investigator' }], tools: ['web_sql'],
    disclosure: { minimumCellCount: 11 }, validFrom: '2026-01-01', validUntil: '2026-12-31',
  };
  const permit = { version: 1, sha256: permitSha256(document), document };
  const builder = await openDuckDbExtractBuilder({ threads: THREADS });
  const service = new ExtractService({
    db: p.t.db, audit: p.audit, store: p.store, builder, permits: { active: async () => permit },
    catalog: extractCatalogFrom(p.catalog), datasets: datasetVersionsFrom(p.ingest, p.keys, p.store), keys: extractKeysFrom(p.keys),
  });

  // Raw DuckDB: the same rows (same files, same years), plain Parquet, ZSTD, same threads.
  const v = await p.ingest.version('snds');
  const raw = await DuckDBInstance.create(':memory:', { threads: String(THREADS), temp_directory: '' });
  const conn = await raw.connect();
  await p.keys.withDataKey('dataset', 'snds', 'encryption', (k) => registerParquetKey(conn, 'kraw', k));
  const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;
  const rawSql = TABLES.map(([table, columns]) => {
    const files = v.manifest.files.filter((f) => f.table === table && (table === 'IR_BEN_R' || (f.year >= YEARS.from && f.year <= YEARS.to))).map((f) => q(p.store.localPath(`${v.prefix}/${f.path}`)));
    const where = table === 'ER_PRS_F' ? ` WHERE year(FLX_DIS_DTD) BETWEEN ${YEARS.from} AND ${YEARS.to}` : '';
    return [table, `SELECT ${columns.join(', ')} FROM read_parquet([${files.join(', ')}], encryption_config = {footer_key: 'kraw'})${where}`] as const;
  });
  const rawRun = async (i: number): Promise<{ secs: number; rows: number }> => {
    const t = performance.now();
    let rows = 0;
    for (const [table, sql] of rawSql) {
      const out = join(p.dir, `raw-${i}-${table}.parquet`);
      const r = await conn.runAndReadAll(`COPY (${sql}) TO ${q(out)} (FORMAT parquet, COMPRESSION zstd)`);
      rows += Number((r.getRows()[0] as unknown[] | undefined)?.[0] ?? 0);
    }
    const secs = (performance.now() - t) / 1000;
    for (const [table] of rawSql) await rm(join(p.dir, `raw-${i}-${table}.parquet`), { force: true });
    return { secs, rows };
  };
  const extractRun = async (): Promise<{ secs: number; rows: number }> => {
    const t = performance.now();
    const m = await service.materialise('bench', { force: true });
    const secs = (performance.now() - t) / 1000;
    return { secs, rows: m?.tables.reduce((a, x) => a + x.rows, 0) ?? 0 };
  };
  let bestRaw = { secs: Infinity, rows: 0 };
  let bestExtract = { secs: Infinity, rows: 0 };
  for (let i = 0; i < REPEAT; i++) {
    const r = await rawRun(i);
    if (r.secs < bestRaw.secs) bestRaw = r;
    const e = await extractRun();
    if (e.secs < bestExtract.secs) bestExtract = e;
  }
  if (bestRaw.rows !== bestExtract.rows) throw new Error(`row counts differ: raw ${bestRaw.rows}, extract ${bestExtract.rows}`);
  const ratio = bestRaw.secs / bestExtract.secs;
  process.stdout.write(`${formatTable(['', 'rows', 'seconds (best of ' + String(REPEAT) + ')', 'rows/s'], [
    ['raw DuckDB COPY → Parquet', String(bestRaw.rows), bestRaw.secs.toFixed(2), Math.round(bestRaw.rows / bestRaw.secs).toLocaleString('en')],
    ['extract (re-keyed, encrypted, audited)', String(bestExtract.rows), bestExtract.secs.toFixed(2), Math.round(bestExtract.rows / bestExtract.secs).toLocaleString('en')],
  ])}\nextract / raw throughput: ${ratio.toFixed(2)}× (target ≥ 0.50×)\n`);
  conn.closeSync();
  raw.closeSync();
  await builder.close();
} finally {
  await p.close();
}
