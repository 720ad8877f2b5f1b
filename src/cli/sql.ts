/**
 * `enclave sql --project P [statement]`: SQL in a project's workspace from the terminal. One
 * statement prints a table and exits; without one, an interactive prompt (history, statements
 * over several lines until `;`, a progress indicator, `\d` to list tables, Ctrl-C cancels).
 *
 * Three ways to reach the workspace, the same rules everywhere (members of the active permit):
 * - remote, with ENCLAVE_URL and ENCLAVE_TOKEN: the query API (`/api/v1/projects/{id}/queries`);
 * - local, on the server's own terminal with no server running: the workspace service itself
 *   (as `--as <demo person>` on the embedded default, else the local operator, who is no member);
 * - beside a running server: the command goes through the server's local socket; interactively,
 *   each statement does.
 */
import { appendFileSync, chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { AppError } from '../errors.ts';
import type { Principal } from '../identity/index.ts';
import type { Query, RowsPage, WorkspaceInfo, WorkspaceService } from '../workspace/index.ts';
import { ForwardToServer, forwardToServer } from './local-client.ts';
import type { RemoteClient } from './remote.ts';
import type { CliServices, Output } from './services.ts';
import { formatTable, type Cell } from './table.ts';

/** What `enclave sql` needs of a workspace, locally or through the API. */
export interface SqlClient {
  submit(sql: string, saveAs?: { readonly name: string; readonly kind: 'table' | 'view' }): Promise<Query>;
  query(id: string): Promise<Query>;
  rows(id: string, offset: number, limit: number): Promise<RowsPage>;
  cancel(id: string): Promise<Query>;
  workspace(): Promise<WorkspaceInfo>;
  /** The caller's latest statements in the project, newest first. */
  mine(): Promise<Query[]>;
}

/** The workspace service in this process, as one principal. */
export function localSqlClient(ws: WorkspaceService, p: Principal, projectId: string): SqlClient {
  return {
    submit: async (sql, saveAs) => (await ws.submit(p, projectId, { sql, ...(saveAs === undefined ? {} : { saveAs }), waitMs: 0 })).query,
    query: (id) => ws.query(p, projectId, id),
    rows: (id, offset, limit) => ws.rows(p, projectId, id, { offset, limit }),
    cancel: (id) => ws.cancel(p, projectId, id),
    workspace: () => ws.workspace(p, projectId),
    mine: () => ws.history(p, projectId, { limit: 50 }),
  };
}

/** The query API of a remote server (ENCLAVE_URL, ENCLAVE_TOKEN). */
export function remoteSqlClient(api: RemoteClient, projectId: string): SqlClient {
  const base = `/projects/${encodeURIComponent(projectId)}`;
  return {
    submit: (sql, saveAs) => api.request<Query>('POST', `${base}/queries`, { sql, ...(saveAs === undefined ? {} : { saveAs }), waitMs: 1000 }),
    query: (id) => api.get<Query>(`${base}/queries/${encodeURIComponent(id)}`),
    rows: (id, offset, limit) => api.get<RowsPage>(`${base}/queries/${encodeURIComponent(id)}/rows?offset=${offset}&limit=${limit}`),
    cancel: (id) => api.request<Query>('POST', `${base}/queries/${encodeURIComponent(id)}/cancel`, {}),
    workspace: () => api.get<WorkspaceInfo>(`${base}/workspace`),
    mine: async () => (await api.get<{ queries: Query[] }>(`${base}/queries?limit=50`)).queries,
  };
}

export interface SqlOptions {
  readonly maxRows: number;
  readonly saveAs?: { readonly name: string; readonly kind: 'table' | 'view' };
  /** How often to ask for progress while a statement runs. */
  readonly pollMs?: number;
}

/** Where progress goes: redrawn on one line of a terminal, nothing elsewhere (logs stay clean). */
export interface ProgressSink {
  readonly tty: boolean;
  write(s: string): void;
}

const cellOf = (v: unknown): Cell => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : (v as Cell));

/**
 * Runs one statement and prints its outcome: the first rows as a table, or what was saved.
 * Resolves with the Query; a refusal or a failure is printed (message, hint) and thrown as the
 * AppError it is, so the command exits non-zero. `cancel` is set while it runs (Ctrl-C).
 */
