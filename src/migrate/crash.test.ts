import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { AuditLog, generateLogKey, signerKeyText } from '../audit/index.ts';
import { CatalogService } from '../catalog/index.ts';
import { openDuckDb } from '../engine/index.ts';
import { IngestService, ingestCatalogFrom } from '../ingest/index.ts';
import { KeyService } from '../keys/index.ts';
import { writeEncryptedParquet } from '../parquet-crypto/index.ts';
import { LocalStore, StoreRegistry } from '../store/index.ts';
import { openTestDb, testDbKind } from '../../test/helpers/db.ts';
import { ingestSample, operator } from '../../test/helpers/migrate.ts';
import { startS3Server } from '../../test/helpers/s3.ts';
import { DatasetLocations, MigrationService } from './index.ts';

const CHILD = new URL('../../test/helpers/migrate-crash-child.ts', import.meta.url).pathname;

// S3 server: s3rver (npm dev dependency) as a real process on loopback.
test(`a run SIGKILLed mid-copy resumes: nothing copied twice, nothing missed, verify green (${testDbKind})`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-migcrash-'));
  const s3 = await startS3Server(['crash-target']);
  const signer = generateLogKey('enclave.test/audit');
  const open = async () => {
    const t = await openTestDb({ dir: join(dir, 'pg') });
    const audit = new AuditLog(t.db, signer);
    const keys = await KeyService.open(join(dir, 'keyring', 'keyring.json'), t.db, audit);
    const catalog = new CatalogService({ db: t.db, audit });
    const engine = await openDuckDb({ threads: 1 });
    const store = new LocalStore(join(dir, 'store'));
    const stores = new StoreRegistry().add('local', store).add('s3', s3.store('crash-target'));
    const locations = new DatasetLocations({ db: t.db, stores, cacheDir: join(dir, 'cache') });
    const ingestL = new IngestService({ db: t.db, audit, keys, catalog: ingestCatalogFrom(catalog), engine, store, writeParquet: writeEncryptedParquet, locations });
    const migration = new MigrationService({ db: t.db, audit, keys, ingest: ingestL, engine, stores, locations, signer, leaseSeconds: 1 });
    return { t, dir, catalog, ingestL, migration, engine };
  };
  try {
    let p = await open();
    await ingestSample(p, { rows: 3000 });
    const plan = await p.migration.plan({ from: 'local', to: 's3', actor: operator });
    const url = p.t.url;
    if (url === undefined) await p.t.db.close();
    const child = spawn(process.execPath, [CHILD, JSON.stringify({ url, pgDir: url === undefined ? join(dir, 'pg') : undefined, dir, signer: signerKeyText(signer), endpoint: s3.endpoint, bucket: 'crash-target', planId: plan.id, rate: Math.ceil(plan.totalBytes / 4) })], { stdio: ['ignore', 'pipe', 'inherit'] });
    const copiedBeforeKill: string[] = [];
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.startsWith('copied ')) copiedBeforeKill.push(line.slice(7));
      if (copiedBeforeKill.length === 3) {
        child.kill('SIGKILL');
        break;
      }
      assert.notEqual(line, 'finished', 'the run ended before it could be killed');
    }
    await exited;
    if (url === undefined) {
      await p.engine.close();
      p = await open();
    }
    const journal = await p.migration.journal(plan.id);
    assert.ok(journal.filter((j) => j.status === 'copied').length >= 3);
    assert.ok(journal.some((j) => j.status !== 'copied'), 'killed mid-run');
    await new Promise((r) => setTimeout(r, 1200)); // the killed run's lease expires
    const r = await p.migration.run(plan.id, { actor: operator });
    assert.equal(r.skipped + r.copied + r.adopted, plan.files.length);
    const after = await p.migration.journal(plan.id);
    assert.ok(after.every((j) => j.status === 'copied'));
    assert.ok(after.every((j) => j.copies <= 1), `copied twice: ${after.filter((j) => j.copies > 1).map((j) => j.key).join(', ')}`);
    assert.equal(after.filter((j) => j.copies === 1).length + r.adopted, plan.files.length);
    const v = await p.migration.verify(plan.id, { actor: operator });
    assert.ok(v.ok, JSON.stringify(v.differences));
    await p.engine.close();
    await p.t.drop();
  } finally {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  }
});
