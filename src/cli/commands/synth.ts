import { AppError } from '../../errors.ts';
import { synthesize, type SynthStats } from '../../synth/index.ts';
import { formatAmount, progressBar } from '../progress.ts';
import type { Output } from '../services.ts';
import { formatTable } from '../table.ts';

export interface SynthArgs {
  readonly people: number;
  readonly years: string;
  readonly seed: number;
  readonly out: string;
  readonly defects?: number;
  readonly identified?: boolean;
  readonly nomenclatures?: string;
  /** Skip the Parquet copies (the first start ingests the CSV only). */
  readonly parquet?: boolean;
  /** Producer convention of the CSV files (iso, cnam, hdh, community). */
  readonly profile?: string;
  /** Break the relations a hub meets broken (the causes-of-death id defect). */
  readonly brokenRelations?: boolean;
}

/** `enclave synth`: generate a delivery with a progress bar, then a table of rows per table and year. */
export async function synthCommand(a: SynthArgs, out: Output): Promise<SynthStats> {
  const m = /^(\d{4})-(\d{4})$/.exec(a.years);
  if (m === null || Number(m[1]) > Number(m[2])) {
    throw new AppError('invalid', `--years must look like 2019-2023, got ${JSON.stringify(a.years)}`, { hint: 'give the first and last year of care, first ≤ last' });
  }
  if (a.defects !== undefined && !(a.defects >= 0 && a.defects < 1)) {
    throw new AppError('invalid', `--defects must be a share between 0 and 1, got ${a.defects}`, { hint: 'e.g. --defects 0.001 for one bad row in a thousand' });
  }
  const bar = progressBar({ label: 'synthesising', total: a.people, unit: 'rows' });
  const t0 = Date.now();
  let rows = 0;
  const stats = await synthesize(
    {
      people: a.people, startYear: Number(m[1]), endYear: Number(m[2]), seed: a.seed, out: a.out,
      ...(a.defects === undefined ? {} : { defects: a.defects }),
      ...(a.identified === undefined ? {} : { identified: a.identified }),
      ...(a.nomenclatures === undefined ? {} : { nomenclatures: a.nomenclatures }),
      ...(a.parquet === undefined ? {} : { parquet: a.parquet }),
      ...(a.profile === undefined ? {} : { profile: a.profile }),
      ...(a.brokenRelations === true ? { brokenRelations: true } : {}),
    },
    (p) => {
      rows = p.rowsWritten;
      bar.update(p.peopleDone, `${formatAmount(p.rowsWritten)} ${p.phase}`);
    },
  );
  bar.finish(`${formatAmount(rows)} written`);
  const years = stats.years.map(String);
  const body = Object.entries(stats.rowsByYear).map(([table, byYear]) => [table, ...years.map((y) => byYear[y] ?? null), byYear['none'] ?? null, stats.rows[table] ?? 0]);
  out.write(`\n${formatTable(['table', ...years, 'no year', 'total'], body)}`);
  const secs = (Date.now() - t0) / 1000;
  const total = Object.values(stats.rows).reduce((s, n) => s + n, 0);
  out.write(`\n${stats.people.toLocaleString('en-US')} people, ${formatAmount(total)} in ${secs.toFixed(1)} s (${formatAmount(total / Math.max(secs, 0.001))}/s)${stats.defects > 0 ? `, ${stats.defects} defects injected (ledger: ${a.out}/defects.jsonl)` : ''}\n`);
  out.write(`files in ${a.out}/csv (delivery) and ${a.out}/parquet; statistics in ${a.out}/stats.json\nnext: enclave ingest --dataset snds ${a.profile === undefined ? '' : `--profile ${a.out}/profile.json `}${a.out}/csv\n`);
  return stats;
}
