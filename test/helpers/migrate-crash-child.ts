/**
 * Child process of the migration SIGKILL test: opens the platform on the given metadata
 * database, runs a plan slowly and prints `copied <key>` after each journaled file and
 * `part <key> <n> uploaded|resumed` after each journaled part of a multipart upload, until killed.
 * Usage: node migrate-crash-child.ts '<json args>'
 */
import { join } from 'node:path';
import { AuditLog, parseSignerKey } from '../../src/audit/index.ts';
import { DatasetLocations, DatasetVersions } from '../../src/datasets/index.ts';
import { openPglite } from '../../src/db/pglite.ts';
import { openPostgres } from '../../src/db/postgres.ts';
import { openDuckDb } from '../../src/engine/duckdb.ts';
import { KeyService } from '../../src/keys/index.ts';
import { MigrationService } from '../../src/migrate/index.ts';
import { StoreRegistry } from '../../src/store/index.ts';
import { LocalStore } from '../../src/store/local.ts';
import { S3Store } from '../../src/store/s3.ts';

interface Args { url?: string; pgDir?: string; dir: string; signer: string; endpoint: string; bucket: string; planId: string; rate: number; partSize?: number; concurrency?: number }
const a = JSON.parse(process.argv[2] ?? '{}') as Args;
const db = a.url !== undefined ? openPostgres(a.url) : await openPglite(a.pgDir);
const signer = parseSignerKey(a.signer);
const audit = new AuditLog(db, signer);
const keys = await KeyService.open(join(a.dir, 'keyring', 'keyring.json'), db, audit);
const engine = await openDuckDb({ threads: 1 });
const store = new LocalStore(join(a.dir, 'store'));
const stores = new StoreRegistry().add('local', store).add('s3', new S3Store({ endpoint: a.endpoint, bucket: a.bucket, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', ...(a.partSize === undefined ? {} : { partSize: a.partSize, partConcurrency: 1 }) }));
const locations = new DatasetLocations({ db, stores, cacheDir: join(a.dir, 'cache') });
const datasets = new DatasetVersions({ db, audit, keys, store, locations });
const migration = new MigrationService({ db, audit, keys, datasets, engine, stores, locations, signer, leaseSeconds: 1 });
process.stdout.write('started\n');
await migration.run(a.planId, {
  actor: { kind: 'service', id: 'crash-child' }, concurrency: a.concurrency ?? 2, maxBytesPerSecond: a.rate,
  afterFile: (key) => { process.stdout.write(`copied ${key}\n`); },
  onPart: (key, n, resumed) => { process.stdout.write(`part ${key} ${n} ${resumed ? 'resumed' : 'uploaded'}\n`); },
});
process.stdout.write('finished\n');
