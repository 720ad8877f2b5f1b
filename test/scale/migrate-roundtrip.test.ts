import assert from 'node:assert/strict';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openNote, parseVerifierKey, verifierKey } from '../../src/audit/index.ts';
import { formatTable } from '../../src/cli/table.ts';
import { testDbKind } from '../helpers/db.ts';
import { fullScale, scaleSize } from '../helpers/scale.ts';
import { ingestBulk, openMigratePlatform, operator, type MigratePlatform } from '../helpers/migrate.ts';
import { startS3Server } from '../helpers/s3.ts';

/**
 * The done-when asks for several GB: 3 GB in 24 yearly partitions under `npm run
 * test:scale`; `npm test` moves 0.15 GB in 12 through the same paths (S3 multipart uploads of
 * several parts each, verify, mirror through the bounded cache, cutover, signed report).
 * ENCLAVE_MIGRATE_ROUNDTRIP_GB sets any other size.
 */
const GB = scaleSize('ENCLAVE_MIGRATE_ROUNDTRIP_GB', { ci: 0.15, full: 3 });
/** Partitions of the bulk version, and the S3 part size: files of ~12 MB still upload in 5 MB parts (S3's minimum). */
const YEARS = fullScale ? 24 : 12;
const PART_SIZE = (fullScale ? 16 : 5) * 1024 * 1024;
/** The read cache's cap in this test: a quarter of the base at most, so that eviction is exercised at every size. */
const CACHE_MAX = Math.min(512 * 1024 * 1024, Math.floor((GB * 1e9) / 4));

async function duBytes(dir: string): Promise<number> {
  let n = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (e.isFile()) n += (await stat(join(e.parentPath, e.name))).size;
  }
  return n;
}

interface Leg {
  readonly direction: string;
  readonly bytes: number;
  readonly files: number;
  readonly seconds: { plan: number; run: number; verify: number; mirror: number; cutover: number };
  readonly checks: string;
}

async function leg(p: MigratePlatform, from: string, to: string): Promise<Leg> {
  const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const t = performance.now();
    const r = await fn();
    return [r, (performance.now() - t) / 1000];
  };
  const [plan, planS] = await time(() => p.migration.plan({ from, to, datasets: ['bulk'], actor: operator }));
  assert.ok(plan.checks.every((c) => c.ok), JSON.stringify(plan.checks.filter((c) => !c.ok)));
  const [run, runS] = await time(() => p.migration.run(plan.id, { actor: operator, concurrency: 4 }));
  assert.equal(run.copied, plan.files.length, 'every file was copied (none adopted, none skipped)');
  assert.equal(run.bytesCopied, plan.totalBytes);
  const [verify, verifyS] = await time(() => p.migration.verify(plan.id, { actor: operator }));
  assert.ok(verify.ok, JSON.stringify(verify.differences.slice(0, 10)));
  assert.equal(verify.bytesChecked, plan.totalBytes);
  assert.ok(verify.merkleRoots.length === 2 && verify.merkleRoots.every((m) => m.ok));
  let partitions = 0;
  for (const v of await p.ingestL.versions('bulk')) partitions += v.manifest.files.length;
  assert.equal(verify.partitions.length, partitions, 'every partition of every version reconciled');
  assert.ok(verify.partitions.every((x) => x.ok && x.rows.source === x.rows.manifest && x.rows.target === x.rows.manifest && x.fingerprint.source === x.fingerprint.target));
  const [mirror, mirrorS] = await time(() => p.migration.mirror(plan.id, { actor: operator, queries: ['SELECT year(EXE_SOI_DTD) AS y, count(*) AS n, sum(CAST(BSE_REM_MNT AS DECIMAL(18, 2))) AS base FROM ds.ER_PRS_F GROUP BY 1'] }));
  assert.ok(mirror.ok, JSON.stringify(mirror.queries.filter((q) => !q.ok)));
  const [report, cutS] = await time(() => p.migration.cutover(plan.id, { actor: operator }));
  assert.equal(await p.locations.active('bulk'), p.stores.get(to).id);
  // The signed report: its note opens with the platform's key and names the report's hash; the audit log holds it.
  const opened = openNote(report.note, [parseVerifierKey(verifierKey(p.signer))]);
  assert.ok(opened.text.includes(`report sha256 ${report.sha256}`));
  assert.match(report.summary, /^cutover check of \S+ at \S+: green/m);
  assert.match(report.summary, /^verify of \S+ at \S+: green/m);
  assert.match(report.summary, /mirror: green/);
  let inLog = false;
  for await (const l of p.audit.lines()) if (l.event?.action === 'migrate.report' && l.event.details['sha256'] === report.sha256) inLog = true;
  assert.ok(inLog, 'the signed report is in the audit log');
  const checks = `${plan.checks.length} plan checks, ${verify.filesChecked} hashes, ${verify.merkleRoots.length} Merkle roots, ${verify.partitions.length} partitions reconciled, ${mirror.queries.length} mirror queries: all green`;
  return { direction: `${from} → ${to}`, bytes: plan.totalBytes, files: plan.files.length, seconds: { plan: planS, run: runS, verify: verifyS, mirror: mirrorS, cutover: cutS }, checks };
}

