import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { DataDirInUse } from '../datadir/index.ts';
import { AppError, isAppError } from '../errors.ts';
import { ExitWith, registerAirlockCheck } from './commands/airlock-check.ts';
import { registerAirlockVerify } from './commands/airlock-verify.ts';
import { registerAirlockCommands } from './commands/airlock.ts';
import { auditArchive, auditCheckpoint, auditExport, auditHistory, auditProofConsistency, auditProofInclusion, auditVerifyDb, auditVerifyOffline } from './commands/audit.ts';
import { catalogImport, catalogLs, catalogSearch, catalogShow, type CatalogReader } from './commands/catalog.ts';
import {
  actingPrincipal, demoPeople, localGovernance, permitsPropose, permitsShow, permitsTemplate, permitsValidate, projectsAccess, projectsAmend, projectsAmendment, projectsCreate,
  projectsEngine, projectsLs, projectsReview, projectsShow, projectsSubmit, tokensCreate, tokensLs, tokensRevoke, type GovernanceClient,
} from './commands/governance.ts';
import { detectCommand, ingestCommand, profileFromArgs, type ProfileArgs } from './commands/ingest.ts';
import { migrateMirror, migratePlan, migrateRun, migrateSwitch, migrateVerify } from './commands/migrate.ts';
import { synthCommand, synthVolumes } from './commands/synth.ts';
import { ForwardToServer, forwardToServer } from './local-client.ts';
import { registerSqlCommand } from './sql.ts';
import { RemoteCatalog, RemoteClient, RemoteGovernance, remoteTargetFrom, type RemoteTarget } from './remote.ts';
import type { OpenServices, Output } from './services.ts';
import { formatTable } from './table.ts';

/**
 * The prompt's history file: ENCLAVE_SQL_HISTORY (empty: none), else one in the home directory,
 * but only for the real terminal (a program driving the prompt through `input` keeps none).
 */
function sqlHistoryFile(env: Readonly<Record<string, string | undefined>> | undefined, realTerminal: boolean): string | undefined {
  const set = env?.['ENCLAVE_SQL_HISTORY'];
  if (set !== undefined) return set === '' ? undefined : set;
  return realTerminal && env !== undefined ? join(homedir(), '.enclave_sql_history') : undefined;
}

export interface ProgramDeps {
  readonly open: OpenServices;
  readonly serve: () => Promise<void>;
  readonly version: string;
  readonly out?: Output;
  readonly err?: Output;
  /** Print stack traces of internal errors. */
  readonly debug?: boolean;
  /** The environment the remote mode reads ENCLAVE_URL and ENCLAVE_TOKEN from (main.ts passes it; none: local mode only). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The HTTP client of the remote mode (default: the global fetch). */
  readonly fetch?: typeof fetch;
  /** The directory relative paths are taken from (default: this process's; the caller's for a command run by the server). */
  readonly cwd?: string;
  /** Where the interactive prompt of `enclave sql` reads (default: standard input). */
  readonly input?: NodeJS.ReadableStream;
}

