/**
 * Materialises extract tables on Trino (the Trino side of `ExtractBuilder`): the compiled CTAS
 * (`extract-compile.ts`) run by the admin user into the workspace's schema, which the workspace
 * engine (`engine.ts`) then opens.
 *
 * The re-keying key is bound as the statement's parameter (`EXECUTE IMMEDIATE ... USING`), so it
 * is in no compiled SQL, golden file or error message; it does travel in the request to the
 * coordinator (TLS in production) and sits in the coordinator's in-memory query history, readable
 * by the admin user only (access rules: `queries` view is the admin's), and no event listener is
 * configured in the reference deployment (docs/deploy/trino.md, threat model).
 */
import { createHash } from 'node:crypto';
import { ENGINE_PATH_PREFIX, type BuildTableInput, type BuiltTable, type ExtractBuilder, type ExtractPlan, type PlanTable } from '../extract-port.ts';
import { AppError } from '../../errors.ts';
import { TrinoClient, TrinoUnavailableError } from './client.ts';
import { dropCatalog, ensureS3Catalog, sseCKeyOf, trinoCatalogs, type TrinoS3Store } from './catalogs.ts';
import { projectCatalog, workspaceSchema } from './engine.ts';
import { compileTrinoTable, datasetSchema, qualified, type TrinoTableRef } from './extract-compile.ts';
import { ADMIN_USER } from './rules.ts';

export interface TrinoBuildTableInput {
  readonly table: PlanTable;
  readonly source: TrinoTableRef;
  readonly personSources: readonly TrinoTableRef[];
  /** The project whose workspace schema receives the table. */
  readonly workspaceId: string;
  /** The project's pseudonymisation key (HMAC-SHA256 key of the re-keying). */
  readonly rekeyKey: Uint8Array;
  /** The project's encryption key: with per-project catalogs, its SSE-C key is derived from it. */
  readonly projectKey?: Uint8Array;
}

export interface TrinoBuiltTable {
  readonly rows: number;
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  /** Where the table was written. */
  readonly target: TrinoTableRef;
  /** Trino's order-independent `checksum` of the table's rows (hex): a fingerprint of its content for the manifest. */
  readonly checksum: string;
}

/** Where a catalogue table of the plan's datasets lives on Trino (its registered dataset version). */
export type TrinoSourceOf = (dataset: string, table: string) => TrinoTableRef;

export interface TrinoExtractBuilder {
  buildTable(input: TrinoBuildTableInput): Promise<TrinoBuiltTable>;
  /**
   * Builds every table of a plan into the project's workspace schema; extract tables of an
   * earlier generation that the plan no longer has (a narrowed permit) are dropped, since the
   * workspace's rules would otherwise let the member read them as saved tables. Saved objects
   * are the member's and kept.
   */
  buildPlan(plan: ExtractPlan, sourceOf: TrinoSourceOf, rekeyKey: Uint8Array): Promise<ReadonlyMap<string, TrinoBuiltTable>>;
  /** The first step of `buildPlan`: drops the extract tables of an earlier generation that `plan` no longer has. */
  prune(plan: ExtractPlan): Promise<void>;
  /** Drops the workspace's schema and everything in it (extract and saved objects). */
  dropWorkspace(workspaceId: string): Promise<void>;
}

/** The comment that marks a table of the workspace schema as part of the extract (not a saved object). */
export const EXTRACT_MARK = 'enclave extract';

export interface TrinoExtractBuilderOptions {
  readonly url: string;
  /** The catalog of every project's schema (without `projectCatalogs`). */
  readonly catalog?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * One catalog per project (`projectCatalog`) on the SSE-C object store, created at the first
   * build with the SSE-C key derived from the project's key, dropped with the project: once the
   * project key is destroyed, nothing written under it can be read (crypto-shredding).
   */
  readonly projectCatalogs?: { readonly store: TrinoS3Store; readonly prefix: string };
  /** Creates again a dataset's or project's catalog lost by a coordinator restart (`catalog-keeper.ts`). */
  readonly onCatalogNotFound?: (catalog: string) => Promise<boolean>;
}

