/**
 * A thin client of Trino's client REST protocol (`POST /v1/statement`, then `GET nextUri` until
 * none is left; `DELETE nextUri` cancels), on node's own fetch.
 *
 * Why not `trino-client` (0.2.9): its iterator hides the per-response `stats`
 * (`progressPercentage`, the port's `progress()`), offers no way to abandon a result midway but
 * `DELETE /v1/query/{id}` (the management API, which access control guards separately from the
 * protocol's own cancel), and brings axios into the server's runtime. The protocol is small and
 * documented; this file is all of it that Enclave uses.
 */

export interface TrinoColumn {
  readonly name: string;
  readonly type: string;
}

export interface TrinoError {
  readonly message: string;
  readonly errorName: string;
  readonly errorType: string;
  readonly errorCode?: number;
}

interface StatementResponse {
  readonly id: string;
  readonly nextUri?: string;
  readonly columns?: readonly TrinoColumn[];
  readonly data?: readonly (readonly unknown[])[];
  readonly stats?: { readonly state?: string; readonly progressPercentage?: number };
  readonly error?: TrinoError;
}

export interface TrinoClientOptions {
  /** Coordinator URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** Extra headers on every request (e.g. `Authorization` in production). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Called when a statement run by `query` fails with `CATALOG_NOT_FOUND`, with the catalog's
   * name: true when the catalog was created again (`catalog-keeper.ts`), and the statement is
   * then run once more. A catalog that is not found did not let the statement start, so running
   * it again does nothing twice.
   */
  readonly onCatalogNotFound?: (catalog: string) => Promise<boolean>;
}

export interface StatementOptions {
  readonly user: string;
  readonly catalog?: string;
  readonly schema?: string;
  /** Session properties (`X-Trino-Session`). */
  readonly session?: Readonly<Record<string, string>>;
  readonly source?: string;
}

/** A failed statement: Trino's own error, with its name (e.g. `PERMISSION_DENIED`, `SYNTAX_ERROR`). */
export class TrinoQueryError extends Error {
  readonly error: TrinoError;
  readonly queryId: string | undefined;
  constructor(error: TrinoError, queryId: string | undefined) {
    super(error.message);
    this.error = error;
    this.queryId = queryId;
  }
}

/** The catalog a `CATALOG_NOT_FOUND` error names, if `e` is one. */
export function missingCatalog(e: unknown): string | undefined {
  if (!(e instanceof TrinoQueryError) || e.error.errorName !== 'CATALOG_NOT_FOUND') return undefined;
  return /Catalog '([^']+)' (?:not found|does not exist)/.exec(e.error.message)?.[1];
}

/** The server could not be reached or answered outside the protocol. */
export class TrinoUnavailableError extends Error {}

/**
 * One running statement. Rows arrive in batches through `next()`; `cancel()` stops it at the
 * coordinator (the protocol's `DELETE nextUri`).
 */
export class TrinoStatement {
  readonly #client: TrinoClient;
  #next: string | undefined;
  #columns: readonly TrinoColumn[] | undefined;
  #progress: number | undefined;
  #cancelled = false;
  queryId: string | undefined;

  constructor(client: TrinoClient, first: StatementResponse) {
    this.#client = client;
    this.queryId = first.id;
    this.#next = first.nextUri;
    this.#absorb(first);
    this.#pending = first.data ?? [];
  }

  #pending: readonly (readonly unknown[])[];

  #absorb(r: StatementResponse): void {
    if (r.columns !== undefined) this.#columns = r.columns;
    if (r.stats?.progressPercentage !== undefined) this.#progress = r.stats.progressPercentage;
    if (r.error !== undefined) {
      this.#next = undefined;
      throw new TrinoQueryError(r.error, r.id);
    }
  }

  get columns(): readonly TrinoColumn[] | undefined {
    return this.#columns;
  }

  get progress(): number | undefined {
    return this.#progress;
  }

  get done(): boolean {
    return this.#next === undefined && this.#pending.length === 0;
  }

  /** The next batch of rows ([] while the query is still running); undefined once finished. */
  async next(): Promise<readonly (readonly unknown[])[] | undefined> {
    if (this.#pending.length > 0) {
      const out = this.#pending;
      this.#pending = [];
      return out;
    }
    const uri = this.#next;
    if (uri === undefined) return undefined;
    const r = await this.#client.get(uri);
    this.#next = r.nextUri;
    this.#absorb(r);
    return r.data ?? [];
  }

  /** Reads to the end; returns all rows (use only for small answers). */
  async all(): Promise<unknown[][]> {
    const out: unknown[][] = [];
    for (;;) {
      const b = await this.next();
      if (b === undefined) return out;
      for (const row of b) out.push([...row]);
    }
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Stops the statement at the coordinator; the next `next()` reports it as finished. */
  async cancel(): Promise<void> {
    this.#cancelled = true;
    const uri = this.#next;
    this.#next = undefined;
    this.#pending = [];
    if (uri !== undefined) await this.#client.delete(uri);
  }
}