const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number, got ${JSON.stringify(v)}`);
  return n;
};

/**
 * The `enclave` command. Each sub-command is a thin layer over the services the HTTP API uses;
 * errors are AppErrors printed with their hint, and a non-zero exit code.
 */
export function buildProgram(deps: ProgramDeps): Command {
  const out = deps.out ?? { write: (s: string) => process.stdout.write(s) };
  const remote = (): RemoteTarget | null => remoteTargetFrom(deps.env ?? {});
  const client = (target: RemoteTarget): RemoteClient => new RemoteClient(target, deps.fetch);
  /** A path argument, absolute (a command the server runs for a terminal resolves it from the terminal's directory). */
  const at = (p: string): string => resolve(deps.cwd ?? process.cwd(), p);
  /**
   * Opens the local data directory. When a live server holds it and listens on its local socket,
   * nothing has run yet: runCli sends the whole command to that server instead.
   */
  const open: OpenServices = async () => {
    try {
      return await deps.open();
    } catch (e) {
      if (e instanceof DataDirInUse && e.holder.role === 'server' && e.holder.socket !== null) throw new ForwardToServer(e.holder, e.holder.socket);
      throw e;
    }
  };
  const withServices = <A extends unknown[]>(fn: (svc: Awaited<ReturnType<OpenServices>>, ...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const target = remote();
      if (target !== null) {
        throw new AppError('invalid', `this command runs on the server's own terminal only, not against ENCLAVE_URL (${target.url.origin})`, {
          hint: 'unset ENCLAVE_URL to run it here on the local data; remotely, use enclave projects, permits and catalog',
        });
      }
      const svc = await open();
      try {
        await fn(svc, ...args);
      } finally {
        await svc.close();
      }
    };

  // commander calls an action with (...arguments, options, command): the options are second to last
  const optionsOf = (args: readonly unknown[]): { as?: string } => {
    const o = args.at(-2);
    return typeof o === 'object' && o !== null && 'as' in o && typeof o.as === 'string' ? { as: o.as } : {};
  };
  /** Runs a governance command locally (the services, as --as or the operator) or remotely (the API, as the token's person). */
  const withGov = <A extends unknown[]>(fn: (g: GovernanceClient, ...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const target = remote();
      if (target !== null) {
        if (optionsOf(args).as !== undefined) {
          throw new AppError('invalid', '--as acts as a demo person on the server\'s own terminal; against ENCLAVE_URL you act as the person of ENCLAVE_TOKEN', { hint: 'drop --as, or unset ENCLAVE_URL to work locally' });
        }
        await fn(new RemoteGovernance(client(target)), ...args);
        return;
      }
      const svc = await open();
      try {
        await fn(localGovernance(svc, await actingPrincipal(svc, optionsOf(args))), ...args);
      } finally {
        await svc.close();
      }
    };
  const withCatalog = <A extends unknown[]>(fn: (c: CatalogReader, ...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      const target = remote();
      if (target !== null) {
        await fn(new RemoteCatalog(client(target)), ...args);
        return;
      }
      const svc = await open();
      try {
        await fn(svc.catalog, ...args);
      } finally {
        await svc.close();
      }
    };

  const program = new Command('enclave')
    .description('Enclave: a sovereign health data platform. Catalogue, ingest and serve a national claims base (SNDS) with every act audited.')
    .version(deps.version)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => (deps.err ?? { write: (x: string) => process.stderr.write(x) }).write(s) })
    .addHelpText('after', `
Two modes:
  local (default)  on the server's own terminal: the commands open the local data directory.
                   Configuration comes from environment variables (see .env.example): by default
                   data lives in ./data with an embedded PGlite database, and the master keyring
                   in ~/.config/enclave/. On the embedded default, --as <demo person> acts as them.
  remote           with ENCLAVE_URL=https://host and ENCLAVE_TOKEN=<API token> set, the
                   projects, permits and catalog commands call that server's HTTP API with
                   Authorization: Bearer, as the token's person on the token's one project (the
                   server's rules apply; refusals print the server's reason). Tokens: portal →
                   Profile → API tokens, or enclave tokens create on the server. Other commands
                   (ingest, migrate, keys, audit, tokens) run only on the server's own terminal.
  beside a server  one process at a time opens a data directory (it holds ENCLAVE_DATA_DIR/enclave.lock).
                   While the server runs, a local command goes through it: over its owner-only
                   socket (ENCLAVE_DATA_DIR/enclave.sock) the server runs the same command on its
                   own services, as the local operator, audited in its one log. While another
                   command holds the directory, the server refuses to start (and vice versa).

Examples:
  enclave synth --people 10000 --years 2019-2023 --seed 42 --out ./delivery
  enclave ingest --dataset snds ./delivery/csv
  enclave catalog search "date de soins"
  enclave datasets versions snds
  enclave sql --project PROJECT "SELECT count(*) FROM er_prs_f"   (a project's workspace; see enclave sql --help)`);

  program.command('serve').description('start the HTTP API and portal (what `npm start` runs after first-start setup)').action(async () => deps.serve());

  program
    .command('synth')
    .description('generate a deterministic synthetic SNDS delivery (CSV as the producer sends it, plus Parquet)')
    .requiredOption('--people <n>', 'number of people in the base', int('--people'))
    .option('--years <from-to>', 'years of care covered', '2019-2023')
    .option('--seed <s>', 'random seed: same arguments, same bytes', int('--seed'), 1)
    .requiredOption('--out <dir>', 'output directory (created)')
    .option('--defects <rate>', 'share of rows made invalid on purpose (e.g. 0.001), with a ledger in defects.jsonl', parseFloat)
    .option('--identified', 'also emit raw NIRs (valid control keys) as an identified source would, to exercise pseudonymisation')
    .option('--nomenclatures <dir>', 'draw codes from this nomenclature directory instead of the built-in lists')
    .option('--broken-relations', 'break the relation a hub meets broken: causes-of-death lines (KI_ECD_R) whose encrypted death id (DCD_IDT_ENC) matches no certificate (KI_CCI_R); every other key still joins')
    .option('--profile <convention>', 'write the files as a producer does: iso (default), cnam (; Latin-1 gzip dd/MM/yyyy SAS "." decimal comma, DCIR files by year), hdh (SAS datetimes, 61.0), dmy (dd/MM/yyyy, flags True/False), community (, ISO T…Z, flags True/False), sas (; Latin-1, every field quoted, lower-case SAS datetimes, "." and space-only missing values, exponents, DCIR files by month); combine with +modifiers: gzip, decimal-comma, latin-1, utf-8, true-false, quote-all, sas-missing, dcir-single|yearly|monthly (e.g. sas+decimal-comma+gzip); the ingestion profile goes to <out>/profile.json')
    .option('--gzip', 'gzip every file (same as +gzip after the convention)')
    .option('--decimal-comma', 'write numbers with a decimal comma (same as +decimal-comma)')
    .option('--dcir-files <split>', 'DCIR files: single, yearly (ER_PRS_F_2022.csv) or monthly (ER_PRS_F_202201.csv) by FLX_DIS_DTD')
    .option('--scope <scope>', 'sample (default: the eleven hand-tuned tables npm start ingests) or main (the whole main base the catalogue describes, at the volumes of the model)', 'sample')
    .option('--dry-run', 'print the volume model for --people and --years (rows per table, per person-year, for France) and write nothing')
    .addHelpText('after', '\nThe output is ready for: enclave ingest --dataset snds <out>/csv\nVolumes of --scope main: enclave synth --scope main --people N --dry-run --out X (sources in docs/ingestion.md)')
    .action(async (o: { people: number; years: string; seed: number; out: string; defects?: number; identified?: boolean; nomenclatures?: string; profile?: string; brokenRelations?: boolean; gzip?: boolean; decimalComma?: boolean; dcirFiles?: string; scope: string; dryRun?: boolean }) => {
      const { scope, dryRun, dcirFiles, ...rest } = o;
      if (scope !== 'sample' && scope !== 'main') throw new AppError('invalid', `--scope must be sample or main, got ${JSON.stringify(scope)}`, { hint: 'e.g. --scope main' });
      if (dcirFiles !== undefined && dcirFiles !== 'single' && dcirFiles !== 'yearly' && dcirFiles !== 'monthly') {
        throw new AppError('invalid', `--dcir-files must be single, yearly or monthly, got ${JSON.stringify(dcirFiles)}`, { hint: 'e.g. --dcir-files monthly (ER_PRS_F_202201.csv)' });
      }
      if (dryRun === true) {
        synthVolumes(rest.people, rest.years, out);
        return;
      }
      await synthCommand({ ...rest, scope, ...(dcirFiles === undefined ? {} : { dcirFiles }) }, out);
    });

  program
    .command('ingest')
    .description('ingest a delivery into a new dataset version: validate every row, pseudonymise identifiers, encrypt Parquet, quarantine bad rows')
    .requiredOption('--dataset <name>', 'dataset to ingest into (its schema must be in the catalogue)')
    .argument('<paths...>', 'delivery directory or CSV files (named after their table, e.g. ER_PRS_F.csv, T_MCO21B.csv)')
    .addHelpText('after', `
The delivery lands whole as a new version or not at all: after any failure or crash the previous
version stays as it was, and rerunning the same delivery is a no-op once it has landed.`)
    .option('--min-landed-share <share>', 'refuse the delivery when a delivered table lands under this share of its rows, or nothing (default 0.9)', parseFloat)
    .option('--accept-short-tables', 'publish even when tables land under the share (the override is audited with the tables)')
    .option('--max-orphan-share <share>', 'refuse the delivery when a foreign key between delivered tables has more than this share of orphan rows (default: report only)', parseFloat)
    .option('--check-relations', 'measure the foreign keys between delivered tables: orphan rows per relation (reads their key columns once more; implied by --max-orphan-share)')
    .option('--detect', 'read the start of every file and print the inferred profile and what ingestion would do; ingest nothing')
    .option('--profile-out <file>', 'with --detect: write the inferred profile (JSON) to this file')
    .option('--profile <file>', 'delivery profile (JSON): separator, encoding, dates, missing values, file names, extra columns')
    .option('--delimiter <c>', 'field separator: ";" "," "|" or tab')
    .option('--encoding <e>', 'utf-8 or latin-1')
    .option('--date-format <spelling>', 'dates the catalogue leaves open: yyyy-MM-dd, dd/MM/yyyy, ddMMyyyy, ddMMMyyyy:HH:mm:ss, …')
    .option('--missing <marker...>', 'values read as missing besides empty fields, e.g. .')
    .option('--blank-is-missing', 'fields of spaces only are missing')
    .option('--extra-columns <what>', 'columns the catalogue does not know: refuse (default) or ignore')
    .option('--flags <true/false>', 'flag words read as 1/0 in flag (0/1) columns, e.g. True/False')
    .action(withServices(async (svc, paths: string[], given: ProfileArgs & { dataset: string; minLandedShare?: number; acceptShortTables?: boolean; maxOrphanShare?: number; checkRelations?: boolean; detect?: boolean; profileOut?: string }) => {
      // Files named relative to the terminal's directory (the command may run in the server).
      const o = { ...given, ...(given.profile === undefined ? {} : { profile: at(given.profile) }), ...(given.profileOut === undefined ? {} : { profileOut: at(given.profileOut) }) };
      if (o.detect === true) {
        await detectCommand(svc, o.dataset, paths.map(at), out, o);
        return;
      }
      const profile = await profileFromArgs(o);
      await ingestCommand(svc, o.dataset, paths.map(at), out, { ...(o.minLandedShare === undefined ? {} : { minLandedShare: o.minLandedShare }), ...(o.acceptShortTables === true ? { acceptShortTables: true } : {}), ...(o.maxOrphanShare === undefined ? {} : { maxOrphanShare: o.maxOrphanShare }), ...(o.checkRelations === true ? { checkRelations: true } : {}), ...(profile === undefined ? {} : { profile }) });
    }));

  program
    .command('ingest-report')
    .description('show the quarantine report of an ingestion run')
    .argument('<run-id>', 'run id printed by enclave ingest')
    .option('--offset <n>', 'first entry of the page', int('--offset'), 0)
    .option('--limit <n>', 'entries per page (at most 10000)', int('--limit'), 100)
    .option('--table <name>', 'only the entries of this table')
    .option('--column <name>', 'only the entries of this column')
    .option('--rule <rule>', 'only the entries of this rule')
    .action(withServices(async (svc, runId: string, o: { offset: number; limit: number; table?: string; column?: string; rule?: string }) => {
      const r = await svc.ingest.runReport(runId, o);
      out.write(`${JSON.stringify(r, null, 2)}\n`);
    }));

  const catalog = program.command('catalog').description('the public catalogue: datasets, tables, columns, nomenclatures (no login needed)');
  catalog.command('ls').description('list datasets').action(withCatalog(async (c) => { await catalogLs(c, out); }));
  catalog
    .command('show')
    .description('show a dataset, a table or a column')
    .argument('<ref>', 'dataset, dataset.TABLE or dataset.TABLE.COLUMN, e.g. snds.ER_PRS_F')
    .action(withCatalog(async (c, ref: string) => { await catalogShow(c, ref, out); }));
  catalog
    .command('search')
    .description('search names and descriptions of tables, columns and nomenclatures')
    .argument('<query>', 'words to look for, e.g. "date de soins"')
    .action(withCatalog(async (c, q: string) => { await catalogSearch(c, q, out); }));
  catalog
    .command('import')
    .description('import table definitions: a directory of Frictionless Table Schemas (the public SNDS schema repository as it is), or SAS PROC CONTENTS listings (MEMNAME;NAME;FORMAT;FORMATL;FORMATD;DATATYPE)')
    .requiredOption('--dataset <name>', 'dataset name to import as')
    .option('--title <title>', 'dataset title')
    .argument('<dir>', 'directory of table schema JSON files (and nomenclatures/), or one listing file')
    .action(withServices(async (svc, dir: string, o: { dataset: string; title?: string }) => {
      await catalogImport(svc.catalog, at(dir), { dataset: o.dataset, ...(o.title === undefined ? {} : { title: o.title }), actor: svc.actor }, out);
    }));

  const datasets = program.command('datasets').description('ingested dataset versions and their manifests');
  datasets
    .command('versions')
    .argument('<dataset>')
    .description('list the versions of a dataset')
    .action(withServices(async (svc, dataset: string) => {
      const vs = await svc.ingest.versions(dataset);
      if (vs.length === 0) throw new AppError('not_found', `dataset ${dataset} has no version yet`, { hint: `ingest one: enclave ingest --dataset ${dataset} DIR` });
      out.write(formatTable(['version', 'created', 'files', 'rows', 'quarantined', 'bytes', 'merkle root'], vs.map((v) => [v.version, v.createdAt.slice(0, 19), v.files, v.rowsAccepted, v.rowsQuarantined, v.bytes, `${v.merkleRoot.slice(0, 16)}…`])));
    }));
  datasets
    .command('manifest')
    .argument('<dataset>')
    // Not --version: that is the program's own flag, and it wins (it printed the program version).
    .option('--dataset-version <n>', 'dataset version (default: latest)', int('--dataset-version'))
    .description('print the manifest of a version (files, rows, SHA-256, Merkle root) as JSON')
    .addHelpText('after', '\nExample:\n  enclave datasets manifest snds --dataset-version 1')
    .action(withServices(async (svc, dataset: string, o: { datasetVersion?: number }) => {
      const v = await svc.ingest.version(dataset, o.datasetVersion);
      out.write(`${JSON.stringify(v.manifest, null, 2)}\n`);
    }));

  const mig = program.command('migrate').description('move datasets between stores (local, s3) with proof that nothing was lost or changed').addHelpText('after', `
Steps: plan → run (resumable) → verify → mirror → cutover (rollback switches back).
Example:
  enclave migrate plan --from local --to s3 --dataset snds
  enclave migrate run mig_20260101120000_ab12cd34 --concurrency 8 --max-bandwidth 200MB
  enclave migrate verify mig_20260101120000_ab12cd34
  enclave migrate mirror mig_20260101120000_ab12cd34 --sql cohort.sql
  enclave migrate cutover mig_20260101120000_ab12cd34
See docs/migration.md.`);
  mig.command('plan').description('inventory what moves and run the pre-migration checks; saves the plan')
    .requiredOption('--from <store>', 'source store (local, s3)').requiredOption('--to <store>', 'target store (local, s3)')
    .option('--dataset <name...>', 'datasets to move (default: all)')
    .action(withServices(async (svc, o: { from: string; to: string; dataset?: string[] }) => { await migratePlan(svc, o, out); }));
  mig.command('run').description('copy every file not yet copied (parallel, streaming, SHA-256 checked); resumes after any stop').argument('<plan>')
    .option('--concurrency <n>', 'files copied at once', int('--concurrency'))
    .option('--max-bandwidth <rate>', 'cap for the whole run, e.g. 200MB (per second)')
    .option('--attempts <n>', 'attempts per file on network errors', int('--attempts'))
    .action(withServices(async (svc, plan: string, o: { concurrency?: number; maxBandwidth?: string; attempts?: number }) => { await migrateRun(svc, plan, o, out); }));
  mig.command('verify').description('re-read the target: hashes, Merkle roots, row counts and fingerprints per table and partition').argument('<plan>')
    .option('--deep', 'also fingerprint every row of every partition on both sides (reads both stores in full)')
    .action(withServices(async (svc, plan: string, o: { deep?: boolean }) => { await migrateVerify(svc, plan, out, o); }));
  mig.command('mirror').description('run the same queries on both locations and compare their result fingerprints').argument('<plan>')
    .option('--sql <file>', 'a file of SQL queries separated by ; (tables as ds.TABLE)')
    .action(withServices(async (svc, plan: string, o: { sql?: string }) => { await migrateMirror(svc, plan, o.sql === undefined ? {} : { sql: at(o.sql) }, out); }));
  mig.command('cutover').description('switch the active location of the plan\'s datasets to the target, atomically; writes a signed report').argument('<plan>')
    .option('--dataset <name>', 'one dataset of the plan').action(withServices(async (svc, plan: string, o: { dataset?: string }) => { await migrateSwitch(svc, 'cutover', plan, o, out); }));
  mig.command('rollback').description('switch the active location back to the source; writes a signed report').argument('<plan>')
    .option('--dataset <name>', 'one dataset of the plan').action(withServices(async (svc, plan: string, o: { dataset?: string }) => { await migrateSwitch(svc, 'rollback', plan, o, out); }));

  const keys = program.command('keys').description('the key service: ids and states only, never key material');
  keys.command('ls').description('list data keys').action(withServices(async (svc) => {
    const ks = await svc.keys.listKeys();
    out.write(`keyring: ${svc.keys.keyringPath} (master key ${svc.keys.activeMasterKeyId()})\n`);
    out.write(formatTable(['id', 'scope', 'of', 'purpose', 'state', 'wrapped by', 'created'], ks.map((k) => [k.id, k.scope, k.scopeId, k.purpose, k.state, k.masterKeyId, k.createdAt.slice(0, 19)])));
  }));
  keys.command('rotate-master').description('generate a new master key and re-wrap every data key with it').action(withServices(async (svc) => {
    const r = await svc.keys.rotateMaster(svc.actor);
    out.write(`master key rotated: ${r.oldId} → ${r.newId}; ${r.rewrapped} data keys re-wrapped\n${r.notice}\n`);
  }));

  registerAuditCommands(program, withServices, out, at);
  registerGovernanceCommands(program, withServices, withGov, out, at);
  registerSqlCommand(program, {
    out, err: deps.err ?? { write: (s: string) => process.stderr.write(s) },
    remote: () => {
      const target = remote();
      return target === null ? null : client(target);
    },
    open, acting: actingPrincipal, cwd: deps.cwd ?? process.cwd(), ttyProgress: deps.err === undefined && process.stderr.isTTY,
    ...(deps.input === undefined ? {} : { input: deps.input }),
    historyFile: sqlHistoryFile(deps.env, deps.input === undefined),
  }, int);
  registerAirlockCheck(program, { at, out, err: deps.err ?? { write: (s: string) => process.stderr.write(s) } });
  registerAirlockVerify(program, { at, out });
  registerAirlockCommands(program, { open, remote, client, at, out });

  return program;
}

