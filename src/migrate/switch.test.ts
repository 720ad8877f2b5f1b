import assert from 'node:assert/strict';
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, test } from 'node:test';
import type { AuditEvent } from '../audit/index.ts';
import { isAppError } from '../errors.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { ingestSample, openMigratePlatform, operator, type MigratePlatform } from '../../test/helpers/migrate.ts';
import { startS3Server, type S3Server } from '../../test/helpers/s3.ts';

// Faults injected by hand against a real S3 server: s3rver (npm dev dependency) on loopback.
const BUCKETS = ['sw-delete', 'sw-rollback', 'sw-source', 'sw-extra', 'sw-audit', 'sw-mirror', 'sw-publish'];
let p: MigratePlatform;
let s3: S3Server;

before(async () => {
  p = await openMigratePlatform();
  s3 = await startS3Server(BUCKETS);
  for (const b of BUCKETS) p.stores.add(b, s3.store(b));
  await ingestSample(p);
});
after(async () => {
  await s3.close();
  await p.close();
});

async function events(action: string): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for await (const l of p.audit.lines()) if (l.event?.action === action) out.push(l.event);
  return out;
}

/** Plan, run and a green verify of dataset demo from local to `to`. */
async function copied(to: string) {
  const plan = await p.migration.plan({ from: 'local', to, actor: operator });
  await p.migration.run(plan.id, { actor: operator });
  const v = await p.migration.verify(plan.id, { actor: operator });
  assert.ok(v.ok, JSON.stringify(v.differences));
  const victim = plan.files.find((f) => f.key.includes('ER_PRS_F/year=2018'));
  assert.ok(victim !== undefined);
  return { plan, victim };
}

const flipped = async (store: string, key: string): Promise<Buffer> => {
  const original = await buffer(await p.stores.get(store).read(key));
  const bytes = Buffer.from(original);
  const i = Math.floor(bytes.length / 2);
  bytes[i] = (bytes[i] ?? 0) ^ 0x04;
  await p.stores.get(store).write(key, Readable.from([bytes]));
  return original;
};

