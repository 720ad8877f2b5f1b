/**
 * One client connection: authentication (SCRAM-SHA-256 with a project API token as the
 * password), then the simple and extended query protocols over the member's workspace.
 *
 * pg-gateway reads the socket, answers SSLRequest with the TLS upgrade, frames messages and
 * parses the startup message; everything after startup is handled here, one message at a time
 * in arrival order (a queue: the library's own handler must not await while more data comes).
 *
 * Statements go three ways (`plan`): session statements (SET/SHOW/RESET/BEGIN/COMMIT/…) and
 * catalogue queries are answered by the endpoint itself from `settings.ts` and `catalogue.ts`;
 * COPY and other bulk export are refused (outputs leave through the airlock); everything else
 * is the member's statement, run through `WorkspaceService.submit` exactly as the browser's (the
 * permit check, the engine's parser check, limits, the per-statement audit), its rows read
 * page by page with `WorkspaceService.rows` (each page re-checks the permit).
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import { PostgresConnection, type State, type TlsOptions } from 'pg-gateway';
import type { JsonValue } from '../audit/index.ts';
import type { ResultColumn } from '../engine/index.ts';
import { AppError } from '../errors.ts';
import type { Principal } from '../identity/index.ts';
import type { Query, WorkspaceService, WorkspaceTable } from '../workspace/index.ts';
import { answerCatalogue, CatalogueError, isCatalogueStatement, mentionsCatalogue, type CatalogueTable } from './catalogue.ts';
import { ScramError, ScramExchange, SCRAM_MECHANISM, type ScramCandidate } from './scram.ts';
import { SessionSettings } from './settings.ts';
import { bindPlaceholders, lex, normalise, placeholderCount, splitTopLevel } from './sql-text.ts';
import { parameterLiteral, PG, pgTypeOf, toBinary, toText, type PgType } from './types.ts';
import { columnTypesOf, parameterTypes, standardCasts, typedLiteral } from './param-types.ts';

/** What the endpoint needs of identity (IdentityService implements it). */
export interface PgwireIdentity {
  scramCredentials(projectId: string): Promise<{ salt: Buffer; iterations: number; tokens: ScramCandidate[] }>;
  resolveApiTokenId(tokenId: string): Promise<Principal | null>;
}

export interface PgwireAudit {
  record(draft: { actor: { kind: 'person' | 'service'; id: string }; action: string; target: string; outcome?: 'success' | 'failure' | 'denied'; details?: Record<string, JsonValue> }): Promise<unknown>;
}

export interface ConnectionDeps {
  readonly workspace: WorkspaceService;
  readonly identity: PgwireIdentity;
  readonly audit: PgwireAudit;
  readonly serverVersion: string;
  /** Rows read from the workspace per page (≤ the workspace's page limit). */
  readonly pageRows: number;
  /** Refuse clients that did not upgrade to TLS (any listener not bound to loopback). */
  readonly requireTls: boolean;
  readonly tls: TlsOptions | undefined;
  /** How long the catalogue's view of the workspace's tables is reused. */
  readonly catalogueTtlMs: number;
  register(c: Connection): void;
  unregister(c: Connection): void;
  cancel(pid: number, secret: number): void;
}

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const GSSENC_REQUEST = 80877104;
const PROJECT_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** A statement is at most 256 KiB (the workspace's limit); Bind adds its parameters. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

interface WireError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly detail?: string;
  readonly fatal?: boolean;
}

class WireFailure extends Error {
  readonly wire: WireError;
  constructor(e: WireError) {
    super(e.message);
    this.wire = e;
  }
}

const fail = (code: string, message: string, hint?: string): never => {
  throw new WireFailure({ code, message, ...(hint === undefined ? {} : { hint }) });
};

interface Column { readonly name: string; readonly type: PgType }

/** A result being sent: local rows, or a workspace query's rows read by pages. */
interface Result {
  readonly columns: readonly Column[];
  readonly tag: string;
  readonly rowCount: number;
  readonly local?: ReadonlyArray<ReadonlyArray<string | null>>;
  readonly query?: { readonly id: string; readonly truncated: boolean; readonly cells: readonly ResultColumn[] };
  /** Settings changed (ParameterStatus to send). */
  readonly changed?: ReadonlyArray<readonly [string, string]>;
  readonly notice?: string;
  readonly txn?: 'I' | 'T';
}

interface Prepared {
  readonly sql: string;
  readonly paramTypes: readonly number[];
}

interface Portal {
  readonly statement: Prepared;
  readonly sql: string;
  readonly formats: readonly number[];
  result: Result | undefined;
  sent: number;
}

export class Connection {
  readonly pid = randomInt(1, 2 ** 31 - 1);
  readonly secret = randomInt(1, 2 ** 31 - 1);
  readonly #d: ConnectionDeps;
  #socket: Socket;
  readonly #pg: PostgresConnection;
  readonly #queue: Buffer[] = [];
  #inbox: Buffer = Buffer.alloc(0);
  #pumping = false;
  #closed = false;
  #scram: ScramExchange | undefined;
  #principal: Principal | undefined;
  #projectId = '';
  #user = '';
  #settings = new SessionSettings({});
  #txn: 'I' | 'T' | 'E' = 'I';
  /** Extended protocol: after an error, messages are skipped up to the next Sync. */
  #skipToSync = false;
  readonly #statements = new Map<string, Prepared>();
  readonly #portals = new Map<string, Portal>();
  #running: string | undefined;
  #catalogue: { at: number; tables: CatalogueTable[] } | undefined;
  readonly #counts = { statements: 0, answered: 0, refused: 0 };
  readonly #opened = Date.now();