const isoDate = (name: string) => (v: string): Date => {
  const d = new Date(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(d.getTime())) throw new InvalidArgumentError(`${name} must be an ISO 8601 date or time (UTC), got ${JSON.stringify(v)}`);
  return d;
};
const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

type WithServices = <A extends unknown[]>(fn: (svc: Awaited<ReturnType<OpenServices>>, ...args: A) => Promise<void>) => (...args: A) => Promise<void>;
type WithGovernance = <A extends unknown[]>(fn: (g: GovernanceClient, ...args: A) => Promise<void>) => (...args: A) => Promise<void>;

/** `enclave audit …` (see src/cli/commands/audit.ts). */
function registerAuditCommands(program: Command, withServices: WithServices, out: Output, at: (p: string) => string): void {
  const audit = program.command('audit').description('the tamper-evident audit log: verify, export, checkpoints, proofs, archives, histories');
  audit
    .command('verify')
    .description('recompute the Merkle tree and check every event, leaf signature and signed checkpoint; exits non-zero at the first change')
    .option('--export <file>', 'verify this export (JSON lines) offline instead of the database')
    .option('--checkpoint <file>', 'a signed checkpoint (or the JSON list from /api/v1/audit/checkpoints) to check against; repeatable', collect, [])
    .option('--public-key <vkey>', 'the log verifier key (or a file holding it); required with --export')
    .addHelpText('after', `
Offline, only the export, a checkpoint and the public key are needed:
  enclave audit verify --export audit.jsonl --checkpoint checkpoint.txt --public-key "$(cat audit.vkey)"`)
    .action(async (o: { export?: string; checkpoint: string[]; publicKey?: string }) => {
      if (o.export !== undefined) {
        if (o.publicKey === undefined) throw new AppError('invalid', '--export needs --public-key', { hint: 'print it where the log runs: enclave audit public-key' });
        await auditVerifyOffline({ exportFile: at(o.export), checkpointFiles: o.checkpoint.map(at), publicKey: o.publicKey }, out);
        return;
      }
      await withServices(async (svc) => {
        await auditVerifyDb(svc.audit, o.checkpoint.map(at), out);
      })();
    });
  audit
    .command('export')
    .description('events as JSON lines (event, leaf index, leaf hash, leaf signature) for a SIEM or an auditor; the export is itself audited')
    .option('--since <time>', 'events at or after this UTC time', isoDate('--since'))
    .option('--until <time>', 'events before this UTC time', isoDate('--until'))
    .option('--out <file>', 'write to this file instead of standard output')
    .action(withServices(async (svc, o: { since?: Date; until?: Date; out?: string }) => {
      await auditExport(svc.audit, { actor: svc.actor }, { ...(o.since === undefined ? {} : { since: o.since }), ...(o.until === undefined ? {} : { until: o.until }), ...(o.out === undefined ? {} : { outFile: at(o.out) }) }, out);
    }));
  audit.command('checkpoint').description('sign a checkpoint of the log now (C2SP signed note) and print it').action(withServices(async (svc) => { await auditCheckpoint(svc.audit, out); }));
  audit.command('public-key').description('print the log verifier key (C2SP vkey) to give to auditors and witnesses').action(withServices(async (svc) => { out.write(`${svc.audit.publicKey}\n`); }));
  const proof = audit.command('proof').description('RFC 9162 proofs');
  proof
    .command('inclusion')
    .description('inclusion proof of one event')
    .requiredOption('--index <n>', 'leaf index (seq) of the event', int('--index'))
    .option('--size <n>', 'tree size (default: the latest checkpoint)', int('--size'))
    .action(withServices(async (svc, o: { index: number; size?: number }) => { await auditProofInclusion(svc.audit, o.index, o.size, out); }));
  proof
    .command('consistency')
    .description('consistency proof between two tree sizes')
    .requiredOption('--from <n>', 'older tree size', int('--from'))
    .requiredOption('--to <n>', 'newer tree size', int('--to'))
    .action(withServices(async (svc, o: { from: number; to: number }) => { await auditProofConsistency(svc.audit, o.from, o.to, out); }));
  audit
    .command('archive')
    .description('move checkpointed events past retention into signed archive files (then tombstoned in the database)')
    .requiredOption('--dir <dir>', 'directory to write archive files and their signed notes to')
    .action(withServices(async (svc, o: { dir: string }) => { await auditArchive(svc.audit, at(o.dir), out); }));
  audit
    .command('history')
    .description("every event on a target and under it, e.g. a project's full access history (the lookup is itself audited)")
    .requiredOption('--target <t>', 'e.g. project:42 or dataset:snds')
    .option('--json', 'JSON lines instead of a table')
    .action(withServices(async (svc, o: { target: string; json?: boolean }) => { await auditHistory(svc.audit, { actor: svc.actor }, o.target, { json: o.json === true }, out); }));
}

