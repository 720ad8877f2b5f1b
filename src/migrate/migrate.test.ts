import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, test } from 'node:test';
import { openNote, parseVerifierKey, verifierKey } from '../audit/index.ts';
import { isAppError } from '../errors.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { ingestSample, openMigratePlatform, operator, type MigratePlatform } from '../../test/helpers/migrate.ts';
import { startS3Server, type S3Server } from '../../test/helpers/s3.ts';

// S3 server: s3rver (npm dev dependency), started as a real server process on a loopback port.
let p: MigratePlatform;
let s3: S3Server;

before(async () => {
  p = await openMigratePlatform();
  s3 = await startS3Server(['target-a', 'target-b', 'target-c', 'target-d']);
  for (const b of ['target-a', 'target-b', 'target-c', 'target-d']) p.stores.add(b, s3.store(b));
  await ingestSample(p);
});
after(async () => {
  await s3.close();
  await p.close();
});

const viewPaths = async (s: Awaited<ReturnType<typeof p.engine.session>>): Promise<string[]> =>
  (await s.all<{ sql: string }>("SELECT sql FROM duckdb_views() WHERE schema_name = 'ds'")).flatMap((r) => [...r.sql.matchAll(/'([^']+\.parquet)'/g)].map((m) => m[1] ?? ''));

test(`a plan inventories every file with its hash and passes the pre-migration checks (${testDbKind})`, async () => {
  const plan = await p.migration.plan({ from: 'local', to: 'target-a', actor: operator });
  const v = await p.ingestL.version('demo');
  assert.deepEqual(plan.datasets, ['demo']);
  assert.ok(plan.checks.every((c) => c.ok), JSON.stringify(plan.checks));
  for (const f of v.manifest.files) assert.ok(plan.files.some((x) => x.key === `${v.prefix}/${f.path}` && x.sha256 === f.sha256 && x.bytes === f.bytes));
  assert.ok(plan.files.some((x) => x.key.endsWith('/manifest.json')));
  assert.deepEqual((await p.migration.getPlan(plan.id)).files.length, plan.files.length);
});

test('a plan to an unreachable target is saved with a failed check and cannot run', async () => {
  p.stores.add('nowhere', s3.store('no-such-bucket'));
  const plan = await p.migration.plan({ from: 'local', to: 'nowhere', actor: operator });
  assert.equal(plan.checks.find((c) => c.check === 'target reachable and writable')?.ok, false);
  await assert.rejects(p.migration.run(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'invalid' && /pre-migration checks/.test(e.message));
});

test('local → S3: run, verify, mirror, cutover and rollback; a continuous reader sees no error and no mixed location; a signed report lands in the audit log', async () => {
  const plan = await p.migration.plan({ from: 'local', to: 'target-a', actor: operator });
  await assert.rejects(p.migration.cutover(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'conflict' && /verification/.test(e.message));
  const progress: number[] = [];
  const r = await p.migration.run(plan.id, { actor: operator, concurrency: 3, onProgress: (x) => progress.push(x.bytesDone) });
  assert.equal(r.copied, plan.files.length);
  assert.equal(progress.at(-1), plan.totalBytes);
  assert.equal((await p.migration.run(plan.id, { actor: operator })).skipped, plan.files.length, 'a second run copies nothing');
  const v = await p.migration.verify(plan.id, { actor: operator });
  assert.ok(v.ok, JSON.stringify(v.differences));
  assert.equal(v.partitions.length, (await p.ingestL.version('demo')).manifest.files.length);
  assert.ok(v.merkleRoots.every((m) => m.ok));
  const m = await p.migration.mirror(plan.id, { actor: operator, queries: ['SELECT year(EXE_SOI_DTD) AS y, sum(PRS_PAI_MNT) FROM ds.ER_PRS_F GROUP BY 1;'] });
  assert.ok(m.ok, JSON.stringify(m.queries.filter((q) => !q.ok)));
  assert.ok(m.queries.some((q) => q.name === 'ER_PRS_F totals'));

  const local = p.store.root;
  const cache = `${p.dir}/cache`;
  const seen = { local: 0, s3: 0 };
  let stop = false;
  const reader = (async () => {
    const errors: unknown[] = [];
    while (!stop) {
      const s = await p.engine.session();
      try {
        await p.datasetsL.attachVersion(s, await p.ingestL.version('demo'));
        const [row] = await s.all<{ n: bigint }>('SELECT count(*) AS n FROM ds.ER_PRS_F');
        assert.equal(row?.n, 16000n);
        const paths = await viewPaths(s);
        const onLocal = paths.filter((x) => x.startsWith(local)).length;
        const onCache = paths.filter((x) => x.startsWith(cache)).length;
        assert.ok(onLocal === paths.length || onCache === paths.length, `mixed locations: ${onLocal} local, ${onCache} s3`);
        if (onLocal > 0) seen.local++;
        else seen.s3++;
      } catch (e) {
        errors.push(e);
      } finally {
        s.close();
      }
    }
    return errors;
  })();
  for (let i = 0; i < 3; i++) {
    await new Promise((res) => setTimeout(res, 150));
    const rep = await p.migration.cutover(plan.id, { actor: operator });
    assert.equal((await p.locations.active('demo')), p.stores.get('target-a').id);
    assert.equal(rep.kind, 'cutover');
    await new Promise((res) => setTimeout(res, 150));
    await p.migration.rollback(plan.id, { actor: operator });
    assert.equal((await p.locations.active('demo')), p.store.id);
  }
  await new Promise((res) => setTimeout(res, 100));
  stop = true;
  const errors = await reader;
  assert.deepEqual(errors, []);
  assert.ok(seen.local > 0 && seen.s3 > 0, JSON.stringify(seen));

  const rep = await p.migration.cutover(plan.id, { actor: operator });
  const opened = openNote(rep.note, [parseVerifierKey(verifierKey(p.signer))]);
  assert.ok(opened.text.includes(`report sha256 ${rep.sha256}`));
  assert.match(rep.summary, /^cutover check of s3:\S+ at \S+: green \(\d+ files present/m);
  assert.match(rep.summary, /^verify of s3:\S+ at \S+: green/m);
  const events = [];
  for await (const l of p.audit.lines()) if (l.event?.action === 'migrate.report') events.push(l.event);
  assert.equal(events.at(-1)?.details['sha256'], rep.sha256);
  await p.migration.rollback(plan.id, { actor: operator });
});

test('a bit flipped in a target object is found by verify and copied again by the next run', async () => {
  const plan = await p.migration.plan({ from: 'local', to: 'target-b', actor: operator });
  await p.migration.run(plan.id, { actor: operator });
  const target = p.stores.get('target-b');
  const victim = plan.files.find((f) => f.key.includes('ER_PRS_F/year=2017')) ?? plan.files[0];
  assert.ok(victim !== undefined);
  const bytes = await buffer(await target.read(victim.key));
  const i = Math.floor(bytes.length / 2);
  bytes[i] = (bytes[i] ?? 0) ^ 0x10;
  await target.write(victim.key, Readable.from([bytes]));
  const v = await p.migration.verify(plan.id, { actor: operator });
  assert.equal(v.ok, false);
  assert.ok(v.differences.some((d) => d.where === victim.key && /SHA-256/.test(d.problem)), JSON.stringify(v.differences));
  assert.ok(v.differences.some((d) => d.where === 'Merkle root'));
  assert.equal(v.datasets['demo'], false);
  await assert.rejects(p.migration.cutover(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'conflict');
  const r = await p.migration.run(plan.id, { actor: operator });
  assert.equal(r.copied, 1);
  assert.ok((await p.migration.verify(plan.id, { actor: operator })).ok);
});

test('the S3 server stopped mid-run: retries, then a clear error; a later resume completes and nothing is copied twice', async () => {
  const plan = await p.migration.plan({ from: 'local', to: 'target-c', actor: operator });
  const retries: string[] = [];
  let done = 0;
  const err = await p.migration.run(plan.id, {
    actor: operator, concurrency: 1, attempts: 3, retryBaseMs: 50,
    onRetry: (f, _a, e) => retries.push(`${f}: ${e}`),
    afterFile: async () => { if (++done === 3) await s3.stop(); },
  }).then(() => undefined, (e: unknown) => e);
  await s3.start();
  assert.ok(isAppError(err) && err.code === 'unavailable' && /after 3 attempts/.test(err.message) && err.hint?.includes('resume') === true, String(err));
  assert.ok(retries.length >= 2, retries.join('\n'));
  const r = await p.migration.run(plan.id, { actor: operator });
  assert.equal(r.skipped, 3);
  assert.equal(r.skipped + r.copied + r.adopted, plan.files.length);
  assert.ok((await p.migration.journal(plan.id)).every((j) => j.status === 'copied' && j.copies <= 1));
  assert.ok((await p.migration.verify(plan.id, { actor: operator, engine: false })).ok);
});

test('after cutover the next ingestion publishes into the active store, and rollback is refused while that version exists only there', async () => {
  const plan = await p.migration.plan({ from: 'local', to: 'target-d', actor: operator });
  await p.migration.run(plan.id, { actor: operator });
  assert.ok((await p.migration.verify(plan.id, { actor: operator })).ok);
  await p.migration.cutover(plan.id, { actor: operator });
  await ingestSample(p, { seed: 3, years: 2, rows: 500 });
  const v2 = await p.ingestL.version('demo');
  assert.equal(v2.storeId, p.stores.get('target-d').id);
  assert.equal(await p.store.size(`${v2.prefix}/manifest.json`), undefined, 'not left on the local store');
  const s = await p.engine.session();
  try {
    await p.datasetsL.attachVersion(s, v2);
    assert.deepEqual(await s.all('SELECT count(*) AS n FROM ds.ER_PRS_F'), [{ n: 1000n }]);
  } finally {
    s.close();
  }
  await assert.rejects(p.migration.rollback(plan.id, { actor: operator }), (e) => isAppError(e) && e.code === 'conflict' && /did not copy/.test(e.message));
});

test('a source file changed after planning stops the run with a clear integrity error and writes nothing wrong', async () => {
  // The dataset now lives on target-d (previous test); copy it on to target-a.
  const v1 = await p.ingestL.version('demo', 1);
  const key = `${v1.prefix}/${v1.manifest.files[0]?.path ?? ''}`;
  const plan2 = await p.migration.plan({ from: 'target-d', to: 'target-a', datasets: ['demo'], actor: operator });
  const target = p.stores.get('target-a');
  await target.remove(key);
  const src = p.stores.get('target-d');
  const original = await buffer(await src.read(key));
  const changed = Buffer.from(original);
  changed[10] = (changed[10] ?? 0) ^ 1;
  await src.write(key, Readable.from([changed]));
  try {
    const err = await p.migration.run(plan2.id, { actor: operator, concurrency: 1 }).then(() => undefined, (e: unknown) => e);
    assert.ok(isAppError(err) && err.code === 'integrity' && err.message.includes(key) && /changed since plan/.test(err.message), String(err));
    assert.equal(await target.size(key), undefined, 'the wrong bytes never reached the target');
    assert.equal((await p.migration.journal(plan2.id)).find((j) => j.key === key)?.status, 'failed');
  } finally {
    await src.write(key, Readable.from([original]));
  }
});