  constructor(socket: Socket, deps: ConnectionDeps) {
    this.#d = deps;
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('error', () => this.#end());
    socket.on('close', () => this.#end());
    this.#pg = new PostgresConnection(socket, {
      serverVersion: deps.serverVersion,
      ...(deps.tls === undefined ? {} : { tls: deps.tls }),
      onMessage: (data, state) => this.#onMessage(Buffer.from(data), state),
      onStartup: () => this.#onStartup(),
    });
  }

  get projectId(): string {
    return this.#projectId;
  }

  get authenticated(): boolean {
    return this.#principal !== undefined;
  }

  /** Must stay synchronous (see the module comment): queue, then process in order. */
  #onMessage(data: Buffer, state: State): boolean {
    if (this.#closed) return true;
    if (!state.hasStarted) {
      const code = data.length >= 8 ? data.readInt32BE(4) : 0;
      if (code === SSL_REQUEST) return false;
      if (code === CANCEL_REQUEST && data.length >= 16) {
        this.#d.cancel(data.readInt32BE(8), data.readInt32BE(12));
        this.#socket.end();
        return true;
      }
      if (code === GSSENC_REQUEST) {
        this.#socket.write('N');
        // The library marks the connection started when a pre-startup message is handled
        // here; the real startup message follows, once the client has read the answer.
        setImmediate(() => { this.#pg.hasStarted = false; });
        return true;
      }
      if (this.#d.requireTls && this.#pg.secureSocket === undefined) {
        this.#fatal({ code: '28000', message: 'this endpoint accepts TLS connections only', hint: 'connect with sslmode=require (or verify-full with the platform\'s certificate)' });
        return true;
      }
      return false;
    }
    this.#queue.push(data);
    if (!this.#pumping) void this.#pump();
    return true;
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#inbox = this.#inbox.length === 0 ? chunk : Buffer.concat([this.#inbox, chunk]);
    while (this.#inbox.length >= 5) {
      const len = this.#inbox.readInt32BE(1);
      if (len < 4 || len > MAX_MESSAGE_BYTES) {
        this.#fatal({ code: '08P01', message: `invalid message length ${len} (at most ${MAX_MESSAGE_BYTES} bytes)` });
        return;
      }
      if (this.#inbox.length < 1 + len) break;
      this.#queue.push(Buffer.from(this.#inbox.subarray(0, 1 + len)));
      this.#inbox = this.#inbox.subarray(1 + len);
    }
    if (!this.#pumping) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const msg = this.#queue.shift();
        if (msg === undefined) break;
        try {
          if (this.#principal === undefined) await this.#authMessage(msg);
          else await this.#message(msg);
        } catch (e) {
          this.#error(e);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  // ---- startup and authentication ----

  async #onStartup(): Promise<boolean> {
    // From here on messages are framed here: pg-gateway 0.2.4 mis-slices every message after
    // the first of a TCP chunk (it ends the slice at the message's length, not its offset +
    // length), and the extended protocol sends several per chunk.
    const socket = this.#pg.detach();
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => this.#end());
    socket.on('close', () => this.#end());
    const params = this.#pg.clientInfo?.parameters ?? { user: '' };
    this.#user = params.user;
    const database = params['database'] ?? params.user;
    this.#settings = new SessionSettings(Object.fromEntries(Object.entries(params).filter(([k]) => !['user', 'database', 'options', 'replication'].includes(k))));
    if (params['replication'] !== undefined && params['replication'] !== 'false') {
      this.#fatal({ code: '42501', message: 'replication connections are not available: rows leave a workspace only through the airlock' });
      return true;
    }
    this.#projectId = database;
    // Unknown projects run the same exchange (with no token to match), so that a failed login
    // does not tell whether the project exists.
    const creds = PROJECT_ID.test(database) ? await this.#d.identity.scramCredentials(database) : { salt: randomBytes(16), iterations: 4096, tokens: [] };
    this.#scram = new ScramExchange(creds.salt, creds.iterations, creds.tokens);
    const w = this.#pg.writer;
    w.addInt32(10).addCString(SCRAM_MECHANISM).addCString('');
    this.#send(w.flush(0x52));
    return true;
  }

  async #authMessage(msg: Buffer): Promise<void> {
    const type = msg[0];
    if (type === 0x58) return this.#end();
    if (type !== 0x70 || this.#scram === undefined) return this.#fatal({ code: '08P01', message: 'expected a SASL response during authentication' });
    const body = msg.subarray(5);
    try {
      if (!this.#sentFirst) {
        const nul = body.indexOf(0);
        const mechanism = body.subarray(0, nul).toString('utf8');
        if (mechanism !== SCRAM_MECHANISM) return this.#fatal({ code: '28000', message: `SASL mechanism ${mechanism.slice(0, 40)} is not offered`, hint: 'this endpoint authenticates with SCRAM-SHA-256 only' });
        const len = body.readInt32BE(nul + 1);
        const serverFirst = this.#scram.first(body.subarray(nul + 5, nul + 5 + len).toString('utf8'));
        this.#sentFirst = true;
        const w = this.#pg.writer;
        w.addInt32(11).addString(serverFirst);
        this.#send(w.flush(0x52));
        return;
      }
      const match = this.#scram.final(body.toString('utf8'));
      if (match === null) return await this.#authFailed('password');
      const principal = await this.#d.identity.resolveApiTokenId(match.tokenId);
      if (principal === null) return await this.#authFailed('password');
      const p = this.#d.workspace.throughTool(principal, 'database_protocol');
      try {
        await this.#d.workspace.access(p, this.#projectId);
      } catch (e) {
        await this.#d.audit.record({ actor: { kind: 'person', id: p.personId }, action: 'pgwire.connect', target: `project:${this.#projectId}`, outcome: 'denied', details: { reason: e instanceof AppError && typeof e.details?.['reason'] === 'string' ? e.details['reason'] : e instanceof AppError ? e.code : 'error' } });
        return this.#fatal(accessError(e));
      }
      const w = this.#pg.writer;
      w.addInt32(12).addString(match.serverFinal);
      this.#send(w.flush(0x52));
      this.#principal = p;
      this.#pg.isAuthenticated = true;
      w.addInt32(0);
      const out: Buffer[] = [w.flush(0x52)];
      this.#settings.set('session_authorization', this.#user);
      for (const [name, value] of [...this.#settings.reported(), ['session_authorization', this.#user] as const]) out.push(w.addCString(name).addCString(value).flush(0x53));
      out.push(w.addInt32(this.pid).addInt32(this.secret).flush(0x4b));
      out.push(w.addString('I').flush(0x5a));
      this.#send(Buffer.concat(out));
      this.#d.register(this);
      await this.#d.audit.record({ actor: { kind: 'person', id: p.personId }, action: 'pgwire.connect', target: `project:${this.#projectId}`, details: { tls: this.#pg.secureSocket !== undefined, application: (this.#settings.get('application_name') ?? '').slice(0, 63) } });
    } catch (e) {
      if (e instanceof ScramError) return this.#fatal({ code: '08P01', message: e.message });
      throw e;
    }
  }

  #sentFirst = false;

  async #authFailed(reason: string): Promise<void> {
    await this.#d.audit.record({ actor: { kind: 'service', id: 'pgwire' }, action: 'pgwire.connect', target: PROJECT_ID.test(this.#projectId) ? `project:${this.#projectId}` : 'project:?', outcome: 'denied', details: { reason } });
    this.#fatal({
      code: '28P01', message: `password authentication failed for user "${this.#user.slice(0, 63)}"`,
      hint: 'the database is the project id and the password an API token of that project (portal: Profile → API tokens); tokens issued before the PostgreSQL endpoint existed must be renewed',
    });
  }

  // ---- end of access ----

  /** Re-checks the permit (periodically, and when the project's access changes); closes the connection when it no longer holds. */
  async recheck(): Promise<void> {
    const p = this.#principal;
    if (p === undefined || this.#closed) return;
    try {
      await this.#d.workspace.access(p, this.#projectId);
    } catch (e) {
      if (e instanceof AppError && (e.code === 'forbidden' || e.code === 'not_found')) this.#fatal(accessError(e));
    }
  }

  /** A CancelRequest naming this connection: the running statement is cancelled (as the browser's cancel). */
  async cancelRunning(): Promise<void> {
    const qid = this.#running;
    const p = this.#principal;
    if (qid === undefined || p === undefined) return;
    await this.#d.workspace.cancel(p, this.#projectId, qid).catch(() => undefined);
  }

  close(reason: WireError): void {
    this.#fatal(reason);
  }

  #end(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#d.unregister(this);
    if (!this.#socket.destroyed) this.#socket.destroy();
    const p = this.#principal;
    if (p !== undefined) {
      void this.#d.audit.record({ actor: { kind: 'person', id: p.personId }, action: 'pgwire.disconnect', target: `project:${this.#projectId}`, details: { ...this.#counts, seconds: Math.round((Date.now() - this.#opened) / 1000) } }).catch(() => undefined);
    }
  }

  #fatal(e: WireError): void {
    if (this.#closed) return;
    // No longer counted as open, nor re-checked, from the moment it is told why it ends.
    this.#d.unregister(this);
    this.#send(this.#errorMessage({ ...e, fatal: true }));
    this.#socket.end();
    setTimeout(() => this.#end(), 1000).unref();
  }

  // ---- messages ----

  async #message(msg: Buffer): Promise<void> {
    const type = String.fromCharCode(msg[0] ?? 0);
    const r = new Reader(msg, 5);
    if (this.#skipToSync && type !== 'S' && type !== 'X') return;
    switch (type) {
      case 'Q': return this.#simpleQuery(r.cstring());
      case 'P': {
        const name = r.cstring();
        const sql = r.cstring();
        const n = r.int16();
        const types: number[] = [];
        for (let i = 0; i < n; i++) types.push(r.int32());
        if (name !== '' && this.#statements.has(name)) fail('42P05', `prepared statement "${name.slice(0, 60)}" already exists`);
        this.#statements.set(name, { sql, paramTypes: types });
        return this.#send(this.#pg.writer.flush(0x31));
      }
      case 'B': {
        const portal = r.cstring();
        const stmtName = r.cstring();
        const st = this.#statements.get(stmtName);
        if (st === undefined) fail('26000', `prepared statement "${stmtName.slice(0, 60)}" does not exist`);
        const s = st as Prepared;
        const nf = r.int16();
        const pf: number[] = [];
        for (let i = 0; i < nf; i++) pf.push(r.int16());
        const np = r.int16();
        const literals: string[] = [];
        // Untyped parameters (OID 0) take the type of their place in the statement (param-types.ts).
        let placed: Map<number, string> | undefined;
        for (let i = 0; i < np; i++) {
          const len = r.int32();
          const value = len === -1 ? null : r.bytes(len);
          const format = pf.length === 1 ? (pf[0] ?? 0) : (pf[i] ?? 0);
          try {
            if (value !== null && format === 0 && (s.paramTypes[i] ?? 0) === 0) {
              placed ??= parameterTypes(s.sql, columnTypesOf(s.sql, await this.#tables().catch(() => [])));
              const type = placed.get(i + 1);
              const typed = type === undefined ? undefined : typedLiteral(value.toString('utf8'), type);
              if (typed !== undefined) {
                literals.push(typed);
                continue;
              }
            }
            literals.push(parameterLiteral(value, format, s.paramTypes[i] ?? 0));
          } catch (e) {
            fail('22P03', `parameter $${i + 1}: ${e instanceof Error ? e.message : 'cannot be read'}`, 'send parameters in text format');
          }
        }
        const nr = r.int16();
        const rf: number[] = [];
        for (let i = 0; i < nr; i++) rf.push(r.int16());
        const need = placeholderCount(s.sql);
        if (np < need) fail('08P01', `the statement has ${need} parameter(s) but ${np} were bound`);
        this.#portals.set(portal, { statement: s, sql: np === 0 ? s.sql : bindPlaceholders(s.sql, literals), formats: rf, result: undefined, sent: 0 });
        return this.#send(this.#pg.writer.flush(0x32));
      }
      case 'D': {
        const kind = r.byte();
        const name = r.cstring();
        if (kind === 'S') return this.#describeStatement(name);
        const portal = this.#portals.get(name);
        if (portal === undefined) fail('34000', `portal "${name.slice(0, 60)}" does not exist`);
        const p = portal as Portal;
        p.result ??= await this.#run(p.sql);
        return this.#send(p.result.columns.length === 0 ? this.#pg.writer.flush(0x6e) : this.#rowDescription(p.result.columns, p.formats));
      }
      case 'E': {
        const name = r.cstring();
        const max = r.int32();
        const portal = this.#portals.get(name);
        if (portal === undefined) fail('34000', `portal "${name.slice(0, 60)}" does not exist`);
        return this.#execute(portal as Portal, max);
      }
      case 'C': {
        const kind = r.byte();
        const name = r.cstring();
        if (kind === 'S') this.#statements.delete(name);
        else this.#portals.delete(name);
        return this.#send(this.#pg.writer.flush(0x33));
      }
      case 'S':
        this.#skipToSync = false;
        this.#portals.delete('');
        return this.#ready();
      case 'H': return;
      case 'X': return this.#end();
      case 'd': case 'c': case 'f': return;
      case 'F': return fail('0A000', 'function calls are not available over this endpoint');
      default: return this.#fatal({ code: '08P01', message: `unknown message type ${JSON.stringify(type)}` });
    }
  }

  async #simpleQuery(sql: string): Promise<void> {
    try {
      const parts = splitStatements(sql);
      if (parts.length === 0) {
        this.#send(this.#pg.writer.flush(0x49));
        return;
      }
      // Several statements at once are answered here only when all are session statements
      // (SET, BEGIN, …); otherwise the text goes whole to the workspace, whose parser
      // refuses more than one statement, exactly as from the browser.
      const statements = parts.length > 1 && parts.every((p) => plan(p).kind === 'local' && !/^select\b/i.test(p)) ? parts : [sql];
      for (const s of statements) {
        const result = await this.#run(s);
        if (result.columns.length > 0) this.#send(this.#rowDescription(result.columns, []));
        await this.#sendRows(result, [], 0, 0);
      }
    } catch (e) {
      this.#error(e);
      // A simple query ends at its own ReadyForQuery: nothing to skip afterwards.
      this.#skipToSync = false;
    } finally {
      this.#ready();
    }
  }

  async #describeStatement(name: string): Promise<void> {
    const st = this.#statements.get(name);
    if (st === undefined) fail('26000', `prepared statement "${name.slice(0, 60)}" does not exist`);
    const s = st as Prepared;
    const n = Math.max(placeholderCount(s.sql), s.paramTypes.length);
    const w = this.#pg.writer;
    w.addInt16(n);
    for (let i = 0; i < n; i++) w.addInt32(s.paramTypes[i] || PG.text.oid);
    const out = [w.flush(0x74)];
    const nulls = Array.from({ length: n }, () => 'NULL');
    const sql = n === 0 ? s.sql : bindPlaceholders(s.sql, nulls);
    const p = plan(normalise(sql));
    let columns: readonly Column[] = [];
    if (p.kind === 'workspace') {
      // The columns of a statement not yet bound: the engine describes the query without running it.
      const described = await this.#workspaceResult(`DESCRIBE ${normalise(sql)}`, true);
      const page = described.rowCount === 0 ? { rows: [] } : await this.#d.workspace.rows(this.#p(), this.#projectId, described.query?.id ?? '', { offset: 0, limit: Math.min(described.rowCount, 1000) });
      columns = page.rows.map((row) => ({ name: typeof row[0] === 'string' ? row[0] : '?column?', type: pgTypeOf(typeof row[1] === 'string' ? row[1] : 'VARCHAR') }));
    } else if (p.kind === 'local') columns = (await this.#run(sql)).columns;
    out.push(columns.length === 0 ? this.#pg.writer.flush(0x6e) : this.#rowDescription(columns, []));
    this.#send(Buffer.concat(out));
  }

  async #execute(portal: Portal, max: number): Promise<void> {
    portal.result ??= await this.#run(portal.sql);
    const limit = max <= 0 ? Infinity : max;
    await this.#sendRows(portal.result, portal.formats, portal.sent, limit, (n) => { portal.sent += n; });
  }

  /** Sends rows from `offset` (at most `limit`), then CommandComplete or PortalSuspended. */
  async #sendRows(result: Result, formats: readonly number[], offset: number, limit: number, advanced?: (n: number) => void): Promise<void> {
    const total = result.rowCount;
    const end = limit === 0 ? total : Math.min(total, offset + limit);
    let at = offset;
    const encode = (rows: ReadonlyArray<ReadonlyArray<unknown>>): Buffer => {
      const w = this.#pg.writer;
      const out: Buffer[] = [];
      for (const row of rows) {
        w.addInt16(result.columns.length);
        result.columns.forEach((c, i) => {
          const v = row[i] as Parameters<typeof toText>[0];
          const binary = (formats.length === 1 ? formats[0] : formats[i]) === 1;
          const b = binary ? toBinary(v, c.type) : (() => { const s = toText(v, c.type); return s === null ? null : Buffer.from(s, 'utf8'); })();
          if (b === null) w.addInt32(-1);
          else w.addInt32(b.length).add(b);
        });
        out.push(w.flush(0x44));
      }
      return Buffer.concat(out);
    };
    if (result.local !== undefined) {
      this.#send(encode(result.local.slice(at, end)));
      at = end;
    } else if (result.query !== undefined) {
      while (at < end && !this.#closed) {
        const page = await this.#d.workspace.rows(this.#p(), this.#projectId, result.query.id, { offset: at, limit: Math.min(this.#d.pageRows, end - at) });
        if (page.rows.length === 0) break;
        const ok = this.#socket.write(encode(page.rows));
        at += page.rows.length;
        if (!ok) await new Promise<void>((resolve) => { this.#socket.once('drain', resolve); this.#socket.once('close', resolve); });
      }
    }
    advanced?.(at - offset);
    if (at < total) {
      this.#send(this.#pg.writer.flush(0x73));
      return;
    }
    const w = this.#pg.writer;
    const out: Buffer[] = [];
    if (result.notice !== undefined) out.push(w.addString('S').addCString('WARNING').addString('V').addCString('WARNING').addString('C').addCString('01000').addString('M').addCString(result.notice).addCString('').flush(0x4e));
    for (const [name, value] of result.changed ?? []) out.push(w.addCString(name).addCString(value).flush(0x53));
    out.push(result.tag === '' ? w.flush(0x49) : w.addCString(result.tag).flush(0x43));
    this.#send(Buffer.concat(out));
    if (result.txn !== undefined) this.#txn = result.txn;
  }

  #p(): Principal {
    if (this.#principal === undefined) throw new WireFailure({ code: '28000', message: 'not authenticated', fatal: true });
    return this.#principal;
  }

  /** Runs one statement (parameters already bound) and returns its result, rows not yet sent. */
  async #run(sql: string): Promise<Result> {
    const text = normalise(sql);
    const p = plan(text);
    this.#counts.statements++;
    if (p.kind === 'refuse') {
      this.#counts.refused++;
      await this.#d.audit.record({ actor: { kind: 'person', id: this.#p().personId }, action: 'pgwire.statement', target: `project:${this.#projectId}`, outcome: 'denied', details: { sql: sql.slice(0, 4096), reason: p.reason } });
      fail(p.code, p.message, p.hint);
    }
    if (p.kind === 'empty') return { columns: [], tag: '', rowCount: 0, local: [] };
    if (p.kind === 'workspace') return this.#workspaceResult(standardCasts(sql), false);
    // Answered here; the permit is still checked at every statement.
    this.#counts.answered++;
    await this.#access();
    try {
      return await this.#local(text);
    } catch (e) {
      // A refusal of the endpoint's own (a setting of the engine, an unknown one) is audited
      // like the workspace's refusals.
      if (e instanceof WireFailure) {
        this.#counts.refused++;
        await this.#d.audit.record({ actor: { kind: 'person', id: this.#p().personId }, action: 'pgwire.statement', target: `project:${this.#projectId}`, outcome: 'denied', details: { sql: sql.slice(0, 4096), error: e.wire.code } });
      }
      throw e;
    }
  }

  async #access(): Promise<void> {
    try {
      await this.#d.workspace.access(this.#p(), this.#projectId);
    } catch (e) {
      throw new WireFailure({ ...accessError(e), fatal: true });
    }
  }

  async #workspaceResult(sql: string, quiet: boolean): Promise<Result> {
    let submitted: { readonly query: Query; readonly done: Promise<Query> };
    try {
      submitted = await this.#d.workspace.submit(this.#p(), this.#projectId, { sql });
    } catch (e) {
      if (e instanceof AppError && e.code === 'forbidden') throw new WireFailure({ ...accessError(e), fatal: true });
      throw e;
    }
    this.#running = submitted.query.id;
    let q: Query;
    try {
      q = await submitted.done;
    } finally {
      this.#running = undefined;
    }
    if (q.status !== 'succeeded') throw new WireFailure(queryError(q));
    const cells = q.columns ?? [];
    const rowCount = q.rowCount ?? 0;
    return {
      columns: cells.map((c) => ({ name: c.name, type: pgTypeOf(c.type) })), tag: `SELECT ${rowCount}`, rowCount,
      query: { id: q.id, truncated: q.truncated === true, cells },
      ...(q.truncated === true && !quiet ? { notice: `the result was cut at the workspace's row cap (${rowCount} rows): refine the query, or save it as a table and aggregate it` } : {}),
    };
  }

  async #tables(): Promise<CatalogueTable[]> {
    if (this.#catalogue !== undefined && Date.now() - this.#catalogue.at < this.#d.catalogueTtlMs) return this.#catalogue.tables;
    const info = await this.#d.workspace.workspace(this.#p(), this.#projectId);
    // The extract's tables are views over encrypted files inside the engine; to a client they
    // are the workspace's read-only tables (psql's \dt, DBeaver's "Tables").
    const tables = info.tables.map((t: WorkspaceTable): CatalogueTable => ({ schema: t.schema, name: t.name, kind: t.schema === 'extract' ? 'table' : t.kind, ...(t.rows === undefined ? {} : { rows: t.rows }), columns: t.columns }));
    this.#catalogue = { at: Date.now(), tables };
    return tables;
  }

  async #local(text: string): Promise<Result> {
    const upper = text.toUpperCase();
    if (/^(BEGIN|START TRANSACTION)\b/.test(upper)) return { columns: [], tag: 'BEGIN', rowCount: 0, local: [], txn: 'T' };
    if (/^(COMMIT|END)\b/.test(upper)) return { columns: [], tag: this.#txn === 'E' ? 'ROLLBACK' : 'COMMIT', rowCount: 0, local: [], txn: 'I' };
    if (/^(ROLLBACK|ABORT)\b/.test(upper)) return { columns: [], tag: 'ROLLBACK', rowCount: 0, local: [], txn: 'I' };
    if (/^DISCARD ALL$/.test(upper)) {
      this.#settings.resetAll();
      this.#statements.clear();
      return { columns: [], tag: 'DISCARD ALL', rowCount: 0, local: [], changed: this.#settings.reported() };
    }
    if (/^DEALLOCATE ALL$/.test(upper)) {
      this.#statements.clear();
      return { columns: [], tag: 'DEALLOCATE ALL', rowCount: 0, local: [] };
    }
    if (/^SET (SESSION |LOCAL )?(CHARACTERISTICS AS )?TRANSACTION\b/.test(upper)) {
      if (/READ WRITE/.test(upper)) fail('25006', 'a workspace is read-only', 'save results with the browser\'s "save as", not with writes');
      return { columns: [], tag: 'SET', rowCount: 0, local: [] };
    }
    const set = /^SET\s+(?:SESSION\s+|LOCAL\s+)?(?:(TIME\s+ZONE|NAMES)\s+(.+)|("?[A-Za-z_][\w.]*"?)\s*(?:=|\bTO\b)\s*(.+))$/is.exec(text);
    if (/^SET\b/i.test(text)) {
      if (set === null) fail('42501', `${text.slice(0, 60)}: only session settings can be set over this endpoint`, 'SHOW ALL lists them');
      const name = set?.[1] !== undefined ? (/^names$/i.test(set[1]) ? 'client_encoding' : 'TimeZone') : (set?.[3] ?? '');
      const raw = (set?.[2] ?? set?.[4] ?? '').trim();
      const value = /^default$/i.test(raw) ? undefined : splitTopLevel(raw).map((v) => v.trim().replace(/^'((?:[^']|'')*)'$/, (_m, s: string) => s.replace(/''/g, "'")).replace(/^"(.*)"$/, '$1')).join(', ');
      const r = value === undefined ? this.#settings.reset(name) : this.#settings.set(name, value);
      if ('error' in r) fail(r.error.startsWith('unrecognized') ? '42704' : '22023', r.error, 'SHOW ALL lists the settings this endpoint accepts; the workspace engine\'s own settings cannot be changed');
      const changed = 'changed' in r && r.changed.report === true ? [[r.changed.name, this.#settings.get(r.changed.name) ?? ''] as const] : [];
      return { columns: [], tag: 'SET', rowCount: 0, local: [], changed };
    }
    const reset = /^RESET\s+(ALL|"?[A-Za-z_][\w.]*"?)$/i.exec(text);
    if (/^RESET\b/i.test(text)) {
      if (reset === null) fail('42601', 'syntax: RESET name | RESET ALL');
      if (/^all$/i.test(reset?.[1] ?? '')) {
        this.#settings.resetAll();
        return { columns: [], tag: 'RESET', rowCount: 0, local: [], changed: this.#settings.reported() };
      }
      const r = this.#settings.reset(reset?.[1] ?? '');
      if ('error' in r) fail('42704', r.error, 'SHOW ALL lists the settings of this endpoint');
      return { columns: [], tag: 'RESET', rowCount: 0, local: [] };
    }
    const show = /^SHOW\s+(ALL|"?[A-Za-z_][\w.]*"?|TIME\s+ZONE|TRANSACTION\s+ISOLATION\s+LEVEL)$/i.exec(text);
    if (/^SHOW\b/i.test(text)) {
      if (show === null) fail('42704', `${text.slice(0, 60)}: unrecognized configuration parameter`, 'SHOW ALL lists the settings of this endpoint; the tables are in the schema browser (\\dt in psql)');
      const what = (show?.[1] ?? '').replace(/\s+/g, ' ');
      if (/^all$/i.test(what)) return { columns: [{ name: 'name', type: PG.text }, { name: 'setting', type: PG.text }, { name: 'description', type: PG.text }], tag: 'SHOW', rowCount: this.#settings.all().length, local: this.#settings.all().map(([n, v]) => [n, v, '']) };
      const name = /^time zone$/i.test(what) ? 'TimeZone' : /^transaction isolation level$/i.test(what) ? 'transaction_isolation' : what.replace(/^"(.*)"$/, '$1');
      const v = this.#settings.get(name);
      if (v === undefined) fail('42704', `unrecognized configuration parameter "${name.slice(0, 60)}"`, 'SHOW ALL lists the settings of this endpoint');
      return { columns: [{ name: name.toLowerCase(), type: PG.text }], tag: 'SHOW', rowCount: 1, local: [[v ?? '']] };
    }
    // Catalogue.
    const tables = await this.#tables();
    try {
      const r = answerCatalogue(text, {
        tables, database: this.#projectId, user: this.#user, serverVersion: this.#d.serverVersion, backendPid: this.pid,
        setting: (n) => this.#settings.get(n), allSettings: () => this.#settings.all(),
      });
      const sets = /^select\s+(?:pg_catalog\.)?set_config\s*\(\s*'([^']+)'\s*,\s*'((?:[^']|'')*)'/i.exec(text);
      if (sets !== null) {
        const s = this.#settings.set(sets[1] ?? '', (sets[2] ?? '').replace(/''/g, "'"));
        if ('error' in s) fail('22023', s.error);
        return { columns: r.columns, tag: 'SELECT 1', rowCount: 1, local: [[this.#settings.get(sets[1] ?? '') ?? '']] };
      }
      return { columns: r.columns, tag: r.tag, rowCount: r.rows.length, local: r.rows };
    } catch (e) {
      if (e instanceof CatalogueError) fail(e.sqlState, e.message, e.hint);
      throw e;
    }
  }

  // ---- writing ----

  #rowDescription(columns: readonly Column[], formats: readonly number[]): Buffer {
    const w = this.#pg.writer;
    w.addInt16(columns.length);
    columns.forEach((c, i) => {
      w.addCString(c.name).addInt32(0).addInt16(0).addInt32(c.type.oid).addInt16(c.type.len).addInt32(c.type.typmod).addInt16((formats.length === 1 ? formats[0] : formats[i]) === 1 ? 1 : 0);
    });
    return w.flush(0x54);
  }

  #ready(): void {
    this.#send(this.#pg.writer.addString(this.#txn).flush(0x5a));
  }

  #send(b: Buffer): void {
    if (!this.#closed && !this.#socket.destroyed && !this.#socket.writableEnded) this.#socket.write(b);
  }

  #errorMessage(e: WireError): Buffer {
    const w = this.#pg.writer;
    const sev = e.fatal === true ? 'FATAL' : 'ERROR';
    w.addString('S').addCString(sev).addString('V').addCString(sev).addString('C').addCString(e.code).addString('M').addCString(e.message.replace(/\u0000/g, ''));
    if (e.detail !== undefined) w.addString('D').addCString(e.detail.replace(/\u0000/g, ''));
    if (e.hint !== undefined) w.addString('H').addCString(e.hint.replace(/\u0000/g, ''));
    return w.addCString('').flush(0x45);
  }

  #error(e: unknown): void {
    const wire: WireError = e instanceof WireFailure ? e.wire : e instanceof AppError && e.code !== 'internal'
      ? { code: sqlStateOf(e.code, typeof e.details?.['reason'] === 'string' ? e.details['reason'] : undefined), message: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }) }
      : { code: 'XX000', message: 'the endpoint failed to answer this statement', hint: 'run it again; if it keeps failing, tell the platform operator' };
    if (wire.fatal === true) return this.#fatal(wire);
    this.#send(this.#errorMessage(wire));
    if (this.#txn === 'T') this.#txn = 'E';
    this.#skipToSync = true;
  }
}

class Reader {
  readonly #b: Buffer;
  #at: number;
  constructor(b: Buffer, at: number) {
    this.#b = b;
    this.#at = at;
  }
  cstring(): string {
    const end = this.#b.indexOf(0, this.#at);
    if (end === -1) throw new WireFailure({ code: '08P01', message: 'malformed message: unterminated string', fatal: true });
    const s = this.#b.subarray(this.#at, end).toString('utf8');
    this.#at = end + 1;
    return s;
  }
  int16(): number { const v = this.#b.readInt16BE(this.#at); this.#at += 2; return v; }
  int32(): number { const v = this.#b.readInt32BE(this.#at); this.#at += 4; return v; }
  byte(): string { const v = String.fromCharCode(this.#b[this.#at] ?? 0); this.#at += 1; return v; }
  bytes(n: number): Buffer { const v = this.#b.subarray(this.#at, this.#at + n); this.#at += n; return v; }
}

type Plan =
  | { readonly kind: 'empty' }
  | { readonly kind: 'local' }
  | { readonly kind: 'workspace' }
  | { readonly kind: 'refuse'; readonly code: string; readonly message: string; readonly hint: string; readonly reason: string };

/** Where a statement goes (see the module comment). `text` is normalised (no comments). */
export function plan(text: string): Plan {
  if (text === '') return { kind: 'empty' };
  const code = lex(text).filter((s) => s.kind === 'code').map((s) => s.text).join(' ');
  if (/^copy\b/i.test(text) || /\bto\s+stdout\b/i.test(code)) {
    return { kind: 'refuse', code: '42501', reason: 'bulk_export', message: 'COPY is not available over the PostgreSQL endpoint: rows are viewed inside the workspace, and leave it only through the airlock', hint: 'query the rows you need (up to the workspace\'s row cap), or ask for an output to be released through the airlock' };
  }
  if (/^(begin|start\s+transaction|commit|end|rollback|abort|discard\s+all|deallocate\s+all|set|reset|show)\b/i.test(text) && !/^set\s+variable\b/i.test(text)) {
    // `SET VARIABLE` is the engine's own statement, left to the workspace (which refuses it).
    return { kind: 'local' };
  }
  if (isCatalogueStatement(text)) return { kind: 'local' };
  if (/^(select|with)\b/i.test(text) && mentionsCatalogue(code) && !/^with\b/i.test(text)) {
    return { kind: 'refuse', code: '0A000', reason: 'catalogue_mixed', message: 'catalogue relations (pg_catalog, information_schema) cannot be combined with workspace tables', hint: 'query the catalogue and the workspace\'s tables separately' };
  }
  return { kind: 'workspace' };
}

/** Statements of a simple query (top-level `;`, outside strings and comments). */
function splitStatements(sql: string): string[] {
  return splitTopLevel(sql, ';').map((s) => normalise(s)).filter((s) => s !== '');
}

function sqlStateOf(code: string, reason?: string): string {
  if (reason === 'timeout') return '57014';
  if (reason === 'memory') return '53200';
  if (reason === 'access_ended') return '57P01';
  switch (code) {
    case 'forbidden': return '42501';
    case 'invalid': return '42000';
    case 'not_found': return '42P01';
    case 'conflict': return '57014';
    case 'gone': return '55000';
    case 'payload_too_large': return '54000';
    case 'unavailable': return '57P03';
    default: return 'XX000';
  }
}

function queryError(q: Query): WireError {
  const e = q.error;
  if (e === null) return { code: 'XX000', message: `the statement ended ${q.status}` };
  const code = q.status === 'refused' ? '42501' : q.status === 'cancelled' ? (e.reason === 'access_ended' ? '57P01' : '57014') : sqlStateOf(e.code, e.reason);
  return { code, message: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }), ...(e.reason === undefined ? {} : { detail: `reason: ${e.reason}` }), ...(e.reason === 'access_ended' ? { fatal: true } : {}) };
}

function accessError(e: unknown): WireError {
  if (e instanceof AppError && (e.code === 'forbidden' || e.code === 'not_found')) {
    return { code: '28000', message: `no access to workspace: ${e.message}`, ...(e.hint === undefined ? {} : { hint: e.hint }), ...(typeof e.details?.['reason'] === 'string' ? { detail: `reason: ${e.details['reason']}` } : {}) };
  }
  return { code: 'XX000', message: 'the endpoint could not check access to the workspace', hint: 'try again; if it keeps failing, tell the platform operator' };
}