/** `enclave projects|permits|tokens|demo …` (see src/cli/commands/governance.ts). */
function registerGovernanceCommands(program: Command, withServices: WithServices, withGov: WithGovernance, out: Output, at: (p: string) => string): void {
  const AS = ['--as <person>', 'act as this demo person (embedded default, local mode only), e.g. applicant, committee1'] as const;
  type As = { as?: string };
  const projects = program.command('projects').description('projects and their review: file, submit, review, decide, amend (the same rules as the API: four eyes, workflow table)').addHelpText('after', `
Example (embedded default, each step by a different demo person):
  enclave projects create application.json --as applicant
  enclave projects submit PROJECT --as applicant
  enclave projects review PROJECT --step completeness --decision approve --as committee1
  enclave projects review PROJECT --step ethics --decision approve --reference CESREES-2026-001 --as ethics
  enclave projects review PROJECT --step legal --decision approve --reference MR-004 --as legal
  enclave projects decide PROJECT --decision approve --as committee1   (then --as committee2)
Amending the active permit (it stays in force until the amendment is approved):
  enclave projects amend PROJECT amended-application.json --as applicant
  enclave projects review PROJECT --amendment --step completeness --decision approve --as committee1   (ethics, legal likewise)
  enclave permits template PROJECT --amendment --as committee1 > amended-permit.json
  enclave permits propose PROJECT amended-permit.json --amendment --as committee1
  enclave projects decide PROJECT --amendment --decision approve --as committee1   (then --as committee2)
Remotely (ENCLAVE_URL, ENCLAVE_TOKEN set; no --as): ls, show, amend, amendment, access and permits show
work with a project's API token; reviews need the portal.`);
  projects.command('ls').description('projects I may see').option(...AS).action(withGov(async (g) => { await projectsLs(g, out); }));
  projects.command('show').argument('<project>').description('a project: status, team, permit in force, amendment, reviews, actions open to me').option(...AS).option('--json', 'the whole detail as JSON')
    .action(withGov(async (g, id: string, o: As & { json?: boolean }) => { await projectsShow(g, id, o, out); }));
  projects.command('create').argument('<application.json>', 'the application (title, organisation, purpose, legal basis, team, requested scope)').description('file a project (draft); I become its principal investigator').option(...AS)
    .action(withGov(async (g, file: string, o: As) => { await projectsCreate(g, at(file), o, out); }));
  projects.command('submit').argument('<project>').description('submit the application for review (principal investigator)').option(...AS)
    .action(withGov(async (g, id: string) => { await projectsSubmit(g, id, out); }));
  projects.command('review').argument('<project>').description('record a review step: completeness (committee), ethics, legal; --amendment for the amendment under way')
    .requiredOption('--step <step>', 'completeness | ethics | legal').requiredOption('--decision <d>', 'approve | return | reject')
    .option('--reference <ref>', 'ethics opinion number, CNIL decision or reference methodology').option('--comment <text>').option('--amendment', 'review the amendment under way, not the application').option(...AS)
    .action(withGov(async (g, id: string, o: As & { step: string; decision: string; reference?: string; comment?: string; amendment?: boolean }) => { await projectsReview(g, id, o, out); }));
  projects.command('decide').argument('<project>').description('committee vote on the proposed permit; two distinct members put it in force (--amendment: the amended permit, superseding the one in force)')
    .requiredOption('--decision <d>', 'approve | return | reject').option('--comment <text>').option('--amendment', 'vote on the amended permit').option(...AS)
    .action(withGov(async (g, id: string, o: As & { decision: string; comment?: string; amendment?: boolean }) => { await projectsReview(g, id, { ...o, step: 'committee' }, out); }));
  projects.command('amend').argument('<project>').argument('<application.json>', 'the application with its changed requested scope (columns, tables, years, population)')
    .description('file an amendment of the active permit (principal investigator); the permit stays in force, unchanged, during the review')
    .option('--revise', 'revise the amendment the reviewers returned, and resubmit it').option(...AS)
    .action(withGov(async (g, id: string, file: string, o: As & { revise?: boolean }) => { await projectsAmend(g, id, at(file), o, out); }));
  projects.command('engine').argument('<project>', 'the project id (enclave projects ls)').argument('[engine]', 'duckdb or trino: put the project on this engine (omit to show it)')
    .description('the engine a project runs on (operators): show it, or move the project to another engine this deployment runs')
    .option('--json', 'the state as JSON').addHelpText('after', `
A deployment runs DuckDB (embedded) and, when ENCLAVE_TRINO_URL is set, Trino; ENCLAVE_ENGINE is
the default. Moving a project rebuilds its extract on the new engine in the background; members
keep working on the old engine until the new extract is ready, then the workspace switches and
the old engine's copy is dropped. A failed rebuild puts the project back. Saved tables stay with
the engine they were made on. Every step is audited (project.engine.change, .rebuilt, .revert).
Operators run it on the server (beside a running server it goes through it); the API is
GET/PUT /api/v1/operator/projects/{id}/engine, and the portal's Operations page has the same.

Examples:
  enclave projects engine PROJECT           show the engine, what serves the workspace now, and the engines available
  enclave projects engine PROJECT trino     move the project to Trino (202 through the API)
  enclave projects engine PROJECT duckdb    move it back to DuckDB`)
    .action(withGov(async (g, id: string, engine: string | undefined, o: { json?: boolean }) => { await projectsEngine(g, id, engine, o, out); }));
  projects.command('amendment').argument('<project>').description('the amendment under way (or the latest): what it changes, its reviews, the permit in force')
    .option('--withdraw', 'withdraw it (principal investigator); the permit in force is unchanged').option('--json', 'the whole detail as JSON').option(...AS)
    .action(withGov(async (g, id: string, o: As & { json?: boolean; withdraw?: boolean }) => { await projectsAmendment(g, id, o, out); }));
  projects.command('access').argument('<project>').description('may I read this now? computed from the permit in force at this very request (refusals are audited)')
    .option('--dataset <name>', 'e.g. snds').option('--table <name>', 'e.g. ER_PRS_F').option('--columns <list>', 'comma-separated, e.g. BEN_NIR_PSA,EXE_SOI_DTD').option('--tool <tool>', 'web_sql | database_protocol').option(...AS)
    .action(withGov(async (g, id: string, o: As & { dataset?: string; table?: string; columns?: string; tool?: string }) => { await projectsAccess(g, id, o, out); }));

  const permits = program.command('permits').description('permits as code: the machine-readable authorisation from which access is derived');
  permits.command('show').argument('<project>').description('permit versions of a project (active, superseded, …), and the document in force').option(...AS)
    .action(withGov(async (g, id: string) => { await permitsShow(g, id, out); }));
  permits.command('template').argument('<project>').description('a starting permit drawn from the application, as JSON (access committee)')
    .option('--from <date>', 'first day, YYYY-MM-DD').option('--until <date>', 'last day, YYYY-MM-DD').option('--amendment', 'the amended permit: the one in force with the amendment\'s scope').option(...AS)
    .action(withGov(async (g, id: string, o: As & { from?: string; until?: string; amendment?: boolean }) => { await permitsTemplate(g, id, o, out); }));
  permits.command('propose').argument('<project>').argument('<file>', 'the permit JSON document').description('propose the permit for the committee vote (access committee)').option('--amendment', 'propose it for the amendment under way').option(...AS)
    .action(withGov(async (g, id: string, file: string, o: As & { amendment?: boolean }) => { await permitsPropose(g, id, at(file), o, out); }));
  permits.command('validate').argument('<file>', 'a permit JSON document').description('check a permit against the published schema, the catalogue and the potential-identifier rule').option(...AS)
    .action(withGov(async (g, file: string) => { await permitsValidate(g, at(file), out); }));

  const tokens = program.command('tokens').description('API tokens: one person, one project, expiring, revocable, stored hashed');
  tokens.command('create').requiredOption('--project <id>', 'the one project the token acts on').option('--days <n>', 'lifetime in days (1-90, default 30)', int('--days')).option('--label <text>').option(...AS)
    .description('create a token (shown once)').action(withServices(async (svc, o: As & { project: string; days?: number; label?: string }) => { await tokensCreate(svc, o, out); }));
  tokens.command('ls').description('my tokens (never the secret)').option(...AS).action(withServices(async (svc, o: As) => { await tokensLs(svc, o, out); }));
  tokens.command('revoke').argument('<token-id>').description('revoke a token (owner or admin); refused from the next request on').option(...AS)
    .action(withServices(async (svc, id: string, o: As) => { await tokensRevoke(svc, id, o, out); }));

  const demo = program.command('demo').description('DEMO ONLY: the embedded default\'s demo people');
  demo.command('people').description('demo people of the embedded identity provider, their TOTP secrets and current codes')
    .option('--new-passwords', 'give every demo person a new password, printed once (audited)')
    .action(withServices(async (svc, o: { newPasswords?: boolean }) => { await demoPeople(svc, out, o); }));
}

