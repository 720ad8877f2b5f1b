/**
 * Trino's file-based access control rules, generated from the workspaces open right now (each
 * opened for an active permit): the only input is the list of open workspaces, so closing a
 * session (permit suspended, expired, member removed) removes its user's every right at the next
 * reload (`security.refresh-period`, one second in the reference config).
 *
 * Shape (Trino's "file-based system access control", rules matched first to last):
 * - the admin user (the engine's own connection for materialising extracts and managing schemas)
 *   may do anything;
 * - a workspace user may reach the `enclave` catalog only, its own schema only, the extract tables
 *   read-only (SELECT) and any other table of its schema (the scratch objects the engine saves for
 *   it) with ownership; no other catalog (`system`: runtime, metadata, JDBC), no function outside
 *   `system.builtin` (so no connector table function such as Hive's `unload`), no session property
 *   but the statement time limit the engine sets itself, and only its own queries.
 * Anything not matched is denied (each section ends with a deny-all rule or relies on Trino's
 * "no match, no access").
 */

/** Trino user names: what the engine sends as `X-Trino-User`. */
export const ADMIN_USER = 'enclave_admin';

export interface OpenWorkspaceGrant {
  /** Trino user of the workspace's sessions. */
  readonly user: string;
  /** Catalog holding the workspace schema. */
  readonly catalog: string;
  /** The workspace's schema (extract tables and scratch objects). */
  readonly schema: string;
  /** Extract table names (read-only). */
  readonly extractTables: readonly string[];
}

/** Trino's user, schema and table names here are `[a-z0-9_]`: no regex metacharacter can reach a rule. */
const SAFE = /^[a-z_][a-z0-9_]{0,127}$/;

function exact(name: string): string {
  if (!SAFE.test(name)) throw new Error(`not a safe Trino name for an access rule: ${JSON.stringify(name)}`);
  return name;
}

/**
 * Session properties a workspace session may carry: only the limits the engine sets for it. A
 * member cannot send any (the statement policy refuses `SET SESSION`; only the engine sets headers).
 */
export const WORKSPACE_SESSION_PROPERTIES = ['query_max_execution_time', 'query_max_run_time', 'query_max_memory', 'query_max_total_memory'] as const;

/** The Hive connector's hidden columns: they reveal storage paths, sizes and times, never data a member needs. */
export const HIDDEN_COLUMNS = ['$path', '$file_size', '$file_modified_time', '$partition', '$bucket'] as const;
const HIDDEN_COLUMNS_DENIED = HIDDEN_COLUMNS.map((name) => ({ name, allow: false }));

export function accessRules(grants: readonly OpenWorkspaceGrant[]): Record<string, unknown> {
  // `owner`: all, and CREATE/DROP CATALOG (per-dataset and per-project catalogs, catalogs.ts).
  const catalogs: unknown[] = [{ user: ADMIN_USER, allow: 'owner' }];
  const schemas: unknown[] = [{ user: ADMIN_USER, owner: true }];
  const tables: unknown[] = [{ user: ADMIN_USER, privileges: ['SELECT', 'INSERT', 'DELETE', 'UPDATE', 'OWNERSHIP', 'GRANT_SELECT'] }];
  for (const g of grants) {
    const user = exact(g.user);
    const catalog = exact(g.catalog);
    const schema = exact(g.schema);
    catalogs.push({ user, catalog, allow: 'all' });
    schemas.push({ user, catalog, schema, owner: false });
    if (g.extractTables.length > 0) tables.push({ user, catalog, schema, table: `(${g.extractTables.map(exact).join('|')})`, privileges: ['SELECT'], columns: HIDDEN_COLUMNS_DENIED });
    tables.push({ user, catalog, schema, privileges: ['SELECT', 'INSERT', 'DELETE', 'OWNERSHIP'], columns: HIDDEN_COLUMNS_DENIED });
  }
  catalogs.push({ allow: 'none' });
  return {
    catalogs,
    schemas,
    tables,
    functions: [
      { user: ADMIN_USER, privileges: ['EXECUTE', 'GRANT_EXECUTE', 'OWNERSHIP'] },
      { catalog: 'system', schema: 'builtin', privileges: ['EXECUTE'] },
    ],
    procedures: [{ user: ADMIN_USER, privileges: ['EXECUTE'] }],
    queries: [{ user: ADMIN_USER, allow: ['execute', 'kill', 'view'] }, { allow: ['execute'] }],
    system_session_properties: [{ user: ADMIN_USER, allow: true }, { property: `(${WORKSPACE_SESSION_PROPERTIES.join('|')})`, allow: true }, { allow: false }],
    catalog_session_properties: [{ user: ADMIN_USER, allow: true }, { allow: false }],
  };
}
