/**
 * `npm run bench`: figures as ratios against the raw tool measured in the same run.
 *
 *   npm run bench                 20,000 synthetic people (override: BENCH_PEOPLE=100000)
 *   BENCH_DEFECTS=0               without the delivery with bad rows
 *   BENCH_SAS=0                   without the SAS export
 *
 * 1. synthesis rows/s;
 * 2. ingestion (validate + pseudonymise + encrypted Parquet) vs plain DuckDB reading the same
 *    CSV, told each column's type and the dates' format, and writing Parquet: rows/s, MB/s and
 *    the ratio, for the ISO delivery and the same people in a non-ISO profile (dates
 *    dd/MM/yyyy, flags True/False) and as a SAS export (every field quoted, Latin-1, SAS datetimes,
 *    `.` and blanks for missing values, exponents, DCIR files by month: many more, smaller files),
 *    with where ingestion's time went; then the same people with 0.5 % bad rows (quarantined with
 *    lines and reasons: a second pass over the files that have some);
 * 3. the read cost of encryption: the same scan on encrypted vs plain Parquet.
 */
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, generateLogKey } from '../src/audit/index.ts';
import { CatalogService } from '../src/catalog/index.ts';
import { DatasetVersions } from '../src/datasets/index.ts';
import { openPglite } from '../src/db/pglite.ts';
import { migrate } from '../src/db/index.ts';
import { sqlString } from '../src/engine/index.ts';
import { openDuckDb } from '../src/engine/duckdb.ts';
import { IngestService, ingestCatalogFrom, parseProfile, tableOfFile, type IngestProgress } from '../src/ingest/index.ts';
import { KeyService } from '../src/keys/index.ts';
import { openPartitionPipes, writeEncryptedParquet } from '../src/parquet-crypto/index.ts';
import { LocalStore } from '../src/store/local.ts';
import { synthesize } from '../src/synth/index.ts';
import { formatTable } from '../src/cli/table.ts';
import { rawCsvSql, writeNonIso, type RawReading } from './non-iso.ts';

const people = Number(process.env['BENCH_PEOPLE'] ?? 20_000);
const dir = await mkdtemp(join(tmpdir(), 'enclave-bench-'));
const actor = { kind: 'service', id: 'bench' } as const;

/** Where one ingestion's time went, from its progress events: fingerprint, files (wall and per file), publish. */
interface Phases {
  readonly onProgress: (p: IngestProgress) => void;
  report(total: number): string;
}
function phases(): Phases {
  const t0 = performance.now();
  let firstHash: number | undefined;
  let lastHash: number | undefined;
  let firstFile: number | undefined;
  let lastFile = 0;
  const started = new Map<string, number>();
  const perFile = new Map<string, number>();
  return {
    onProgress(p) {
      const now = performance.now();
      if (p.phase === 'hash') {
        firstHash ??= now;
        lastHash = now;
      }
      if (p.phase === 'validate' && p.file !== undefined) {
        firstFile ??= now;
        started.set(p.file, now);
      }
      if (p.phase === 'write' && p.file !== undefined) {
        lastFile = now;
        perFile.set(p.file, now - (started.get(p.file) ?? now));
      }
    },
    report(total) {
      const s = (ms: number): string => (ms / 1000).toFixed(2);
      const top = [...perFile].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([f, ms]) => `${f} ${s(ms)}`).join(', ');
      return `catalogue ${s((firstHash ?? t0) - t0)} s, SHA-256 ${s((lastHash ?? t0) - (firstHash ?? t0))} s, run start ${s((firstFile ?? t0) - (lastHash ?? t0))} s, files ${s(lastFile - (firstFile ?? t0))} s (two lanes; largest: ${top}), publish ${s(total * 1000 - (lastFile - t0))} s`;
    },
  };
}

async function firstLine(path: string): Promise<string[]> {
  const h = await open(path);
  try {
    const buf = Buffer.alloc(65_536);
    const { bytesRead } = await h.read(buf, 0, buf.length, 0);
    return (buf.subarray(0, bytesRead).toString('latin1').split('\n')[0] ?? '').split(';').map((h) => h.replace(/^"(.*)"$/, '$1'));
  } finally {
    await h.close();
  }
}

