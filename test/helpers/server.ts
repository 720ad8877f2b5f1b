/**
 * A real Enclave server (createPlatform + startServer, as `npm start` does) on a free loopback
 * port, over a temporary data directory and keyring, on the suite's metadata database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import type { ServerType } from '@hono/node-server';
import type { SeededDemoPerson } from '../../src/identity/index.ts';
import { createPlatform, startServer, type Platform } from '../../src/main.ts';
import { openTestDb, testDbKind } from './db.ts';

export interface TestServer {
  readonly url: string;
  /** The node server (its sockets tell how many bytes were read). */
  readonly server: ServerType;
  readonly platform: Platform;
  readonly demo: ReadonlyMap<string, SeededDemoPerson>;
  close(): Promise<void>;
}

export async function startTestServer(env: Readonly<Record<string, string>> = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-srv-'));
  const t = testDbKind === 'postgres' ? await openTestDb({ migrated: false }) : undefined;
  const config = loadConfig({
    ENCLAVE_DATA_DIR: join(dir, 'data'), ENCLAVE_KEYRING: join(dir, 'keys', 'keyring.json'), ENCLAVE_PORT: '0',
    ENCLAVE_AUDIT_CHECKPOINT_SECONDS: '0', ENCLAVE_ENGINE_THREADS: '1',
    ...(t?.url === undefined ? {} : { DATABASE_URL: t.url }),
    ...env,
  });
  const platform = await createPlatform(config, { kind: 'service', id: 'test' });
  const { server, url, demoPeopleCreated } = await startServer(platform);
  return {
    url, server, platform, demo: new Map(demoPeopleCreated.map((d) => [d.username, d])),
    async close() {
      if ('closeAllConnections' in server) server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await platform.close();
      await t?.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
