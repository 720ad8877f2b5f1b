import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, generateLogKey, parseSignerKey, signerKeyText, type LogSigner } from '../../src/audit/index.ts';
import { CatalogService } from '../../src/catalog/index.ts';
import { DatasetVersions } from '../../src/datasets/index.ts';
import type { Db } from '../../src/db/index.ts';
import type { Engine } from '../../src/engine/index.ts';
import { openDuckDb } from '../../src/engine/duckdb.ts';
import { IngestService, ingestCatalogFrom } from '../../src/ingest/index.ts';
import { KeyService } from '../../src/keys/index.ts';
import { openPartitionPipes, writeEncryptedParquet } from '../../src/parquet-crypto/index.ts';
import { LocalStore } from '../../src/store/local.ts';
import { openTestDb, type TestDb } from './db.ts';

export interface Services {
  readonly dir: string;
  readonly audit: AuditLog;
  readonly keys: KeyService;
  readonly catalog: CatalogService;
  readonly datasets: DatasetVersions;
  readonly ingest: IngestService;
  readonly engine: Engine;
  readonly store: LocalStore;
}

export interface TestPlatform extends Services {
  readonly t: TestDb;
  close(): Promise<void>;
}

/**
 * The real services over a metadata database and a directory holding the keyring, the store and
 * the audit signing key (kept in the directory so a child process can reopen the same platform).
 */
export async function buildServices(db: Db, dir: string): Promise<Services> {
  const signerFile = join(dir, 'audit-signer.key');
  let signer: LogSigner;
  try {
    signer = parseSignerKey(await readFile(signerFile, 'utf8'));
  } catch {
    signer = generateLogKey('enclave.test/audit');
    await writeFile(signerFile, signerKeyText(signer), { mode: 0o600 });
  }
  const audit = new AuditLog(db, signer);
  const keys = await KeyService.open(join(dir, 'keyring', 'keyring.json'), db, audit);
  const catalog = new CatalogService({ db, audit });
  const engine = await openDuckDb({ threads: 2 });
  const store = new LocalStore(join(dir, 'store'));
  const datasets = new DatasetVersions({ db, audit, keys, store });
  const ingest = new IngestService({ db, audit, keys, catalog: ingestCatalogFrom(catalog), engine, store, writeParquet: writeEncryptedParquet, openPartitions: openPartitionPipes, datasets });
  return { dir, audit, keys, catalog, datasets, ingest, engine, store };
}

/** The real services on a fresh metadata database, a temp store and a temp keyring. */
export async function openTestPlatform(options: { readonly pgliteDir?: boolean } = {}): Promise<TestPlatform> {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-test-'));
  const t = await openTestDb(options.pgliteDir === true ? { dir: join(dir, 'metadata') } : {});
  const s = await buildServices(t.db, dir);
  return {
    ...s,
    t,
    async close() {
      await s.engine.close();
      await t.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
