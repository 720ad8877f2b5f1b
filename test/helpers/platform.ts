import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, generateLogKey } from '../../src/audit/index.ts';
import { CatalogService } from '../../src/catalog/index.ts';
import { openDuckDb, type Engine } from '../../src/engine/index.ts';
import { IngestService, ingestCatalogFrom } from '../../src/ingest/index.ts';
import { KeyService } from '../../src/keys/index.ts';
import { writeEncryptedParquet } from '../../src/parquet-crypto/index.ts';
import { LocalStore } from '../../src/store/index.ts';
import { openTestDb, type TestDb } from './db.ts';

export interface TestPlatform {
  readonly t: TestDb;
  readonly dir: string;
  readonly audit: AuditLog;
  readonly keys: KeyService;
  readonly catalog: CatalogService;
  readonly ingest: IngestService;
  readonly engine: Engine;
  readonly store: LocalStore;
  close(): Promise<void>;
}

/** The real services on a fresh metadata database, a temp store and a temp keyring. */
export async function openTestPlatform(): Promise<TestPlatform> {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-test-'));
  const t = await openTestDb();
  const audit = new AuditLog(t.db, generateLogKey('enclave.test/audit'));
  const keys = await KeyService.open(join(dir, 'keyring', 'keyring.json'), t.db, audit);
  const catalog = new CatalogService({ db: t.db, audit });
  const engine = await openDuckDb({ threads: 2 });
  const store = new LocalStore(join(dir, 'store'));
  const ingest = new IngestService({ db: t.db, audit, keys, catalog: ingestCatalogFrom(catalog), engine, store, writeParquet: writeEncryptedParquet });
  return {
    t, dir, audit, keys, catalog, ingest, engine, store,
    async close() {
      await engine.close();
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
