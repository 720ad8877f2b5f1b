import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { AuditLog, generateLogKey, signerKeyText, type LogSigner } from '../audit/index.ts';
import { CatalogService } from '../catalog/index.ts';
import { DatasetLocations, DatasetVersions } from '../datasets/index.ts';
import { openDuckDb } from '../engine/duckdb.ts';
import { IngestService, ingestCatalogFrom } from '../ingest/index.ts';
import { KeyService } from '../keys/index.ts';
import { openPartitionPipes, writeEncryptedParquet } from '../parquet-crypto/index.ts';
import { StoreRegistry, type Store } from '../store/index.ts';
import { LocalStore } from '../store/local.ts';
import { openTestDb, testDbKind } from '../../test/helpers/db.ts';
import { ingestBulk, ingestSample, operator } from '../../test/helpers/migrate.ts';
import { startS3Server } from '../../test/helpers/s3.ts';
import { MigrationService } from './index.ts';

const CHILD = new URL('../../test/helpers/migrate-crash-child.ts', import.meta.url).pathname;

/** The platform a crash test reopens after each kill: same metadata directory, keyring, store and S3 target. */
async function openCrashPlatform<S extends Store>(dir: string, target: S, signer: LogSigner) {
  const t = await openTestDb({ dir: join(dir, 'pg') });
  const audit = new AuditLog(t.db, signer);
  const keys = await KeyService.open(join(dir, 'keyring', 'keyring.json'), t.db, audit);
  const catalog = new CatalogService({ db: t.db, audit });
  const engine = await openDuckDb({ threads: 1 });
  const store = new LocalStore(join(dir, 'store'));
  const stores = new StoreRegistry().add('local', store).add('s3', target);
  const locations = new DatasetLocations({ db: t.db, stores, cacheDir: join(dir, 'cache') });
  const datasetsL = new DatasetVersions({ db: t.db, audit, keys, store, locations });
  const ingestL = new IngestService({ db: t.db, audit, keys, catalog: ingestCatalogFrom(catalog), engine, store, writeParquet: writeEncryptedParquet, openPartitions: openPartitionPipes, datasets: datasetsL });
  const migration = new MigrationService({ db: t.db, audit, keys, datasets: datasetsL, engine, stores, locations, signer, leaseSeconds: 1 });
  return { t, dir, catalog, ingestL, migration, engine, keys, store, audit, target };
}

// S3 server: s3rver (npm dev dependency) as a real process on loopback.
test(`a run SIGKILLed mid-copy resumes: nothing copied twice, nothing missed, verify green (${testDbKind})`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-migcrash-'));
  const s3 = await startS3Server(['crash-target']);
  const signer = generateLogKey('enclave.test/audit');
  const open = () => openCrashPlatform(dir, s3.store('crash-target'), signer);

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
    // The killed run could not record its end: the run that found its lease expired did.
    const killed: Array<Record<string, unknown>> = [];
    for await (const l of p.audit.lines()) if (l.event?.action === 'migrate.run' && l.event.outcome === 'failure') killed.push(l.event.details);
    assert.equal(killed.length, 1);
    assert.equal(killed[0]?.['error'], 'interrupted');
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

const PART = 5 * 1024 * 1024;

test(`a multipart upload SIGKILLed mid-file resumes from its journal: parts already uploaded are not sent again and the object's hash matches (s3rver has no ListParts: the journal's ETags are checked by CompleteMultipartUpload) (${testDbKind})`, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-migcrash-mp-'));
  const s3 = await startS3Server(['mp-target']);
  const signer = generateLogKey('enclave.test/audit');
  const open = () => openCrashPlatform(dir, s3.store('mp-target', { partSize: PART }), signer);

  try {
    let p = await open();
    // Two partitions of about 18 MB each: at least three parts of 5 MiB per file.
    await ingestBulk(p, { bytes: 36e6, years: 2, concurrency: 1 });
    const plan = await p.migration.plan({ from: 'local', to: 's3', datasets: ['bulk'], actor: operator });
    const big = plan.files.filter((f) => f.bytes > PART);
    assert.ok(big.length >= 2 && big.every((f) => Math.ceil(f.bytes / PART) >= 3), JSON.stringify(plan.files.map((f) => f.bytes)));
    const url = p.t.url;
    if (url === undefined) await p.t.db.close();
    // One file at a time, one part at a time, slowly: killed after its second part of the first large file.
    const child = spawn(process.execPath, [CHILD, JSON.stringify({ url, pgDir: url === undefined ? join(dir, 'pg') : undefined, dir, signer: signerKeyText(signer), endpoint: s3.endpoint, bucket: 'mp-target', planId: plan.id, rate: PART, partSize: PART, concurrency: 1 })], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const uploaded: string[] = [];
    const copiedBeforeKill = new Set<string>();
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.startsWith('copied ')) copiedBeforeKill.add(line.slice(7));
      if (line.startsWith('part ') && line.endsWith(' uploaded')) uploaded.push(line);
      if (uploaded.length === 2) {
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
    const inProgress = await p.t.db.query<{ key: string; n: string }>('SELECT u.key, count(x.part_number)::text AS n FROM migration_uploads u JOIN migration_upload_parts x USING (plan_id, key) WHERE u.plan_id = $1 GROUP BY u.key', [plan.id]);
    assert.equal(inProgress.length, 1, 'one upload was cut in the middle');
    const cut = inProgress[0];
    assert.ok(cut !== undefined && Number(cut.n) === 2, JSON.stringify(inProgress));

    // Requests the resumed run sends, counted in the S3 client itself.
    let uploadPartRequests = 0;
    p.target.client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === 'UploadPartCommand') uploadPartRequests++;
      return next(args);
    }, { step: 'initialize' });
    await new Promise((r) => setTimeout(r, 1200)); // the killed run's lease expires
    const resumed: string[] = [];
    const r = await p.migration.run(plan.id, { actor: operator, onPart: (key, n, wasResumed) => { if (wasResumed) resumed.push(`${key} ${n}`); } });
    assert.deepEqual(resumed, [`${cut.key} 1`, `${cut.key} 2`], 'the two parts uploaded before the kill are taken from the upload, not sent again');
    assert.equal(r.partsResumed, 2);
    // Every part of the large files left to copy was sent once, except the two resumed.
    const partsNeeded = big.filter((f) => !copiedBeforeKill.has(f.key)).reduce((s, f) => s + Math.ceil(f.bytes / PART), 0);
    assert.equal(uploadPartRequests, partsNeeded - 2, `UploadPart requests ${uploadPartRequests}, parts of the large files left ${partsNeeded}`);
    assert.ok((await p.migration.journal(plan.id)).every((j) => j.status === 'copied' && j.copies === 1));
    assert.deepEqual(await p.t.db.query('SELECT key FROM migration_uploads WHERE plan_id = $1', [plan.id]), [], 'completed uploads leave no journal');
    const v = await p.migration.verify(plan.id, { actor: operator, engine: false });
    assert.ok(v.ok, JSON.stringify(v.differences));
    assert.equal(v.merkleRoots.every((m) => m.ok), true);
    await p.engine.close();
    await p.t.drop();
  } finally {
    await s3.close();
    await rm(dir, { recursive: true, force: true });
  }
});
