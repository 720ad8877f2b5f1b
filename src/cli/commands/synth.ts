import { AppError } from '../../errors.ts';
import { FRANCE_PEOPLE, VOLUME_SOURCES, expectedVolumes, mainBaseParents, synthesize, type SynthStats } from '../../synth/index.ts';
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
  /** Producer convention of the CSV files (iso, cnam, hdh, dmy, community, sas), possibly combined (`sas+decimal-comma+gzip`). */
  readonly profile?: string;
  readonly gzip?: boolean;
  readonly decimalComma?: boolean;
  readonly dcirFiles?: 'single' | 'yearly' | 'monthly';
  /** Break the relations a hub meets broken (the causes-of-death id defect). */
  readonly brokenRelations?: boolean;
  /** sample (default) or main (the whole main base, src/synth/main-base.ts). */
  readonly scope?: 'sample' | 'main';
}

function yearsOf(years: string): [number, number] {
  const m = /^(\d{4})-(\d{4})$/.exec(years);
  if (m === null || Number(m[1]) > Number(m[2])) {
    throw new AppError('invalid', `--years must look like 2019-2023, got ${JSON.stringify(years)}`, { hint: 'give the first and last year of care, first ≤ last' });
  }
  return [Number(m[1]), Number(m[2])];
}

/** `enclave synth --dry-run`: the volume model of `--scope main` for these people and years, and for France. */
export function synthVolumes(people: number, years: string, out: Output): void {
  const [from, to] = yearsOf(years);
  const n = to - from + 1;
  const parents = new Map(Object.entries(mainBaseParents()));
  const scale = (FRANCE_PEOPLE * 1) / (people * n);
  const body = expectedVolumes(people, n, parents).map((v) => [v.table, v.parent ?? `per ${v.per}`, String(v.mean), v.perPersonYear.toPrecision(3), v.rows, Math.round(v.rows * (v.per === 'person' ? FRANCE_PEOPLE / people : scale))]);
  out.write(`${formatTable(['table', 'per', 'figure', 'rows/person-year', `rows (${people} people, ${n} y)`, 'France, 1 year (67 M)'], body)}\n`);
  out.write(`sources:\n${Object.values(VOLUME_SOURCES).map((s) => `  ${s}`).join('\n')}\n`);
}

/** `enclave synth`: generate a delivery with a progress bar, then a table of rows per table and year. */
export async function synthCommand(a: SynthArgs, out: Output): Promise<SynthStats> {
  const [from, to] = yearsOf(a.years);
  if (a.defects !== undefined && !(a.defects >= 0 && a.defects < 1)) {
    throw new AppError('invalid', `--defects must be a share between 0 and 1, got ${a.defects}`, { hint: 'e.g. --defects 0.001 for one bad row in a thousand' });
  }
  const bar = progressBar({ label: 'synthesising', total: a.people, unit: 'rows' });
  const t0 = Date.now();
  let rows = 0;
  const stats = await synthesize(
    {
      people: a.people, startYear: from, endYear: to, seed: a.seed, out: a.out,
      ...(a.defects === undefined ? {} : { defects: a.defects }),
      ...(a.identified === undefined ? {} : { identified: a.identified }),
      ...(a.nomenclatures === undefined ? {} : { nomenclatures: a.nomenclatures }),
      ...(a.parquet === undefined ? {} : { parquet: a.parquet }),
      ...(a.profile === undefined ? {} : { profile: a.profile }),
      ...(a.gzip === true ? { gzip: true } : {}),
      ...(a.decimalComma === true ? { decimalComma: true } : {}),
      ...(a.dcirFiles === undefined ? {} : { dcirFiles: a.dcirFiles }),
      ...(a.brokenRelations === true ? { brokenRelations: true } : {}),
      ...(a.scope === undefined ? {} : { scope: a.scope }),
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
  const gaps = stats.codeListGaps ?? [];
  // Said here as well as in stats.json: a blank column is the operator's lists' doing, not a bug to hunt.
  if (gaps.length > 0) out.write(`${gaps.length} column${gaps.length === 1 ? '' : 's'} left blank, no code of their list fits (stats.json → codeListGaps), e.g. ${gaps[0] ?? ''}\n`);
  out.write(`files in ${a.out}/csv (delivery) and ${a.out}/parquet; statistics in ${a.out}/stats.json\nnext: enclave ingest --dataset snds ${stats.profile === undefined && a.profile === undefined ? '' : `--profile ${a.out}/profile.json `}${a.out}/csv\n`);
  return stats;
}