export function openTrinoExtractBuilder(options: TrinoExtractBuilderOptions): TrinoExtractBuilder {
  const client = new TrinoClient({ url: options.url, ...(options.headers === undefined ? {} : { headers: options.headers }), ...(options.onCatalogNotFound === undefined ? {} : { onCatalogNotFound: options.onCatalogNotFound }) });
  const pc = options.projectCatalogs;
  /** Whether the project's catalog is there, created again first if a restart lost it while the project is active. */
  const present = async (catalog: string): Promise<boolean> => (await trinoCatalogs(client)).includes(catalog) || (await options.onCatalogNotFound?.(catalog)) === true;
  const catalogOf = (workspaceId: string): string => (pc === undefined ? options.catalog ?? 'enclave' : projectCatalog(workspaceId));
  const asOf = (catalog: string) => ({ user: ADMIN_USER, catalog });
  const q = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const builder: TrinoExtractBuilder = {
    async prune(plan) {
      const catalog = catalogOf(plan.projectId);
      // A project catalog lost by a restart is created again first: skipping the prune would
      // leave an earlier generation's extract tables readable once the catalog is back.
      if (pc !== undefined && !(await present(catalog))) return;
      const as = asOf(catalog);
      const schema = workspaceSchema(plan.projectId);
      const keep = new Set(plan.tables.map((t) => t.name));
      const earlier = await client.query(`SELECT table_name FROM system.metadata.table_comments WHERE catalog_name = '${catalog}' AND schema_name = '${schema}' AND comment = '${EXTRACT_MARK}'`, as);
      for (const [name] of earlier.rows) if (!keep.has(String(name))) await client.query(`DROP TABLE ${q(catalog)}.${q(schema)}.${q(String(name))}`, as);
    },
    async buildPlan(plan, sourceOf, rekeyKey) {
      await builder.prune(plan);
      const out = new Map<string, TrinoBuiltTable>();
      for (const table of plan.tables) {
        const via = table.population.viaPerson?.sources ?? [];
        out.set(table.name, await builder.buildTable({ table, source: sourceOf(table.dataset, table.table), personSources: via.map((s) => sourceOf(s.dataset, s.table)), workspaceId: plan.projectId, rekeyKey }));
      }
      return out;
    },
    async buildTable(input) {
      const catalog = catalogOf(input.workspaceId);
      const as = asOf(catalog);
      if (pc !== undefined) {
        if (input.projectKey === undefined) throw new Error('per-project catalogs need the project key (TrinoBuildTableInput.projectKey)');
        const prefix = `${pc.prefix.replace(/^\/+|\/+$/g, '')}/${catalog}`;
        await ensureS3Catalog(client, catalog, pc.store, sseCKeyOf(input.projectKey, `project ${input.workspaceId}`), `s3://${pc.store.bucket}/${prefix}`);
      }
      const schema = workspaceSchema(input.workspaceId);
      const target: TrinoTableRef = { catalog, schema, table: input.table.name };
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${q(catalog)}.${q(schema)}`, as);
      await client.query(`DROP TABLE IF EXISTS ${qualified(target)}`, as);
      const sql = compileTrinoTable(input.table, { source: input.source, personSources: input.personSources, target });
      const rekeys = input.table.columns.some((c) => c.rekey);
      const run = rekeys ? `EXECUTE IMMEDIATE '${sql.replace(/'/g, "''")}' USING X'${Buffer.from(input.rekeyKey).toString('hex')}'` : sql;
      let rows: number;
      try {
        const r = await client.query(run, as);
        rows = Number(r.rows[0]?.[0] ?? 0);
      } catch (e) {
        if (e instanceof TrinoUnavailableError) throw unreachableAsAppError(`building extract table ${input.table.name}`, e);
        // Trino's message may quote the statement, which holds the key: never passed on.
        const name = e instanceof Error && 'error' in e ? String((e as { error: { errorName: string } }).error.errorName) : 'unreachable';
        // eslint-disable-next-line preserve-caught-error -- the cause quotes the statement, which holds the key
        throw new Error(`building extract table ${input.table.name} on Trino failed (${name})`);
      }
      await client.query(`COMMENT ON TABLE ${qualified(target)} IS '${EXTRACT_MARK}'`, as);
      const cols = await client.query(`SELECT column_name, data_type FROM ${q(catalog)}.information_schema.columns WHERE table_schema = '${schema}' AND table_name = '${input.table.name}' ORDER BY ordinal_position`, as);
      const columns = cols.rows.map(([n, t]) => ({ name: String(n), type: String(t).toUpperCase() }));
      const sum = await client.query(`SELECT coalesce(to_hex(checksum(ROW(${columns.map((c) => q(c.name)).join(', ')}))), '') FROM ${qualified(target)}`, as);
      return { rows, columns, target, checksum: (typeof sum.rows[0]?.[0] === 'string' ? sum.rows[0][0] : '').toLowerCase() };
    },
    async dropWorkspace(workspaceId) {
      const catalog = catalogOf(workspaceId);
      if (pc !== undefined && !(await trinoCatalogs(client)).includes(catalog)) return;
      await client.query(`DROP SCHEMA IF EXISTS ${q(catalog)}.${q(workspaceSchema(workspaceId))} CASCADE`, asOf(catalog));
      // The project's catalog goes too: its key leaves the coordinator's and workers' memory.
      if (pc !== undefined) await dropCatalog(client, catalog);
    },
  };
  return builder;
}