test(`cutover re-checks the target as it is: an object deleted or rewritten after a green verify is refused, named and audited, also on a second cutover after a rollback (${testDbKind})`, async () => {
  const { plan, victim } = await copied('sw-delete');
  const target = p.stores.get('sw-delete');
  await target.remove(victim.key);
  await assert.rejects(p.migration.cutover(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'conflict' && e.message.includes(victim.key) && /missing/.test(e.message) && e.hint?.includes('enclave migrate run') === true);
  assert.equal(await p.locations.active('demo'), undefined, 'still read where it was ingested');
  const refused = (await events('migrate.cutover')).at(-1);
  assert.equal(refused?.outcome, 'failure');
  assert.match(String(refused?.details['reason']), new RegExp(victim.key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.equal((await p.migration.journal(plan.id)).find((j) => j.key === victim.key)?.status, 'pending', 'the next run copies it again');

  assert.equal((await p.migration.run(plan.id, { actor: operator })).copied, 1);
  assert.ok((await p.migration.verify(plan.id, { actor: operator })).ok);
  const rep = await p.migration.cutover(plan.id, { actor: operator });
  assert.match(rep.summary, new RegExp(`^cutover check of ${target.id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} at \\S+: green \\(${plan.files.length} files present`, 'm'));
  await p.migration.rollback(plan.id, { actor: operator });

  // The verify is still green in the database: the second cutover must not trust it.
  const original = await flipped('sw-delete', victim.key);
  await assert.rejects(p.migration.cutover(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'conflict' && e.message.includes(victim.key) && /SHA-256/.test(e.message));
  assert.equal(await p.locations.active('demo'), p.store.id);
  await target.write(victim.key, Readable.from([original]));
});

test(`rollback checks the source it returns to: a local file moved away or changed while cut over is refused, named and audited; once restored, rollback succeeds (${testDbKind})`, async () => {
  const { plan, victim } = await copied('sw-rollback');
  await p.migration.cutover(plan.id, { actor: operator });
  const path = p.store.localPath(victim.key);
  const aside = join(p.dir, 'moved-away.parquet');
  await rename(path, aside);
  try {
    await assert.rejects(p.migration.rollback(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'conflict' && e.message.includes(victim.key) && /missing in local:/.test(e.message));
    assert.equal(await p.locations.active('demo'), p.stores.get('sw-rollback').id, 'still on the target');
    const refused = (await events('migrate.rollback')).at(-1);
    assert.equal(refused?.outcome, 'failure');
    assert.ok(String(refused?.details['reason']).includes(victim.key));
  } finally {
    await rename(aside, path);
  }
  const original = await flipped('local', victim.key);
  await assert.rejects(p.migration.rollback(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'conflict' && e.message.includes(victim.key) && /SHA-256/.test(e.message));
  await p.store.write(victim.key, Readable.from([original]));
  const rep = await p.migration.rollback(plan.id, { actor: operator });
  assert.equal(await p.locations.active('demo'), p.store.id);
  assert.match(rep.summary, /^rollback check of local:\S+ at \S+: green /m);
  assert.match(rep.summary, /^verify of s3:\S+ at \S+: green/m, 'the verify line names the store it is about and when');
});

test(`a source changed while the target already holds the planned bytes: run names the source file instead of adopting it, verify reports it as a difference, never an internal error, both audited (${testDbKind})`, async () => {
  const { plan, victim } = await copied('sw-source');
  // A second plan over the same target finds every file already there.
  const again = await p.migration.plan({ from: 'local', to: 'sw-source', actor: operator });
  const original = await flipped('local', victim.key);
  try {
    const err = await p.migration.run(again.id, { actor: operator, concurrency: 1 }).then(() => undefined, (e: unknown) => e);
    assert.ok(isAppError(err) && err.code === 'integrity' && err.message.includes(`source file ${victim.key} changed since plan`), String(err));
    assert.equal((await events('migrate.run')).at(-1)?.outcome, 'failure');

    const v = await p.migration.verify(plan.id, { actor: operator });
    assert.equal(v.ok, false);
    assert.ok(v.differences.some((d) => d.where === victim.key && /^source SHA-256/.test(d.problem)), JSON.stringify(v.differences));
    assert.equal(v.datasets['demo'], false);
    const ev = (await events('migrate.verify')).at(-1);
    assert.equal(ev?.outcome, 'success');
    assert.equal(ev?.details['ok'], false);
    assert.ok((ev?.details['where'] as string[]).includes(victim.key));
    // Deep mode opens the changed source with the engine: a named difference, not a crash.
    const deep = await p.migration.verify(plan.id, { actor: operator, deep: true });
    assert.equal(deep.ok, false);
    assert.ok(deep.differences.some((d) => d.where === victim.key));
  } finally {
    await p.store.write(victim.key, Readable.from([original]));
  }
  assert.ok((await p.migration.verify(plan.id, { actor: operator })).ok);
});

test(`objects the manifests do not name: verify reports each one in the target, cutover refuses them, and a plan in the other direction leaves them out (${testDbKind})`, async () => {
  const { plan, victim } = await copied('sw-extra');
  const target = p.stores.get('sw-extra');
  const v1 = await p.ingestL.version('demo', 1);
  const extraPartition = `${v1.prefix}/ER_PRS_F/year=2099/ER_PRS_F.parquet`;
  const stray = 'datasets/demo/notes.txt';
  await target.write(extraPartition, await target.read(victim.key));
  await target.write(stray, Readable.from([Buffer.from('left here by hand\n')]));
  const v = await p.migration.verify(plan.id, { actor: operator });
  assert.equal(v.ok, false);
  for (const key of [extraPartition, stray]) assert.ok(v.differences.some((d) => d.where === key && /do not name/.test(d.problem)), `${key}: ${JSON.stringify(v.differences)}`);

  await target.remove(stray);
  await target.remove(extraPartition);
  assert.ok((await p.migration.verify(plan.id, { actor: operator })).ok);
  await target.write(stray, Readable.from([Buffer.from('again\n')]));
  await assert.rejects(p.migration.cutover(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'conflict' && e.message.includes(stray));
  await target.remove(stray);
  await p.migration.cutover(plan.id, { actor: operator });

  // Cut over: an extra partition appears in the target; the plan back to local must not carry it.
  await target.write(extraPartition, await target.read(victim.key));
  await mkdir(p.dir, { recursive: true });
  const back = await p.migration.plan({ from: 'sw-extra', to: 'local', actor: operator });
  assert.ok(!back.files.some((f) => f.key === extraPartition), 'left out of the plan');
  assert.ok(back.checks.some((c) => c.detail.includes(extraPartition)), JSON.stringify(back.checks));
  assert.ok(back.checks.every((c) => c.ok));
  await target.remove(extraPartition);
  await p.migration.rollback(plan.id, { actor: operator });
});

test(`every attempt is an audit event: a cutover refused before verify, a verify that fails on an unreachable target, a run that stopped without an end (${testDbKind})`, async () => {
  const plan = await p.migration.plan({ from: 'local', to: 'sw-audit', actor: operator });
  const before = (await events('migrate.cutover')).length;
  await assert.rejects(p.migration.cutover(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'conflict' && /verification/.test(e.message));
  const cut = await events('migrate.cutover');
  assert.equal(cut.length, before + 1);
  assert.equal(cut.at(-1)?.outcome, 'failure');
  assert.equal(cut.at(-1)?.details['error'], 'conflict');

  await assert.rejects(p.migration.verify(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'conflict' && /has not been run/.test(e.message));
  assert.equal((await events('migrate.verify')).at(-1)?.details['error'], 'conflict');

  await p.migration.run(plan.id, { actor: operator });
  await s3.stop();
  try {
    await assert.rejects(p.migration.verify(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'unavailable');
  } finally {
    await s3.start();
  }
  const failed = (await events('migrate.verify')).at(-1);
  assert.equal(failed?.outcome, 'failure');
  assert.equal(failed?.details['error'], 'unavailable');

  // What a SIGKILLed run leaves in the database: its lease, never renewed (crash.test.ts kills a real process).
  await p.t.db.query("UPDATE migration_plans SET run_owner = 'run_killed', run_heartbeat = now() - interval '1 hour' WHERE id = $1", [plan.id]);
  await p.migration.verify(plan.id, { actor: operator, engine: false });
  const killed = (await events('migrate.run')).filter((e) => e.details['owner'] === 'run_killed');
  assert.equal(killed.length, 1);
  assert.equal(killed[0]?.outcome, 'failure');
  assert.equal(killed[0]?.details['error'], 'interrupted');
});

test(`mirror compares every version the plan moved, not only the latest (${testDbKind})`, async () => {
  await ingestSample(p, { seed: 2, years: 2, rows: 300 });
  const plan = await p.migration.plan({ from: 'local', to: 'sw-mirror', actor: operator });
  await p.migration.run(plan.id, { actor: operator });
  const m = await p.migration.mirror(plan.id, { actor: operator });
  assert.ok(m.ok, JSON.stringify(m.queries.filter((q) => !q.ok)));
  assert.deepEqual([...new Set(m.queries.map((q) => q.version))].sort(), [1, 2]);
  assert.ok(m.queries.some((q) => q.version === 1 && q.name === 'all of ER_PRS_F'));
});

test(`the next version is copied to a remote active store before the commit transaction, so the metadata database stays free meanwhile (${testDbKind})`, async () => {
  const { plan } = await copied('sw-publish');
  await p.migration.cutover(plan.id, { actor: operator });
  const target = p.stores.get('sw-publish') as ReturnType<S3Server['store']>;
  // While the first object of the new version is being uploaded: can another writer lock the
  // dataset's location row at once? Not if the copy runs inside the commit transaction (PGlite
  // would make it wait for that transaction, PostgreSQL refuse NOWAIT).
  const during: string[] = [];
  target.client.middlewareStack.add((next, context) => async (args) => {
    if (during.length === 0 && (context.commandName === 'PutObjectCommand' || context.commandName === 'UploadPartCommand')) {
      const probe = p.t.db.transaction((tx) => tx.query('SELECT store_id FROM dataset_locations WHERE dataset = $1 FOR UPDATE NOWAIT', ['demo'])).then(() => 'free', (e: unknown) => `refused: ${e instanceof Error ? e.message : String(e)}`);
      during.push(await Promise.race([probe, new Promise<string>((r) => setTimeout(() => r('waited'), 3000))]));
    }
    return next(args);
  }, { step: 'initialize', name: 'probeDuringPublish' });
  try {
    await ingestSample(p, { seed: 5, years: 1, rows: 200 });
  } finally {
    target.client.middlewareStack.remove('probeDuringPublish');
  }
  assert.deepEqual(during, ['free']);
  const latest = await p.ingestL.version('demo');
  assert.equal(latest.storeId, target.id);
  assert.ok(await target.exists(`${latest.prefix}/manifest.json`));
  assert.deepEqual(await p.store.list('datasets/demo/.staging'), [], 'staging removed after the commit');
});