export async function runStatement(client: SqlClient, sql: string, o: SqlOptions, out: Output, progress: ProgressSink, running?: { cancel?: () => void }): Promise<Query> {
  const t0 = Date.now();
  let q = await client.submit(sql, o.saveAs);
  let cancelling = false;
  if (running !== undefined) {
    running.cancel = () => {
      cancelling = true;
      void client.cancel(q.id).catch(() => undefined);
    };
  }
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  while (q.status === 'running') {
    if (progress.tty) {
      const pct = q.progress === null || q.progress <= 0 ? '' : ` ${Math.min(99, Math.round(q.progress))}%`;
      progress.write(`\r${frames[i++ % frames.length] ?? ''} running${pct}  ${((Date.now() - t0) / 1000).toFixed(1)} s${cancelling ? '  (cancelling)' : '  (Ctrl-C cancels)'}\x1b[K`);
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 200));
    q = await client.query(q.id);
  }
  if (progress.tty) progress.write('\r\x1b[K');
  if (running !== undefined) delete running.cancel;
  if (q.status !== 'succeeded') {
    const e = q.error;
    const code = q.status === 'refused' ? 'forbidden' : q.status === 'cancelled' ? 'conflict' : ((e?.code ?? 'invalid') as 'invalid');
    throw new AppError(code, `${q.status === 'refused' ? 'refused' : q.status}: ${e?.message ?? 'the statement did not complete'}`, {
      ...(e?.hint === undefined ? {} : { hint: e.hint }), details: { query: q.id, ...(e?.reason === undefined ? {} : { reason: e.reason }) },
    });
  }
  if (q.saved !== null) {
    const size = q.saved.bytes === undefined ? '' : `, ${q.saved.bytes} bytes encrypted`;
    out.write(`saved ${q.saved.kind} ${q.saved.name}${q.saved.rowCount === undefined ? '' : ` (${q.saved.rowCount} rows${size})`} in ${q.elapsedMs ?? '?'} ms\n`);
    return q;
  }
  const rowCount = q.rowCount ?? 0;
  const shown = Math.min(rowCount, o.maxRows);
  const rows: unknown[][] = [];
  while (rows.length < shown) {
    const page = await client.rows(q.id, rows.length, Math.min(1000, shown - rows.length));
    if (page.rows.length === 0) break;
    rows.push(...page.rows.map((r) => [...r]));
  }
  out.write(formatTable((q.columns ?? []).map((c) => c.name), rows.map((r) => r.map(cellOf))));
  const more = rowCount > shown ? `, first ${shown} shown (--max-rows)` : '';
  const capped = q.truncated === true ? '; more rows existed than the workspace keeps (row cap): narrow the query or save it as a table' : '';
  out.write(`(${rowCount} row${rowCount === 1 ? '' : 's'}${more}; ${q.elapsedMs ?? '?'} ms; sha256 ${(q.sha256 ?? '').slice(0, 16)}…${capped})\n`);
  return q;
}

/** `\d`: the workspace's tables; `\d name`: one table's columns, with catalogue descriptions. */
export async function describeTables(client: SqlClient, name: string | undefined, out: Output): Promise<void> {
  const info = await client.workspace();
  if (name === undefined) {
    if (info.tables.length === 0) {
      out.write(`no tables (workspace ${info.status})\n`);
      return;
    }
    out.write(formatTable(['schema', 'name', 'kind', 'rows', 'columns'], info.tables.map((t) => [t.schema, t.name, t.kind, t.rows ?? null, t.columns.length])));
    out.write(`scratch quota: ${info.quota.usedBytes} of ${info.quota.quotaBytes} bytes used\n`);
    return;
  }
  const t = info.tables.find((x) => x.name === name || `${x.schema}.${x.name}` === name);
  if (t === undefined) throw new AppError('not_found', `no table ${name} in the workspace`, { hint: 'list them with \\d' });
  out.write(formatTable(['column', 'type', 'sensitivity', 'description'], t.columns.map((c) => [c.name, c.type, c.sensitivity ?? '', c.description ?? ''])));
}