/** Runs the program, printing AppErrors as `error: message` + `hint:` and setting the exit code. */
export async function runCli(argv: readonly string[], deps: ProgramDeps): Promise<number> {
  const program = buildProgram(deps);
  // Sub-commands copy settings when created, so the override must reach each of them: without
  // it a bad option value on a sub-command calls process.exit from inside commander.
  const override = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(override);
  };
  override(program);
  const err = deps.err ?? { write: (s: string) => process.stderr.write(s) };
  const out = deps.out ?? { write: (s: string) => process.stdout.write(s) };
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (first) {
    let e = first;
    if (e instanceof ForwardToServer) {
      try {
        return await forwardToServer(e, argv.slice(2), { cwd: deps.cwd ?? process.cwd(), out, err });
      } catch (e2) {
        e = e2;
      }
    }
    if (e instanceof CommanderError) return e.exitCode;
    if (e instanceof ExitWith) return e.exitCode;
    if (isAppError(e)) {
      err.write(`error: ${e.message}\n${e.hint === undefined ? '' : `hint: ${e.hint}\n`}`);
      return e.code === 'internal' ? 70 : 1;
    }
    err.write(`error: internal error (${e instanceof Error ? e.name : 'unknown'}); run again with ENCLAVE_LOG_LEVEL=debug for details\n`);
    if (deps.debug === true) err.write(`${e instanceof Error ? (e.stack ?? '') : String(e)}\n`);
    return 70;
  }
}