// S3 server: s3rver (npm dev dependency), a real server process on loopback.
test(`a synthetic base of ${GB} GB moves local → S3 and back with every check green and a signed report (${testDbKind})`, { skip: testDbKind !== 'postgres' ? 'runs once per suite, on the PostgreSQL pass (the volume does not touch the metadata database)' : false }, async () => {
  const p = await openMigratePlatform({ cacheMaxBytes: CACHE_MAX, cacheHoldMs: 0 });
  const s3 = await startS3Server(['roundtrip']);
  try {
    p.stores.add('s3', s3.store('roundtrip', { partSize: PART_SIZE, maxAttempts: 3 }));
    const base = await ingestBulk(p, { bytes: GB * 1e9, years: YEARS });
    const onDisk = await duBytes(p.store.root);
    assert.ok(onDisk >= GB * 1e9, `the base is ${onDisk} bytes on disk`);
    process.stdout.write(`bulk base: ${(base.bytes / 1e9).toFixed(2)} GB (${(onDisk / 1e9).toFixed(2)} GB on disk), ${base.rows.toLocaleString('en-US')} rows in ${base.v2.files + base.v1.files} encrypted Parquet files, built in ${base.seconds.toFixed(0)} s\n`);

    const there = await leg(p, 'local', 's3');
    // The parallel period is over: the source copy is decommissioned, so the way back moves every byte again.
    for (const v of [base.v1, base.v2]) await p.store.removePrefix(v.prefix);
    assert.equal(await duBytes(join(p.store.root, 'datasets', 'bulk')), 0);
    const back = await leg(p, 's3', 'local');
    assert.equal(await p.locations.active('bulk'), p.store.id);

    const cache = await duBytes(join(p.dir, 'cache'));
    assert.ok(cache <= CACHE_MAX, `the S3 read cache holds ${cache} bytes, over its ${CACHE_MAX} cap`);
    const rows = [there, back].map((l) => {
      const s = l.seconds.plan + l.seconds.run + l.seconds.verify + l.seconds.mirror + l.seconds.cutover;
      return [l.direction, (l.bytes / 1e9).toFixed(2), l.files, l.seconds.plan.toFixed(0), l.seconds.run.toFixed(0), (l.bytes / 1e6 / l.seconds.run).toFixed(0), l.seconds.verify.toFixed(0), l.seconds.mirror.toFixed(0), s.toFixed(0), (l.bytes / 1e6 / s).toFixed(0)];
    });
    process.stdout.write(`\n${formatTable(['direction', 'GB', 'files', 'plan s', 'run s', 'run MB/s', 'verify s', 'mirror s', 'total s', 'MB/s overall'], rows)}`);
    process.stdout.write(`\n${there.direction}: ${there.checks}\n${back.direction}: ${back.checks}\nS3 read cache after the round trip: ${(cache / 1e6).toFixed(0)} MB (cap ${(CACHE_MAX / 1e6).toFixed(0)} MB)\n`);
  } finally {
    await s3.close();
    await p.close();
  }
});