/**
 * The Trino extract builder behind the engine-neutral `ExtractBuilder` port, as the extract
 * service (`src/workspace/extract/`) drives it: each table is read from the dataset version's
 * Trino tables (`SourceFiles.version`; the files are not read) and written into the project's
 * workspace schema (`BuildTableInput.projectId`; `target` and the keys but the re-keying one are
 * not used: on Trino the store encrypts, docs/encryption-at-rest-trino.md). The manifest records
 * `engine:trino/<catalog>.<schema>.<table>` with the rows and a SHA-256 over the table's name,
 * rows, columns and Trino's content checksum.
 *
 * `sourceCatalog` names the catalog of a dataset's versions (one SSE-C catalog per dataset,
 * `datasetCatalog`, when versions are on the object store); by default the extracts' catalog.
 *
 * @example
 *   const extracts = new ExtractService({ ..., builder: trinoExtractBuilderPort(openTrinoExtractBuilder({ url }), 'enclave') });
 */
export function trinoExtractBuilderPort(builder: TrinoExtractBuilder, catalog = 'enclave', sourceCatalog: (dataset: string) => string = () => catalog): ExtractBuilder {
  const ref = (dataset: string, table: string, version: number | undefined): TrinoTableRef => {
    if (version === undefined) throw new Error(`the Trino extract builder needs the dataset version of ${dataset}.${table} (SourceFiles.version)`);
    return { catalog: sourceCatalog(dataset), schema: datasetSchema(dataset, version), table: table.toLowerCase() };
  };
  return {
    async buildTable(input: BuildTableInput): Promise<BuiltTable> {
      if (input.projectId === undefined) throw new Error('the Trino extract builder needs the project (BuildTableInput.projectId)');
      const built = await builder.buildTable({
        table: input.table, workspaceId: input.projectId, rekeyKey: input.rekeyKey, projectKey: input.targetKey,
        source: ref(input.source.dataset, input.source.table, input.source.version),
        personSources: input.personSources.map((s) => ref(s.dataset, s.table, s.version)),
      }).catch((e: unknown) => {
        throw unreachableAsAppError(`building extract table ${input.table.name}`, e);
      });
      const path = `${ENGINE_PATH_PREFIX}trino/${built.target.catalog}.${built.target.schema}.${built.target.table}`;
      const sha256 = createHash('sha256').update(JSON.stringify({ path, rows: built.rows, columns: built.columns, checksum: built.checksum })).digest('hex');
      return { rows: built.rows, bytes: 0, sha256, columns: built.columns, stored: { path } };
    },
    prepare: (plan) => builder.prune(plan).catch((e: unknown) => {
      throw unreachableAsAppError('preparing the extract', e);
    }),
    destroyProject: (projectId) => builder.dropWorkspace(projectId),
    close: async () => undefined,
  };
}

/**
 * Trino down or unreachable during `what` (a build, a dataset copy), said so that an extract's
 * failure and a failed move between engines (the operators' page) give the reason; the client's
 * own message (address, answer text) stays in the cause, for the server log. Other errors pass
 * unchanged.
 */
export function unreachableAsAppError(what: string, e: unknown): unknown {
  return e instanceof TrinoUnavailableError
    ? new AppError('unavailable', `the Trino engine is not reachable (${what})`, { hint: 'check that the Trino coordinator runs and ENCLAVE_TRINO_URL points at it', cause: e })
    : e;
}