try {
  let t = performance.now();
  const stats = await synthesize({ people, startYear: 2019, endYear: 2023, seed: 1, out: join(dir, 'delivery'), parquet: false });
  const synthSecs = (performance.now() - t) / 1000;
  const rows = Object.values(stats.rows).reduce((a, b) => a + b, 0);
  const csvDir = join(dir, 'delivery', 'csv');
  const files = (await readdir(csvDir)).filter((f) => f.endsWith('.csv'));
  let bytes = 0;
  for (const f of files) bytes += (await stat(join(csvDir, f))).size;

  const db = await openPglite(join(dir, 'meta'));
  await migrate(db);
  const audit = new AuditLog(db, generateLogKey('bench/audit'));
  const keys = await KeyService.open(join(dir, 'keyring.json'), db, audit);
  const catalog = new CatalogService({ db, audit });
  await catalog.importBuiltin(actor);
  const ingestCatalog = ingestCatalogFrom(catalog);
  const tables = await ingestCatalog.listTables('snds');

  // The same people as a non-ISO producer writes them: dates dd/MM/yyyy, flags True/False.
  const nonIsoDir = join(dir, 'non-iso');
  await mkdir(nonIsoDir, { recursive: true });
  await writeNonIso(csvDir, nonIsoDir, tables);
  const nonIsoProfile = parseProfile({ delimiter: ';', dates: { default: 'dd/MM/yyyy' }, flags: { true: 'True', false: 'False' } });

  // Raw tool: DuckDB reads each CSV, told its columns' types and date format (as one converting
  // these files by hand would), and writes Parquet (zstd): same files, same machine. It runs just
  // before and just after each ingestion and counts for the mean of the two, so that a change of
  // load on a shared machine during the run weighs on both sides of the ratio.
  const engine = await openDuckDb({});
  const s = await engine.session();
  await s.run(`SET preserve_insertion_order = true`);
  const iso: RawReading = { dates: 'yyyy-MM-dd', flagsAsText: false };
  // CPU seconds of this process (DuckDB's threads and Node's, both sides run here): steadier than
  // wall time on a shared machine, as both sides keep the two cores busy.
  const cpu = (): number => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  let rawCpu = 0;
  const raw = async (from: string, prefix: string, reading: RawReading, names: readonly string[] = files): Promise<number> => {
    const t1 = performance.now();
    const c1 = cpu();
    for (const f of names) {
      const table = tableOfFile({ name: f }, tables)?.table;
      if (table === undefined) throw new Error(`${f}: no table`);
      const sql = rawCsvSql(join(from, f), table, await firstLine(join(from, f)), reading);
      await s.run(`COPY (${sql}) TO ${sqlString(join(dir, `${prefix}${f.replace('.csv', '.parquet')}`))} (FORMAT parquet, COMPRESSION zstd)`);
    }
    rawCpu = cpu() - c1;
    return (performance.now() - t1) / 1000;
  };
  const rawIsoBefore = await raw(csvDir, '', iso);
  /** Raw and ingest CPU seconds per delivery (raw: the mean of before and after). */
  const cpuOf: Record<string, { raw: number; ingest: number }> = {};
  let rawCpuBefore = rawCpu;

  // Enclave ingestion on the embedded defaults.
  const store = new LocalStore(join(dir, 'store'));
  const datasets = new DatasetVersions({ db, audit, keys, store });
  const ingest = new IngestService({ db, audit, keys, catalog: ingestCatalog, engine, store, writeParquet: writeEncryptedParquet, openPartitions: openPartitionPipes, datasets });
  const isoPhases = phases();
  t = performance.now();
  let c = cpu();
  const r = await ingest.ingest({ dataset: 'snds', inputs: [csvDir], actor, onProgress: isoPhases.onProgress });
  const ingestSecs = (performance.now() - t) / 1000;
  let ingestCpu = cpu() - c;
  const rawSecs = (rawIsoBefore + (await raw(csvDir, '', iso))) / 2;
  cpuOf['ISO'] = { raw: (rawCpuBefore + rawCpu) / 2, ingest: ingestCpu };
  const v = await ingest.version('snds');

  // The non-ISO delivery, raw then Enclave.
  const dmy: RawReading = { dates: 'dd/MM/yyyy', flagsAsText: true };
  const rawNonIsoBefore = await raw(nonIsoDir, 'n-', dmy);
  rawCpuBefore = rawCpu;
  const nonIsoPhases = phases();
  t = performance.now();
  c = cpu();
  const rn = await ingest.ingest({ dataset: 'snds', inputs: [nonIsoDir], actor, profile: nonIsoProfile, onProgress: nonIsoPhases.onProgress });
  const nonIsoSecs = (performance.now() - t) / 1000;
  ingestCpu = cpu() - c;
  const rawNonIsoSecs = (rawNonIsoBefore + (await raw(nonIsoDir, 'n-', dmy))) / 2;
  cpuOf['non-ISO'] = { raw: (rawCpuBefore + rawCpu) / 2, ingest: ingestCpu };
  if (rn.rowsQuarantined !== 0) throw new Error(`the non-ISO delivery quarantined ${rn.rowsQuarantined} rows: ${JSON.stringify(rn.quarantine.byRule)}`);
  if (rn.rowsAccepted !== r.rowsAccepted) throw new Error(`the non-ISO delivery landed ${rn.rowsAccepted} rows, the ISO one ${r.rowsAccepted}`);

  // The same people as a SAS export (the generator's sas convention), raw then Enclave with the
  // profile the generator declares (BENCH_SAS=0 leaves it out).
  const withSas = process.env['BENCH_SAS'] !== '0';
  let sasPhases = phases();
  let sasRow: { raw: number; ingest: number; files: number; bytes: number; rows: number } | undefined;
  if (withSas) {
    await synthesize({ people, startYear: 2019, endYear: 2023, seed: 1, out: join(dir, 'sas'), parquet: false, profile: 'sas' });
    const sasDir = join(dir, 'sas', 'csv');
    const sasFiles = (await readdir(sasDir)).filter((f) => f.endsWith('.csv'));
    let sasBytes = 0;
    for (const f of sasFiles) sasBytes += (await stat(join(sasDir, f))).size;
    const sasProfile = parseProfile(JSON.parse(await readFile(join(dir, 'sas', 'profile.json'), 'utf8')));
    const sasReading: RawReading = { dates: 'ddMMMyyyy:HH:mm:ss', flagsAsText: false, quoted: true, latin1: true, nulls: ['.', ' '] };
    const rawSasBefore = await raw(sasDir, 's-', sasReading, sasFiles);
    rawCpuBefore = rawCpu;
    sasPhases = phases();
    t = performance.now();
    c = cpu();
    const rs = await ingest.ingest({ dataset: 'snds', inputs: [sasDir], actor, profile: sasProfile, onProgress: sasPhases.onProgress });
    const sasSecs = (performance.now() - t) / 1000;
    ingestCpu = cpu() - c;
    const rawSasSecs = (rawSasBefore + (await raw(sasDir, 's-', sasReading, sasFiles))) / 2;
    cpuOf['SAS'] = { raw: (rawCpuBefore + rawCpu) / 2, ingest: ingestCpu };
    if (rs.rowsQuarantined !== 0) throw new Error(`the SAS delivery quarantined ${rs.rowsQuarantined} rows: ${JSON.stringify(rs.quarantine.byRule)}`);
    if (rs.rowsAccepted !== r.rowsAccepted) throw new Error(`the SAS delivery landed ${rs.rowsAccepted} rows, the ISO one ${r.rowsAccepted}`);
    sasRow = { raw: rawSasSecs, ingest: sasSecs, files: sasFiles.length, bytes: sasBytes, rows: rs.rowsRead };
  }

  // The same people delivered with 0.5 % defective rows: files with bad rows pay a second pass
  // (BENCH_DEFECTS=0 leaves it out).
  const withDefects = process.env['BENCH_DEFECTS'] !== '0';
  if (withDefects) await synthesize({ people, startYear: 2019, endYear: 2023, seed: 1, out: join(dir, 'defective'), parquet: false, defects: 0.005 });
  const defectDir = join(dir, 'defective', 'csv');
  // The raw tool on the same defective files: it must be told to skip what it cannot read.
  const lenient: RawReading = { ...iso, options: 'ignore_errors = true' };
  const rawDefectBefore = withDefects ? await raw(defectDir, 'd-', lenient) : NaN;
  t = performance.now();
  const rd = withDefects ? await ingest.ingest({ dataset: 'snds', inputs: [defectDir], actor }) : { rowsRead: NaN, rowsQuarantined: NaN };
  const defectSecs = (performance.now() - t) / 1000;
  const rawDefectSecs = (rawDefectBefore + (withDefects ? await raw(defectDir, 'd-', lenient) : NaN)) / 2;

  // Read cost of encryption: the same aggregate on encrypted vs plain Parquet of ER_PRS_F.
  await datasets.attachVersion(s, v);
  const time = async (sql: string): Promise<number> => {
    await s.all(sql);
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) await s.all(sql);
    return (performance.now() - t0) / 3;
  };
  const plainScan = await time(`SELECT count(*), sum(PRS_PAI_MNT), count(DISTINCT BEN_NIR_PSA) FROM read_parquet(${sqlString(join(dir, 'ER_PRS_F.parquet'))})`);
  const encScan = await time('SELECT count(*), sum(PRS_PAI_MNT), count(DISTINCT BEN_NIR_PSA) FROM ds.ER_PRS_F');
  s.close();
  await engine.close();
  await db.close();

  const mb = bytes / 1e6;
  process.stdout.write(`\nEnclave benchmark: ${people.toLocaleString('en-US')} people, ${rows.toLocaleString('en-US')} rows, ${mb.toFixed(1)} MB of CSV\n\n`);
  process.stdout.write(formatTable(['measure', 'seconds', 'rows/s', 'MB/s', 'ratio vs raw'], [
    ['synthesis (CSV)', synthSecs.toFixed(2), Math.round(rows / synthSecs), (mb / synthSecs).toFixed(1), null],
    ['DuckDB CSV → Parquet (raw, mean of before and after)', rawSecs.toFixed(2), Math.round(rows / rawSecs), (mb / rawSecs).toFixed(1), '1.00'],
    ['Enclave ingest (validate, HMAC, encrypt)', ingestSecs.toFixed(2), Math.round(r.rowsRead / ingestSecs), (mb / ingestSecs).toFixed(1), (rawSecs / ingestSecs).toFixed(2)],
    ['DuckDB, same people, dates dd/MM/yyyy, flags True/False (raw)', rawNonIsoSecs.toFixed(2), Math.round(rn.rowsRead / rawNonIsoSecs), (mb / rawNonIsoSecs).toFixed(1), '1.00'],
    ['Enclave ingest, dates dd/MM/yyyy, flags True/False (profile)', nonIsoSecs.toFixed(2), Math.round(rn.rowsRead / nonIsoSecs), (mb / nonIsoSecs).toFixed(1), (rawNonIsoSecs / nonIsoSecs).toFixed(2)],
    ...(sasRow === undefined ? [] : [
      [`DuckDB, same people as a SAS export (${sasRow.files} files, ${(sasRow.bytes / 1e6).toFixed(0)} MB; raw)`, sasRow.raw.toFixed(2), Math.round(sasRow.rows / sasRow.raw), (sasRow.bytes / 1e6 / sasRow.raw).toFixed(1), '1.00'],
      ['Enclave ingest, SAS export (profile)', sasRow.ingest.toFixed(2), Math.round(sasRow.rows / sasRow.ingest), (sasRow.bytes / 1e6 / sasRow.ingest).toFixed(1), (sasRow.raw / sasRow.ingest).toFixed(2)],
    ]),
    ...(withDefects ? [
      ['DuckDB, same people, 0.5 % bad rows (raw, skips them)', rawDefectSecs.toFixed(2), Math.round(rd.rowsRead / rawDefectSecs), (mb / rawDefectSecs).toFixed(1), '1.00'],
      [`Enclave ingest, ${rd.rowsQuarantined.toLocaleString('en-US')} bad rows quarantined`, defectSecs.toFixed(2), Math.round(rd.rowsRead / defectSecs), (mb / defectSecs).toFixed(1), (rawDefectSecs / defectSecs).toFixed(2)],
    ] : []),
    ['scan ER_PRS_F plain Parquet (s)', (plainScan / 1000).toFixed(3), null, null, '1.00'],
    ['scan ER_PRS_F encrypted (s)', (encScan / 1000).toFixed(3), null, null, (plainScan / encScan).toFixed(2)],
  ]));
  process.stdout.write(`\nwhere ingestion's time went:\n  ISO: ${isoPhases.report(ingestSecs)}\n  non-ISO: ${nonIsoPhases.report(nonIsoSecs)}\n${sasRow === undefined ? '' : `  SAS: ${sasPhases.report(sasRow.ingest)}\n`}`);
  process.stdout.write(`\nratios (raw s / ingest s): ISO ${(rawSecs / ingestSecs).toFixed(2)} (${rawSecs.toFixed(2)} / ${ingestSecs.toFixed(2)}), non-ISO ${(rawNonIsoSecs / nonIsoSecs).toFixed(2)} (${rawNonIsoSecs.toFixed(2)} / ${nonIsoSecs.toFixed(2)})${sasRow === undefined ? '' : `, SAS ${(sasRow.raw / sasRow.ingest).toFixed(2)} (${sasRow.raw.toFixed(2)} / ${sasRow.ingest.toFixed(2)})`}\n`);
  process.stdout.write(`CPU seconds (raw / ingest, this process's threads): ${Object.entries(cpuOf).map(([k, x]) => `${k} ${(x.raw / x.ingest).toFixed(2)} (${x.raw.toFixed(1)} / ${x.ingest.toFixed(1)})`).join(', ')}: the work ratio, steadier than the wall-time ratio on a shared machine\n`);
  process.stdout.write('\nratio vs raw = raw time / Enclave time (1.00 = as fast as the raw tool; the issue asks ≥ 0.5 for ingestion)\n');
} finally {
  await rm(dir, { recursive: true, force: true });
}