/** Trino's JSON, with 64-bit integers beyond 2^53 kept as their digits (JSON.parse's source text access). */
export function parseTrinoJson(text: string): unknown {
  return JSON.parse(text, (_k, v: unknown, ctx?: { source?: string }) => (typeof v === 'number' && !Number.isSafeInteger(v) && ctx?.source !== undefined && /^-?\d+$/.test(ctx.source) ? ctx.source : v));
}

/** A fetch failure of a kept-alive connection the server closed (not a timeout, not a refusal). */
function staleConnection(e: unknown): boolean {
  const code = causeCode(e);
  return code === 'UND_ERR_SOCKET' || code === 'ECONNRESET' || code === 'EPIPE';
}

/** The system error code under a fetch failure (`ECONNREFUSED`, `UND_ERR_SOCKET`…), if any. */
function causeCode(e: unknown): string | undefined {
  return (e as { cause?: { code?: string } }).cause?.code;
}

export class TrinoClient {
  readonly url: string;
  readonly #headers: Readonly<Record<string, string>>;
  readonly #onCatalogNotFound: ((catalog: string) => Promise<boolean>) | undefined;

  constructor(options: TrinoClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#headers = options.headers ?? {};
    this.#onCatalogNotFound = options.onCatalogNotFound;
  }

  /** Asks `onCatalogNotFound` to create again the catalog `e` says is missing: true when the statement may run again. */
  async restoreCatalogOf(e: unknown): Promise<boolean> {
    const catalog = missingCatalog(e);
    if (catalog === undefined || this.#onCatalogNotFound === undefined) return false;
    return this.#onCatalogNotFound(catalog);
  }

  /** Submits a statement; errors detected at submission (syntax, access) throw here. */
  async start(sql: string, o: StatementOptions): Promise<TrinoStatement> {
    const headers: Record<string, string> = { ...this.#headers, 'X-Trino-User': o.user, 'X-Trino-Source': o.source ?? 'enclave', 'Content-Type': 'text/plain; charset=utf-8' };
    if (o.catalog !== undefined) headers['X-Trino-Catalog'] = o.catalog;
    if (o.schema !== undefined) headers['X-Trino-Schema'] = o.schema;
    const session = Object.entries(o.session ?? {});
    if (session.length > 0) headers['X-Trino-Session'] = session.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join(',');
    const r = await this.#fetch(`${this.url}/v1/statement`, { method: 'POST', headers, body: sql });
    return new TrinoStatement(this, r);
  }

  /** Runs a statement to the end and returns its rows (for small administrative answers). */
  async query(sql: string, o: StatementOptions): Promise<{ columns: readonly TrinoColumn[]; rows: unknown[][] }> {
    for (let attempt = 0; ; attempt++) {
      try {
        const s = await this.start(sql, o);
        const rows = await s.all();
        return { columns: s.columns ?? [], rows };
      } catch (e) {
        if (attempt > 0 || !(await this.restoreCatalogOf(e))) throw e;
      }
    }
  }

  /** `/v1/info`: whether the server has finished starting. */
  async started(): Promise<boolean> {
    try {
      const r = await fetch(`${this.url}/v1/info`, { headers: this.#headers, signal: AbortSignal.timeout(3000) });
      if (!r.ok) return false;
      const info = (await r.json()) as { starting?: boolean };
      return info.starting === false;
    } catch {
      return false;
    }
  }

  async get(uri: string): Promise<StatementResponse> {
    return this.#fetch(uri, { method: 'GET', headers: this.#headers });
  }

  async delete(uri: string): Promise<void> {
    try {
      const r = await fetch(uri, { method: 'DELETE', headers: this.#headers, signal: AbortSignal.timeout(10_000) });
      await r.arrayBuffer();
    } catch {
      // A cancel that cannot reach the coordinator leaves the query to its own time limit.
    }
  }

  async #fetch(uri: string, init: RequestInit): Promise<StatementResponse> {
    // The protocol asks clients to retry 502/503/504 after a short wait.
    for (let attempt = 0; ; attempt++) {
      let r: Response;
      try {
        r = await fetch(uri, { ...init, signal: AbortSignal.timeout(60_000) });
      } catch (e) {
        // A pooled connection the coordinator closed (it restarted) fails before any request
        // reached it: tried once more, on a new connection.
        if (attempt === 0 && staleConnection(e)) continue;
        const cause = causeCode(e);
        throw new TrinoUnavailableError(`Trino at ${this.url} is not reachable: ${e instanceof Error ? e.message : String(e)}${cause === undefined ? '' : ` (${cause})`}`);
      }
      if ((r.status === 502 || r.status === 503 || r.status === 504) && attempt < 5) {
        await r.arrayBuffer();
        await new Promise((res) => setTimeout(res, 100 * 2 ** attempt));
        continue;
      }
      const text = await r.text();
      if (!r.ok) throw new TrinoUnavailableError(`Trino answered HTTP ${r.status}: ${text.slice(0, 300)}`);
      return parseTrinoJson(text) as StatementResponse;
    }
  }
}
