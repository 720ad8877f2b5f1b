/**
 * `enclave synth`: a deterministic synthetic SNDS shaped like the producer's deliveries.
 *
 * @example
 *   const stats = await synthesize({ people: 10_000, startYear: 2019, endYear: 2023, seed: 42, out: '/tmp/snds' },
 *     (p) => bar.update(p.rowsWritten));
 *   // /tmp/snds/csv/*.csv, /tmp/snds/parquet/*.parquet, /tmp/snds/stats.json
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generate, type SynthOptions, type SynthProgress, type SynthStats } from './generate.ts';
import { writeParquet, type ParquetJob } from './parquet.ts';
import { ingestionProfileOf, rewriteFile, synthProfile } from './profile.ts';
import { loadBuiltinSchema, tableSchema } from './schema.ts';

export type { SynthOptions, SynthProgress, SynthStats } from './generate.ts';
export { MAX_PEOPLE } from './generate.ts';
/** The deterministic generator (also what randomised tests draw from, so a seed replays them). */
export { Rng } from './prng.ts';
export { SYNTH_PROFILES, ingestionProfileOf, spellDate, type SynthProfile } from './profile.ts';
export { loadBuiltinSchema, generatedView, tableSchema, NomenclatureSet, SNDS_SCHEMA_DIR, BUILTIN_NOMENCLATURE_DIR } from './schema.ts';
export type { BuiltinSchema, DataPackage, TableSchema, SchemaField, Nomenclature, PartitionRule } from './schema.ts';
export { compileRowChecker, RULES } from './row-check.ts';
export type { Rule, Violation, RowChecker } from './row-check.ts';
export type { DefectRecord } from './defects.ts';
export { isValidNir, nirControlKey } from './nir.ts';

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
  const profile = opts.profile === undefined ? undefined : synthProfile(opts.profile);
  let stats = await generate(opts, onProgress);
  if (opts.parquet !== false) {
    onProgress?.({ peopleDone: stats.people, people: stats.people, rowsWritten: sum(stats.files), phase: 'parquet' });
    const pq = join(opts.out, 'parquet');
    mkdirSync(pq, { recursive: true });
    const jobs: ParquetJob[] = Object.keys(stats.files).map((file) => {
      const t = tableOfFile(file);
      const table = tableSchema(t?.table ?? '');
      const header = table.fields.map((f) => f.name).filter((n) => opts.identified === true || n !== 'BEN_NIR_IDT');
      return { csv: join(opts.out, 'csv', file), parquet: join(pq, file.replace(/\.csv$/, '.parquet')), table, header };
    });
    await writeParquet(jobs, stats.defects > 0);
  }
  if (profile !== undefined && opts.profile !== undefined && opts.profile !== 'iso') {
    // The Parquet copies above are read from the generator's own (ISO) files: rewrite after them.
    const csv = join(opts.out, 'csv');
    const files: Record<string, number> = {};
    const renamed = new Map<string, string>();
    for (const [file, n] of Object.entries(stats.files)) {
      const name = rewriteFile(csv, file, tableSchema(tableOfFile(file)?.table ?? ''), profile);
      files[name] = n;
      renamed.set(`csv/${file}`, `csv/${name}`);
    }
    if (stats.defects > 0) {
      const ledger = join(opts.out, 'defects.jsonl');
      const lines = readFileSync(ledger, 'utf8').split('\n').filter((l) => l !== '').map((l) => {
        const d = JSON.parse(l) as { file: string };
        return JSON.stringify({ ...d, file: renamed.get(d.file) ?? d.file });
      });
      writeFileSync(ledger, lines.join('\n') + '\n');
    }
    stats = { ...stats, files, profile: opts.profile };
  }
  if (profile !== undefined) writeFileSync(join(opts.out, 'profile.json'), JSON.stringify(ingestionProfileOf(profile), null, 2) + '\n');
  writeFileSync(join(opts.out, 'stats.json'), JSON.stringify(stats, null, 2) + '\n');
  onProgress?.({ peopleDone: stats.people, people: stats.people, rowsWritten: sum(stats.files), phase: 'done' });
  return stats;
}

function sum(o: Record<string, number>): number {
  return Object.values(o).reduce((a, b) => a + b, 0);
}
