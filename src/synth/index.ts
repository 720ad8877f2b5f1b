/**
 * `enclave synth`: a deterministic synthetic SNDS shaped like the producer's deliveries.
 *
 * @example
 *   const stats = await synthesize({ people: 10_000, startYear: 2019, endYear: 2023, seed: 42, out: '/tmp/snds' },
 *     (p) => bar.update(p.rowsWritten));
 *   // /tmp/snds/csv/*.csv, /tmp/snds/parquet/*.parquet, /tmp/snds/stats.json
 */
import { closeSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate, type SynthOptions, type SynthProgress, type SynthStats } from './generate.ts';
import { writeParquet, type ParquetJob } from './parquet.ts';
import { ingestionProfileOf, profileSpec, rewriteFile, splitByMonth, synthProfile } from './profile.ts';
import { catalogueTableOf } from './main-base.ts';
import { catalogueSchema, loadBuiltinSchema, tableSchema, type TableSchema } from './schema.ts';

export type { SynthOptions, SynthProgress, SynthStats } from './generate.ts';
export { MAX_PEOPLE } from './generate.ts';
/** The deterministic generator (also what randomised tests draw from, so a seed replays them). */
export { Rng } from './prng.ts';
export { SYNTH_PROFILES, PROFILE_MODIFIERS, ingestionProfileOf, profileSpec, spellDate, spellDatetime, synthProfile, withExponent, type SynthProfile } from './profile.ts';
export { loadBuiltinSchema, generatedView, tableSchema, NomenclatureSet, SNDS_SCHEMA_DIR, BUILTIN_NOMENCLATURE_DIR } from './schema.ts';
export type { BuiltinSchema, DataPackage, TableSchema, SchemaField, Nomenclature, PartitionRule } from './schema.ts';
export { compileRowChecker, RULES } from './row-check.ts';
export type { Rule, Violation, RowChecker } from './row-check.ts';
export type { DefectRecord } from './defects.ts';
export { isValidNir, nirControlKey } from './nir.ts';
export { mainBaseTables, mainBaseParents, catalogueTableOf, HAND_TUNED_TABLES } from './main-base.ts';
export { expectedVolumes, HAND_TUNED as HAND_TUNED_VOLUMES, ROOTS as ROOT_VOLUMES, SOURCES as VOLUME_SOURCES, FRANCE_PEOPLE, SSR_STAY } from './volumes.ts';
export type { ExpectedVolume } from './volumes.ts';
export { expectedDeaths, deathProbability, PYRAMID_2020, LIFE_TABLE_2017_2019 } from './population.ts';
export { DEATH_ID_RELATION } from './generate.ts';

/** Which table a delivered file belongs to, and its PMSI year if the name carries one. */
export function tableOfFile(fileName: string): { table: string; year?: number } | undefined {
  for (const r of loadBuiltinSchema().datapackage.resources) {
    const m = new RegExp(r.pathPattern).exec(fileName);
    if (m !== null) return r.enclave.yearFromName !== undefined && m[1] !== undefined ? { table: r.name, year: 2000 + Number(m[1]) } : { table: r.name };
  }
  return undefined;
}

/**
 * Generates the CSV delivery, its Parquet copies, `stats.json` and (with defects) the
 * `defects.jsonl` ledger under `opts.out`. Same options ⇒ byte-identical CSV and JSON files.
 */
export async function synthesize(opts: SynthOptions, onProgress?: (p: SynthProgress) => void): Promise<SynthStats> {
  const spec = profileSpec(opts.profile, opts);
  const profile = spec === undefined ? undefined : synthProfile(spec);
  let stats = await generate(opts, onProgress);
  if (opts.parquet !== false) {
    onProgress?.({ peopleDone: stats.people, people: stats.people, rowsWritten: sum(stats.files), phase: 'parquet' });
    const pq = join(opts.out, 'parquet');
    mkdirSync(pq, { recursive: true });
    const jobs: ParquetJob[] = Object.keys(stats.files).map((file) => {
      const table = schemaOfFile(file, opts.scope === 'main');
      const header = opts.scope === 'main'
        ? headerOf(join(opts.out, 'csv', file))
        : table.fields.map((f) => f.name).filter((n) => opts.identified === true || n !== 'BEN_NIR_IDT');
      return { csv: join(opts.out, 'csv', file), parquet: join(pq, file.replace(/\.csv$/, '.parquet')), table, header };
    });
    await writeParquet(jobs, stats.defects > 0);
  }
  if (profile !== undefined && spec !== undefined && spec !== 'iso') {
    // The Parquet copies above are read from the generator's own (ISO) files: rewrite after them.
    const csv = join(opts.out, 'csv');
    const files: Record<string, number> = {};
    const renamed = new Map<string, string>();
    // DCIR files by month: where each line of a split file went (`csv/ER_PRS_F.csv:12` → ER_PRS_F_202201.csv line 5).
    const moved = new Map<string, { file: string; line: number }>();
    for (const [file0, n0] of Object.entries(stats.files)) {
      const parts = profile.dcirFiles === 'monthly' && file0.startsWith('ER_') ? splitByMonth(csv, file0) : { files: new Map([[file0, n0]]), lines: new Map<number, { file: string; line: number }>() };
      for (const [file, n] of parts.files) {
        const name = rewriteFile(csv, file, schemaOfFile(file, opts.scope === 'main'), profile);
        files[name] = n;
        renamed.set(`csv/${file}`, `csv/${name}`);
      }
      for (const [line, to] of parts.lines) moved.set(`csv/${file0}:${line}`, { file: `csv/${to.file}`, line: to.line });
    }
    if (stats.defects > 0) {
      const ledger = join(opts.out, 'defects.jsonl');
      const lines = readFileSync(ledger, 'utf8').split('\n').filter((l) => l !== '').map((l) => {
        const d0 = JSON.parse(l) as { file: string; line: number };
        const d = { ...d0, ...moved.get(`${d0.file}:${d0.line}`) };
        return JSON.stringify({ ...d, file: renamed.get(d.file) ?? d.file });
      });
      writeFileSync(ledger, lines.join('\n') + '\n');
    }
    stats = { ...stats, files, profile: spec };
  }
  if (profile !== undefined) writeFileSync(join(opts.out, 'profile.json'), JSON.stringify(ingestionProfileOf(profile), null, 2) + '\n');
  writeFileSync(join(opts.out, 'stats.json'), JSON.stringify(stats, null, 2) + '\n');
  onProgress?.({ peopleDone: stats.people, people: stats.people, rowsWritten: sum(stats.files), phase: 'done' });
  return stats;
}

/** The schema a generated file was written from: the product's view, or the whole catalogue table (`--scope main`). */
function schemaOfFile(file: string, main: boolean): TableSchema {
  return main ? catalogueSchema(catalogueTableOf(file) ?? '') : tableSchema(tableOfFile(file)?.table ?? catalogueTableOf(file) ?? '');
}

/** The header line of a generated CSV file (its first line; a header is far below 1 MiB). */
function headerOf(path: string): string[] {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return (buf.subarray(0, n).toString('utf8').split('\n')[0] ?? '').split(';');
  } finally {
    closeSync(fd);
  }
}

function sum(o: Record<string, number>): number {
  return Object.values(o).reduce((a, b) => a + b, 0);
}