/** `--cancel`: stops the caller's running and queued statements in the project (Ctrl-C of a prompt beside a server). */
export async function cancelMine(client: SqlClient, out: Output): Promise<number> {
  const running = (await client.mine()).filter((q) => q.status === 'running');
  for (const q of running) await client.cancel(q.id);
  out.write(running.length === 0 ? 'nothing of yours was running\n' : `cancelled ${running.length} statement${running.length === 1 ? '' : 's'}\n`);
  return running.length;
}

/** Entries kept in the history file (the newest). */
export const HISTORY_SIZE = 500;

/**
 * The prompt's history file: one entry per line (a statement over several lines is kept on one),
 * oldest first, owner-only (0600): it holds the SQL you typed, as psql's history does. Returns
 * the entries newest first, as readline wants them; none if the file is missing or unreadable.
 */
export function loadHistory(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l.trim() !== '').slice(-HISTORY_SIZE).reverse();
}

/** Appends one entry (newlines folded to spaces); trims the file to the newest entries now and then. */
export function appendHistory(file: string, entry: string): void {
  const line = entry.replace(/\s*\n\s*/g, ' ').trim();
  if (line === '') return;
  try {
    appendFileSync(file, `${line}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    const all = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '');
    if (all.length > HISTORY_SIZE * 2) writeFileSync(file, `${all.slice(-HISTORY_SIZE).join('\n')}\n`, { mode: 0o600 });
  } catch {
    // history is a convenience: a read-only home never stops the prompt
  }
}

export interface InteractiveIo {
  readonly input: NodeJS.ReadableStream;
  /** Where the prompt's history is kept between sessions (none: this session only). */
  readonly historyFile?: string | undefined;
  readonly output: Output;
  readonly err: ProgressSink;
  /** Whether input is a terminal (prompts and line editing) or piped. */
  readonly terminal: boolean;
}

/** What the prompt does with a statement and with `\d`: in this process, or through the server. */
export interface PromptRunner {
  run(sql: string, running: { cancel?: () => void }): Promise<void>;
  describe(name: string | undefined): Promise<void>;
}

const HELP_LINES = `Type SQL ending with ; (it may span lines). Commands:
  \\d            list the extract's tables and your saved tables
  \\d NAME       columns of a table, with their catalogue description and sensitivity
  \\q            quit (or Ctrl-D)
  Ctrl-C        cancel the running statement (or clear the line)
`;

/** The interactive prompt: history (arrow keys), statements until `;`, `\d`, `\q`. */
export async function interactive(runner: PromptRunner, project: string, io: InteractiveIo): Promise<void> {
  const history = io.historyFile === undefined ? [] : loadHistory(io.historyFile);
  const rl = createInterface({ input: io.input, output: io.terminal ? (process.stdout) : undefined, terminal: io.terminal, historySize: HISTORY_SIZE, history, prompt: `${project.slice(0, 8)}> ` });
  const remember = (entry: string): void => {
    if (io.historyFile !== undefined) appendHistory(io.historyFile, entry);
  };
  const running: { cancel?: () => void } = {};
  let buffer = '';
  rl.on('SIGINT', () => {
    if (running.cancel !== undefined) running.cancel();
    else {
      buffer = '';
      io.output.write('\n');
      rl.setPrompt(`${project.slice(0, 8)}> `);
      rl.prompt();
    }
  });
  io.output.write(`Connected to the workspace of project ${project}. \\d lists tables, \\q quits, statements end with ;\n`);
  if (io.terminal) rl.prompt();
  for await (const line of rl) {
    const trimmed = line.trim();
    if (buffer === '' && trimmed.startsWith('\\')) {
      const [cmd, arg] = trimmed.split(/\s+/, 2);
      if (cmd !== '\\q') remember(trimmed);
      try {
        if (cmd === '\\q') break;
        else if (cmd === '\\d') await runner.describe(arg);
        else if (cmd === '\\?' || cmd === '\\h') io.output.write(HELP_LINES);
        else io.output.write(`unknown command ${cmd ?? ''}: \\? lists them\n`);
      } catch (e) {
        io.output.write(errorText(e));
      }
    } else if (trimmed !== '' || buffer !== '') {
      buffer = buffer === '' ? line : `${buffer}\n${line}`;
      if (buffer.trimEnd().endsWith(';')) {
        const sql = buffer.trimEnd().replace(/;$/, '');
        remember(`${sql.trim()};`);
        buffer = '';
        // Lines typed meanwhile wait in the iterator's buffer; Ctrl-C still reaches SIGINT.
        try {
          if (sql.trim() !== '') await runner.run(sql, running);
        } catch (e) {
          io.output.write(errorText(e));
        }
      }
    }
    rl.setPrompt(buffer === '' ? `${project.slice(0, 8)}> ` : `${' '.repeat(Math.min(project.length, 8))}. `);
    if (io.terminal) rl.prompt();
  }
  rl.close();
}

function errorText(e: unknown): string {
  if (e instanceof AppError) return `error: ${e.message}\n${e.hint === undefined ? '' : `hint: ${e.hint}\n`}`;
  return `error: ${e instanceof Error ? e.name : 'unknown'}\n`;
}

export interface SqlCommandDeps {
  readonly out: Output;
  readonly err: Output;
  /** The remote API client when ENCLAVE_URL is set, else null. */
  remote(): RemoteClient | null;
  /** Opens the local services; throws ForwardToServer beside a running server. */
  open(): Promise<CliServices>;
  /** Resolves `--as` (embedded default) or the local operator. */
  acting(svc: CliServices, o: { readonly as?: string }): Promise<Principal>;
  readonly input?: NodeJS.ReadableStream;
  readonly cwd: string;
  /** Draw the progress indicator (standard error is a terminal). */
  readonly ttyProgress: boolean;
  /** The interactive prompt's history file (ENCLAVE_SQL_HISTORY; default in the home directory; none when empty). */
  readonly historyFile?: string | undefined;
}

interface SqlFlags {
  project: string;
  as?: string;
  maxRows: number;
  saveAs?: string;
  kind?: string;
  tables?: boolean;
  table?: string;
  cancel?: boolean;
}

/** Registers `enclave sql` on the program. */
export function registerSqlCommand(program: Command, deps: SqlCommandDeps, parseInt: (name: string) => (v: string) => number): void {
  program
    .command('sql')
    .description('run SQL in a project\'s workspace (its extract and your saved tables): one statement, or an interactive prompt')
    .requiredOption('--project <id>', 'the project whose workspace to use (you must be named in its active permit)')
    .argument('[statement]', 'one statement to run; without it, an interactive prompt opens')
    .option('--max-rows <n>', 'rows printed at most (the result is kept whole in the workspace)', parseInt('--max-rows'), 100)
    .option('--save-as <name>', 'save the result in your scratch schema under this name instead of printing it')
    .option('--kind <kind>', 'with --save-as: table (the rows, counted against the quota; default) or view (the query)')
    .option('--tables', 'list the workspace\'s tables (like \\d) and exit')
    .option('--table <name>', 'show one table\'s columns with their catalogue description and sensitivity (like \\d NAME) and exit')
    .option('--cancel', 'cancel your running and queued statements in this project, and exit')
    .option('--as <person>', 'act as this demo person (embedded default, local mode only), e.g. applicant')
    .addHelpText('after', `
What you can run: one query at a time (SELECT, WITH, VALUES, FROM-first, DESCRIBE, SUMMARIZE) on
the extract's tables (e.g. er_prs_f) and your saved tables. Everything else is refused with the
rule it broke: files (read_csv, COPY), other databases (ATTACH), extensions, settings, several
statements at once. To keep a result, save it: --save-as NAME [--kind view]; drop it through the
portal or DELETE /api/v1/projects/P/tables/NAME. Every statement is recorded and audited (the SQL,
its duration, rows and the SHA-256 of its result); rows never leave the workspace from here:
outputs go out through the airlock.

Interactive prompt: statements end with ; and may span lines; arrow keys recall history; a
progress indicator shows while a statement runs and Ctrl-C cancels it; \\d lists tables, \\d NAME
shows a table's columns with their catalogue description and sensitivity; \\q quits. History is
kept between sessions in ~/.enclave_sql_history (owner-only; ENCLAVE_SQL_HISTORY=FILE to move
it, ENCLAVE_SQL_HISTORY= to keep none).

Where it runs:
  remotely   ENCLAVE_URL=https://host ENCLAVE_TOKEN=<API token of the project> enclave sql --project P
  locally    on the server's own terminal; on the embedded default, --as <demo person> acts as them
             (beside a running server, statements go through it)

Examples:
  enclave sql --project P "SELECT count(*) FROM er_prs_f"
  enclave sql --project P --save-as cohort "SELECT DISTINCT ben_nir_psa FROM er_prs_f WHERE prs_nat_ref = 1111"
  enclave sql --project P --tables
  enclave sql --project P --table er_prs_f
  enclave sql --project P --cancel
  enclave sql --project P`)
    .action(async (statement: string | undefined, o: SqlFlags) => {
      if (o.kind !== undefined && o.kind !== 'table' && o.kind !== 'view') throw new AppError('invalid', `--kind must be table or view, got ${JSON.stringify(o.kind)}`);
      if (o.kind !== undefined && o.saveAs === undefined) throw new AppError('invalid', '--kind goes with --save-as NAME');
      const kind: 'table' | 'view' = o.kind === 'view' ? 'view' : 'table';
      const saveAs = o.saveAs === undefined ? undefined : { name: o.saveAs, kind };
      const opts: SqlOptions = { maxRows: o.maxRows, ...(saveAs === undefined ? {} : { saveAs }) };
      const errSink: ProgressSink = { tty: deps.ttyProgress, write: (s) => deps.err.write(s) };
      const interactiveIo = (): InteractiveIo => {
        const input = deps.input ?? process.stdin;
        const terminal = input === process.stdin && process.stdin.isTTY === true;
        return { input, output: deps.out, err: errSink, terminal, historyFile: deps.historyFile };
      };
      const api = deps.remote();
      if (api !== null) {
        if (o.as !== undefined) throw new AppError('invalid', '--as acts as a demo person on the server\'s own terminal; against ENCLAVE_URL you act as the person of ENCLAVE_TOKEN', { hint: 'drop --as' });
        await drive(remoteSqlClient(api, o.project));
        return;
      }
      let svc: CliServices;
      try {
        svc = await deps.open();
      } catch (e) {
        // Beside a running server: one statement goes through it whole (runCli forwards the
        // command); the prompt stays here and sends each statement through it.
        if (!(e instanceof ForwardToServer) || statement !== undefined || o.tables === true || o.table !== undefined || o.cancel === true) throw e;
        await interactive(forwardedRunner(e, o, deps), o.project, interactiveIo());
        return;
      }
      try {
        if (svc.workspace === undefined) throw new AppError('unavailable', 'this installation has no workspace service');
        await drive(localSqlClient(svc.workspace, await deps.acting(svc, o.as === undefined ? {} : { as: o.as }), o.project));
      } finally {
        await svc.close();
      }

      async function drive(client: SqlClient): Promise<void> {
        if (o.tables === true || o.table !== undefined) {
          await describeTables(client, o.table, deps.out);
          return;
        }
        if (o.cancel === true) {
          await cancelMine(client, deps.out);
          return;
        }
        if (statement !== undefined) {
          await runStatement(client, statement, opts, deps.out, errSink);
          return;
        }
        const io = interactiveIo();
        await interactive({ run: async (sql, running) => { await runStatement(client, sql, { maxRows: o.maxRows }, deps.out, io.err, running); }, describe: (name) => describeTables(client, name, deps.out) }, o.project, io);
      }
    });
}

/** Each statement of the prompt sent through the running server as its own `enclave sql`. */
function forwardedRunner(f: ForwardToServer, o: SqlFlags, deps: SqlCommandDeps): PromptRunner {
  const base = ['sql', '--project', o.project, '--max-rows', String(o.maxRows), ...(o.as === undefined ? [] : ['--as', o.as])];
  // The server prints the outcome, errors included; the prompt goes on whatever the exit code.
  const send = async (args: readonly string[]): Promise<void> => {
    await forwardToServer(f, [...base, ...args], { cwd: deps.cwd, out: deps.out, err: deps.err });
  };
  return {
    run: async (sql, running) => {
      // Ctrl-C: a second command through the server cancels the caller's running statement
      running.cancel = () => {
        void send(['--cancel']).catch(() => undefined);
      };
      try {
        await send(['--', sql]);
      } finally {
        delete running.cancel;
      }
    },
    describe: (name) => send(name === undefined ? ['--tables'] : ['--table', name]),
  };
}
