/**
 * The PostgreSQL-protocol endpoint into project workspaces (issue 16): one TCP listener, TLS
 * with the platform's certificate (plain TCP only on a loopback address, for tests and local
 * use), each connection a workspace session of one member of one project (connection.ts).
 *
 * End of access: the permit is checked at connect and at every statement; besides, every
 * `recheckMs` each open connection re-checks it, and a change of a project's access
 * (suspension, revocation, expiry, closure: governance's project changes) re-checks that
 * project's connections at once, closing those whose permit no longer holds.
 *
 * @example
 *   const pg = await startPgwire({ host: '127.0.0.1', port: 5433, workspace, identity, audit, onProjectChange });
 *   // psql "host=127.0.0.1 port=5433 dbname=<project id> user=<login>"  (password: the project token)
 *   await pg.close();
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { isIP } from 'node:net';
import type { WorkspaceService } from '../workspace/index.ts';
import { Connection, type PgwireAudit, type PgwireIdentity } from './connection.ts';

export interface PgwireOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly workspace: WorkspaceService;
  readonly identity: PgwireIdentity;
  readonly audit: PgwireAudit;
  /** Certificate and key (PEM) of the platform; required unless `host` is a loopback address. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Governance's project-change notifications (suspension, revocation, expiry, closure). */
  readonly onProjectChange?: (listener: (change: { readonly projectId: string; readonly kind: string }) => void) => void;
  /** How often every open connection re-checks its permit. */
  readonly recheckMs?: number;
  /** Rows read from the workspace per page. */
  readonly pageRows?: number;
  /** Version reported to clients (`server_version`). */
  readonly serverVersion?: string;
  /** Connections the listener accepts at once. */
  readonly maxConnections?: number;
}

export interface PgwireServer {
  readonly port: number;
  readonly host: string;
  /** Open, authenticated connections (operators, tests). */
  connections(projectId?: string): number;
  close(): Promise<void>;
}

export const DEFAULT_RECHECK_MS = 5000;
export const SERVER_VERSION = '16.0';

/** Loopback addresses: the only ones that may serve plain TCP. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

export async function startPgwire(o: PgwireOptions): Promise<PgwireServer> {
  if (o.tls === undefined && !isLoopback(o.host)) {
    throw new Error(`the PostgreSQL endpoint on ${o.host} needs TLS: set its certificate and key, or bind it to a loopback address (127.0.0.1) for local use`);
  }
  const open = new Set<Connection>();
  const sockets = new Set<Socket>();
  const byKey = new Map<string, Connection>();
  const recheck = (c: Connection): void => void c.recheck();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // Connections that never finish authentication are dropped.
    const timer = setTimeout(() => { if (!c.authenticated) socket.destroy(); }, 60_000);
    timer.unref();
    const c: Connection = new Connection(socket, {
      workspace: o.workspace, identity: o.identity, audit: o.audit,
      serverVersion: o.serverVersion ?? SERVER_VERSION, pageRows: o.pageRows ?? 1000,
      requireTls: o.tls !== undefined, tls: o.tls === undefined ? undefined : { cert: o.tls.cert, key: o.tls.key }, catalogueTtlMs: 5000,
      register: (x) => {
        open.add(x);
        byKey.set(`${x.pid}:${x.secret}`, x);
      },
      unregister: (x) => {
        open.delete(x);
        byKey.delete(`${x.pid}:${x.secret}`);
      },
      cancel: (pid, secret) => void byKey.get(`${pid}:${secret}`)?.cancelRunning(),
    });
  });
  server.maxConnections = o.maxConnections ?? 200;
  o.onProjectChange?.((change) => {
    for (const c of open) if (c.projectId === change.projectId) recheck(c);
  });
  const interval = setInterval(() => { for (const c of open) recheck(c); }, o.recheckMs ?? DEFAULT_RECHECK_MS);
  interval.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    port: addr.port,
    host: o.host,
    connections: (projectId) => [...open].filter((c) => projectId === undefined || c.projectId === projectId).length,
    async close() {
      clearInterval(interval);
      for (const c of open) c.close({ code: '57P01', message: 'the server is shutting down', hint: 'reconnect once it is back' });
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      setTimeout(() => { for (const s of sockets) s.destroy(); }, 1000).unref();
      await closed;
    },
  };
}
