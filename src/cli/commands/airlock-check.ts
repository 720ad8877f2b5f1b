/**
 * `enclave airlock check FILE…`: the airlock's disclosure report on CSV files, without a
 * workspace or a server, so that an output can be checked before it is requested and rules can
 * be tried on their own. The same `checkOutputs` as the airlock service: the same report.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { checkOutputs, DEFAULT_RULES, parseCsvHints, parseCsvOutput, rulesFrom, type CellValue, type DisclosureReport, type LedgerCell, type OutputTable } from '../../airlock/rules/index.ts';
import { AppError, isAppError } from '../../errors.ts';
import type { Output } from '../services.ts';
import { formatTable } from '../table.ts';

/** Thrown to end the process with a code (runCli returns it): 1 something blocks, 2 bad input. */
export class ExitWith extends Error {
  readonly exitCode: number;
  constructor(exitCode: number) {
    super(`exit ${exitCode}`);
    this.name = 'ExitWith';
    this.exitCode = exitCode;
  }
}

export interface AirlockCheckOptions {
  readonly rules?: string;
  readonly project?: string;
  readonly ledger?: string;
  readonly json?: boolean;
  readonly safeOut?: string;
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new AppError('invalid', `cannot read ${what} ${file}: ${e instanceof Error && 'code' in e ? String(e.code) : 'unreadable'}`, { hint: 'give the path of an existing file' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new AppError('invalid', `${what} ${file} is not JSON: ${e instanceof Error ? e.message : ''}`, { hint: 'fix the JSON syntax (a validator shows the line)' });
  }
}

function ledgerFrom(doc: unknown, file: string): LedgerCell[] {
  if (!Array.isArray(doc)) throw new AppError('invalid', `ledger ${file}: expected a JSON array of released cells`, { hint: 'each cell: {"projectId", "releaseId", "outputName", "populationHash", "datasetVersions": [], "dimensions": {}, "measure", "count"}' });
  return doc.map((c: unknown, i): LedgerCell => {
    const o = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    const str = (k: string): string => {
      const v = o[k];
      if (typeof v !== 'string') throw new AppError('invalid', `ledger ${file} at [${i}].${k}: expected a string`, { hint: 'see enclave airlock check --help for the shape of a ledger cell' });
      return v;
    };
    const dims = o['dimensions'];
    const versions = o['datasetVersions'];
    if (typeof o['count'] !== 'number') throw new AppError('invalid', `ledger ${file} at [${i}].count: expected a number`, { hint: 'the released count, unrounded' });
    if (typeof dims !== 'object' || dims === null || !Object.values(dims).every((v) => typeof v === 'string')) throw new AppError('invalid', `ledger ${file} at [${i}].dimensions: expected an object of strings`, { hint: 'e.g. {"dept": "75"}' });
    if (!Array.isArray(versions) || !versions.every((v) => typeof v === 'string')) throw new AppError('invalid', `ledger ${file} at [${i}].datasetVersions: expected an array of strings`, { hint: 'e.g. ["snds@3"]' });
    return { projectId: str('projectId'), releaseId: str('releaseId'), outputName: str('outputName'), populationHash: str('populationHash'), datasetVersions: versions, dimensions: dims as Record<string, string>, measure: str('measure'), count: o['count'] };
  });
}

/** The sidecar of `x.csv`: `x.csv.roles.json` or `x.roles.json`, when one exists. */
function sidecarOf(file: string): string | null {
  for (const f of [`${file}.roles.json`, file.replace(/\.[^./\\]+$/u, '') + '.roles.json']) if (existsSync(f)) return f;
  return null;
}

/** Reads the files and the rules, as the CLI does; exported so a test compares with checkOutputs. */
export async function loadCheckInputs(files: readonly string[], o: AirlockCheckOptions): Promise<{ outputs: OutputTable[]; rules: typeof DEFAULT_RULES; ledger: LedgerCell[] }> {
  if (files.length === 0) throw new AppError('invalid', 'no output file given', { hint: 'enclave airlock check by-dept.csv --rules permit.json' });
  const rules = o.rules === undefined ? DEFAULT_RULES : rulesFrom(await readJson(o.rules, 'rules file'), basename(o.rules));
  const ledger = o.ledger === undefined ? [] : ledgerFrom(await readJson(o.ledger, 'ledger'), o.ledger);
  const outputs: OutputTable[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (e) {
      throw new AppError('invalid', `cannot read ${f}: ${e instanceof Error && 'code' in e ? String(e.code) : 'unreadable'}`, { hint: 'give the path of a CSV output' });
    }
    const side = sidecarOf(f);
    const hints = side === null ? {} : parseCsvHints(await readJson(side, 'roles file'), basename(side));
    outputs.push(parseCsvOutput(text, basename(f), hints));
  }
  return { outputs, rules, ledger };
}

function csvField(v: CellValue): string {
  if (v === null) return '';
  let s = String(v);
  // a value a spreadsheet would run as a formula is written as text (SECURITY-TESTS #13)
  if (typeof v === 'string' && /^[=+\-@\t\r]/u.test(s)) s = `'${s}`;
  return /[",\n\r]/u.test(s) ? `"${s.replace(/"/gu, '""')}"` : s;
}

function toCsv(t: OutputTable): string {
  return [t.columns.map((c) => csvField(c.name)), ...t.rows.map((r) => r.map(csvField))].map((r) => r.join(',')).join('\n') + '\n';
}

function printReport(report: DisclosureReport, outputs: readonly OutputTable[], out: Output): void {
  const r = report.rules;
  out.write(`rules: minimum count ${r.minimumCount} · dominance (n=${r.dominance.n}, k=${r.dominance.k} %) · p-ratio ${r.pRatio} % · residual df ≥ ${r.minimumResidualDf} · events per step ≥ ${r.minimumEventsPerStep}${r.roundingBase === null ? '' : ` · rounding base ${r.roundingBase}`}\n\n`);
  out.write(formatTable(['output', 'kind', 'status', 'cells', 'blocks', 'reviews', 'safe version'], report.outputs.map((o) => [
    o.name, o.kind, o.status.toUpperCase(), o.cellsChecked, o.flags.filter((f) => f.severity === 'block').length, o.flags.filter((f) => f.severity === 'review').length, o.safeVersion.method,
  ])));
  const flags = report.outputs.flatMap((o, i) => o.flags.map((f) => {
    const line = f.cell === null ? null : (outputs[i]?.sourceLines?.[f.cell.row] ?? f.cell.row + 1);
    return [o.name, line, f.cell?.column ?? '(whole output)', f.rule, f.severity, f.message.en] as const;
  }));
  if (flags.length > 0) out.write('\n' + formatTable(['output', 'line', 'cell', 'rule', 'severity', 'why'], flags));
  for (const o of report.outputs) if (o.safeVersion.method !== 'unchanged') out.write(`\n${o.name}: proposed ${o.safeVersion.method}: ${o.safeVersion.note.en} A checker decides; nothing is released by this command.`);
  const s = report.summary;
  out.write(`\n\n${s.status === 'blocked' ? 'BLOCKED' : s.status === 'review' ? 'REVIEW' : 'CLEAN'}: ${s.blocks} blocking and ${s.reviews} review flag(s) over ${s.cellsChecked} cells in ${report.outputs.length} output(s)\n`);
}

/** Runs the check and sets the exit code: 0 nothing blocks, 1 something blocks, 2 bad input. */
export async function airlockCheck(files: readonly string[], o: AirlockCheckOptions, out: Output, err: Output): Promise<void> {
  let report: DisclosureReport;
  let outputs: OutputTable[];
  try {
    const input = await loadCheckInputs(files, o);
    outputs = input.outputs;
    report = checkOutputs(input.outputs, input.rules, input.ledger, o.project === undefined ? {} : { projectId: o.project });
  } catch (e) {
    if (!isAppError(e) || e.code !== 'invalid') throw e;
    err.write(`error: ${e.message}\n${e.hint === undefined ? '' : `hint: ${e.hint}\n`}`);
    throw new ExitWith(2);
  }
  if (o.safeOut !== undefined) {
    await mkdir(o.safeOut, { recursive: true });
    for (const r of report.outputs) if (r.safeVersion.table !== null) await writeFile(join(o.safeOut, r.name.replace(/(\.csv)?$/iu, '.safe.csv')), toCsv(r.safeVersion.table));
  }
  if (o.json === true) out.write(JSON.stringify(report, null, 2) + '\n');
  else printReport(report, outputs, out);
  if (report.summary.status === 'blocked') throw new ExitWith(1);
}

/** Adds `check` to the `airlock` command (created here unless another module made it first). */
export function registerAirlockCheck(program: Command, paths: { at: (p: string) => string; out: Output; err: Output }): void {
  const airlock = program.commands.find((c) => c.name() === 'airlock') ?? program.command('airlock').description('the airlock: the only way results leave a workspace, checked by rules, by the release ledger and by two people');
  airlock
    .command('check')
    .description('the disclosure report on CSV outputs, without a workspace (a dry run: nothing is requested or released)')
    .argument('<files...>', 'CSV outputs; roles come from column names (n, count, effectif, nb_*, sum_*, mean_*, n_contributors, top1, top2, …) or a sidecar FILE.roles.json')
    .option('--rules <file>', 'a permit document (its disclosure terms) or a rules file (JSON); default: the platform\'s rules')
    .option('--project <id>', 'the project asking, so that ledger conflicts say "this project" or "another project"')
    .option('--ledger <file>', 'released cells to check differencing against (JSON array of ledger cells, as the airlock service keeps them)')
    .option('--safe-out <dir>', 'write each output\'s proposed safe version there as NAME.safe.csv (for a checker to look at)')
    .option('--json', 'print the report object (the same the airlock service returns)')
    .addHelpText('after', `
Exit code: 0 when nothing blocks (flags for review may remain), 1 when something blocks, 2 for bad input.

Rules (docs/airlock-rules.md): minimum count 11 on unrounded counts (CNAM/CASD), dominance n=2 k=90 %
and p-ratio 10 % on magnitudes (from n_contributors, top1, top2), zeros and full cells for review,
suppressed cells recoverable from totals or from the other files, row-level data, identifiers
(BEN_NIR_PSA, PFS_EXE_NUM, digests, …) and crossings such as month of birth × commune blocked,
models (df_residual ≥ 10) and survival tables (events per step). A permit may only make them stricter.

Example:
  $ cat by-dept.csv
  dept,age_band,n
  75,0-17,120
  75,18-64,7
  75,Total,127
  $ enclave airlock check by-dept.csv --rules permit.json
  … by-dept.csv  3  n  minimum_count  block  dept=75, age_band=18-64: n = 7, under the minimum of 11
  BLOCKED: 1 blocking and 0 review flag(s) over 3 cells in 1 output(s)

A sidecar by-dept.roles.json may say what names do not: {"roles": {"patients": "count"}, "population": "type 2 diabetics, 2022"}.`)
    .action(async (files: string[], o: AirlockCheckOptions) => {
      await airlockCheck(files.map(paths.at), {
        ...o,
        ...(o.rules === undefined ? {} : { rules: paths.at(o.rules) }),
        ...(o.ledger === undefined ? {} : { ledger: paths.at(o.ledger) }),
        ...(o.safeOut === undefined ? {} : { safeOut: paths.at(o.safeOut) }),
      }, paths.out, paths.err);
    });
}
