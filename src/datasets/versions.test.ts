import assert from 'node:assert/strict';
import { cp } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { testDbKind } from '../../test/helpers/db.ts';
import { ingestSample, openMigratePlatform, operator, type MigratePlatform } from '../../test/helpers/migrate.ts';
import { stagingKeyOf, type DatasetVersion } from './index.ts';

let p: MigratePlatform;
let v1: DatasetVersion;
before(async () => {
  p = await openMigratePlatform();
  await ingestSample(p, { rows: 200, years: 3 });
  v1 = await p.datasetsL.version('demo', 1);
});
after(async () => p.close());

/** Stages a copy of version 1's files as a new ingestion run would leave them (its run row included), ready to publish. */
async function stageCopyOfV1(runId: string): Promise<string> {
  const staging = stagingKeyOf('demo', runId);
  await p.t.db.query("INSERT INTO ingest_runs (id, dataset, delivery_id, status, staging_key, host, pid) VALUES ($1, 'demo', $2, 'running', $3, 'test', 1)", [runId, runId, staging]);
  await cp(p.store.localPath(v1.prefix), p.store.localPath(staging), { recursive: true });
  return staging;
}

async function countRows(v: DatasetVersion): Promise<number> {
  const s = await p.engine.session();
  try {
    await p.datasetsL.attachVersion(s, v);
    const r = await s.all<{ n: bigint }>('SELECT count(*) AS n FROM ds.ER_PRS_F');
    return Number(r[0]?.n);
  } finally {
    s.close();
  }
}

test(`a publisher's files become the next version in one commit, with its audit event and its own bookkeeping (${testDbKind})`, async () => {
  const stagingKey = await stageCopyOfV1('run_publish_ok');
  let sawVersion = 0;
  const v2 = await p.datasetsL.publish({
    dataset: 'demo', runId: 'run_publish_ok', deliveryId: 'd'.repeat(64), stagingKey, files: v1.manifest.files, rowsAccepted: v1.rowsAccepted, rowsQuarantined: 0,
    event: (merkleRoot) => ({ actor: operator, action: 'test.publish', target: 'dataset:demo', details: { merkleRoot } }),
    inCommit: async (tx, v) => {
      const seen = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM dataset_versions WHERE dataset = $1 AND version = $2', ['demo', v.version]);
      sawVersion = seen[0]?.n ?? 0;
    },
  });
  assert.equal(v2.version, 2);
  assert.equal(sawVersion, 1, 'the bookkeeping runs in the transaction that inserted the version');
  assert.equal(v2.merkleRoot, v1.merkleRoot, 'same files, same Merkle root');
  assert.equal((await p.datasetsL.byDelivery('demo', 'd'.repeat(64)))?.version, 2);
  assert.equal(await p.datasetsL.runOf('demo', 2), 'run_publish_ok');
  assert.equal(await p.store.exists(`${stagingKey}/manifest.json`), false, 'the staging folder became the version folder');
  assert.equal(await countRows(v2), await countRows(v1));
  const events = await p.t.db.query<{ details: { version?: number; merkleRoot?: string } }>("SELECT details FROM audit_events WHERE action = 'test.publish'");
  assert.deepEqual(events.map((e) => [e.details.version, e.details.merkleRoot]), [[2, v1.merkleRoot]]);
});

test(`a publish whose bookkeeping fails publishes nothing; only its failure is audited (${testDbKind})`, async () => {
  const before = (await p.datasetsL.versions('demo')).map((v) => v.version);
  const stagingKey = await stageCopyOfV1('run_publish_fail');
  await assert.rejects(
    p.datasetsL.publish({
      dataset: 'demo', runId: 'run_publish_fail', deliveryId: 'e'.repeat(64), stagingKey, files: v1.manifest.files, rowsAccepted: v1.rowsAccepted, rowsQuarantined: 0,
      event: () => ({ actor: operator, action: 'test.publish-fail', target: 'dataset:demo' }),
      inCommit: () => Promise.reject(new Error('bookkeeping refused')),
    }),
    /bookkeeping refused/,
  );
  assert.deepEqual((await p.datasetsL.versions('demo')).map((v) => v.version), before);
  assert.equal(await p.datasetsL.byDelivery('demo', 'e'.repeat(64)), undefined);
  const events = await p.t.db.query<{ outcome: string }>("SELECT outcome FROM audit_events WHERE action = 'test.publish-fail'");
  assert.deepEqual(events.map((e) => e.outcome), ['failure'], 'the refusal is audited, the publish is not');
  await assert.rejects(p.datasetsL.runOf('demo', (before[0] ?? 0) + 1), /has no version/);
});

test(`an unknown version is a clear not-found naming how to list versions (${testDbKind})`, async () => {
  await assert.rejects(p.datasetsL.version('demo', 99), (e: unknown) => e instanceof Error && /dataset demo has no version 99/.test(e.message) && 'hint' in e && /enclave datasets versions demo/.test(String(e.hint)));
  await assert.rejects(p.datasetsL.version('nothing'), /dataset nothing has no ingested version/);
});
