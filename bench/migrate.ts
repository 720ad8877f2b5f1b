/**
 * Migration at link speed: `enclave migrate run` + `verify` (the real service, on a real dataset
 * of encrypted Parquet) as a ratio against the raw tools on the same files in the same run.
 *
 *   node bench/migrate.ts            a dataset of about 512 MB (override: BENCH_MIGRATE_MB=4096)
 *                                    best of 3 runs of each (BENCH_MIGRATE_REPEAT), alternated,
 *                                    as the machine's load changes from one second to the next
 *
 * local → local: run + verify vs `cp -r` then `sha256sum` of the copies.
 * local → S3 (s3rver on loopback): run + verify vs a raw AWS SDK upload (lib-storage `Upload`,
 * same part size, same number of files at once) that checks nothing.
 * ratio = raw time / Enclave time: 1.00 is as fast as the raw tools, above is faster.
 * What run + verify do that the raw tools do not: SHA-256 of every byte in the copy stream
 * (checked against the plan before the file takes its name), the journal (one statement per
 * batch of files) and the audit events, then every target file read back and hashed once, each
 * version's Merkle root, the target listed for objects no manifest names, each partition's rows
 * counted by the engine. Neither side fsyncs (the cutover does, before the switch).
 * Hashes run in worker threads, one per core; sha256sum runs on one.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Upload } from '@aws-sdk/lib-storage';
import { formatTable } from '../src/cli/table.ts';
import { LocalStore } from '../src/store/local.ts';
import { ingestBulk, openMigratePlatform, operator } from '../test/helpers/migrate.ts';
import { startS3Server } from '../test/helpers/s3.ts';

const totalMb = Number(process.env['BENCH_MIGRATE_MB'] ?? 512);
const PART = 16 * 1024 * 1024;
const CONCURRENCY = 4;
const REPEAT = Math.max(1, Number(process.env['BENCH_MIGRATE_REPEAT'] ?? 3));
const p = await openMigratePlatform();
const s3 = await startS3Server(['bench-raw', ...Array.from({ length: REPEAT }, (_, i) => `bench-${i}`)]);
try {
  process.stdout.write(`building a dataset of ${totalMb} MB of encrypted Parquet…\n`);
  const base = await ingestBulk(p, { bytes: totalMb * 1e6, years: Math.max(4, Math.round(totalMb / 64)) });
  const src = join(p.store.root, 'datasets', 'bulk');
  const files = (await readdir(src, { recursive: true })).map((f) => join(src, f));
  const sizes = await Promise.all(files.map(async (f) => ((await stat(f)).isFile() ? (await stat(f)).size : -1)));
  const regular = files.filter((_, i) => (sizes[i] ?? -1) >= 0);
  const bytes = sizes.filter((s) => s >= 0).reduce((a, b) => a + b, 0);
  const mb = bytes / 1e6;

  // Raw tools, local: cp then sha256sum of the copies.
  const rawLocal = async (i: number): Promise<{ run: number; verify: number }> => {
    const raw = join(p.dir, `raw-${i}`);
    const t0 = performance.now();
    execFileSync('cp', ['-r', src, raw]);
    const t1 = performance.now();
    execFileSync('sh', ['-c', `find '${raw}' -type f -print0 | xargs -0 sha256sum > /dev/null`]);
    const t2 = performance.now();
    await rm(raw, { recursive: true, force: true });
    return { run: (t1 - t0) / 1000, verify: (t2 - t1) / 1000 };
  };
  // Raw AWS SDK upload of the same files to s3rver.
  const client = s3.store('bench-raw').client;
  const rawS3 = async (i: number): Promise<number> => {
    const t = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      for (let f = regular[next++]; f !== undefined; f = regular[next++]) {
        await new Upload({ client, params: { Bucket: 'bench-raw', Key: `${i}/${f.slice(p.store.root.length + 1)}`, Body: createReadStream(f, { highWaterMark: 1 << 20 }) }, partSize: PART, queueSize: 4 }).done();
      }
    }));
    return (performance.now() - t) / 1000;
  };
  const enclave = async (to: string): Promise<{ run: number; verify: number }> => {
    const plan = await p.migration.plan({ from: 'local', to, datasets: ['bulk'], actor: operator });
    const t0 = performance.now();
    const r = await p.migration.run(plan.id, { actor: operator, concurrency: CONCURRENCY });
    const t1 = performance.now();
    const v = await p.migration.verify(plan.id, { actor: operator });
    const t2 = performance.now();
    if (r.copied !== plan.files.length || !v.ok) throw new Error(`bench migration to ${to} failed: ${JSON.stringify(v.differences.slice(0, 3))}`);
    return { run: (t1 - t0) / 1000, verify: (t2 - t1) / 1000 };
  };
  const best = (xs: Array<{ run: number; verify: number }>) => xs.reduce((a, b) => (a.run + a.verify <= b.run + b.verify ? a : b));
  const rl: Array<{ run: number; verify: number }> = [];
  const el: Array<{ run: number; verify: number }> = [];
  const rs: number[] = [];
  const es: Array<{ run: number; verify: number }> = [];
  for (let i = 0; i < REPEAT; i++) {
    rl.push(await rawLocal(i));
    p.stores.add(`disk${i}`, new LocalStore(join(p.dir, `disk-${i}`)));
    el.push(await enclave(`disk${i}`));
    await rm(join(p.dir, `disk-${i}`), { recursive: true, force: true });
    rs.push(await rawS3(i));
    p.stores.add(`s3-${i}`, s3.store(`bench-${i}`, { partSize: PART }));
    es.push(await enclave(`s3-${i}`));
  }
  const local = best(el);
  const remote = best(es);
  const rawL = best(rl);
  const rawLocalSecs = rawL.run + rawL.verify;
  const rawS3Secs = Math.min(...rs);

  const row = (name: string, secs: number, rawSecs: number): string[] => [name, secs.toFixed(2), (mb / secs).toFixed(0), (rawSecs / secs).toFixed(2)];
  process.stdout.write(`\nEnclave migration benchmark: ${regular.length} files, ${mb.toFixed(0)} MB (${base.rows} rows), ${CONCURRENCY} files at once, best of ${REPEAT}\n\n`);
  process.stdout.write(formatTable(['measure', 'seconds', 'MB/s', 'ratio vs raw'], [
    ['cp + sha256sum (raw)', rawLocalSecs.toFixed(2), (mb / rawLocalSecs).toFixed(0), '1.00'],
    ['  of which cp / sha256sum', `${rawL.run.toFixed(2)} / ${rawL.verify.toFixed(2)}`, '', ''],
    row('enclave run + verify, local → local', local.run + local.verify, rawLocalSecs),
    ['  of which run / verify', `${local.run.toFixed(2)} / ${local.verify.toFixed(2)}`, '', ''],
    ['AWS SDK upload to s3rver (raw)', rawS3Secs.toFixed(2), (mb / rawS3Secs).toFixed(0), '1.00'],
    row('enclave run + verify, local → S3 (s3rver)', remote.run + remote.verify, rawS3Secs),
    ['  of which run / verify', `${remote.run.toFixed(2)} / ${remote.verify.toFixed(2)}`, '', ''],
  ]));
  process.stdout.write('\nratio vs raw = raw time / Enclave time (1.00 = as fast as the raw tools; above 1 = faster)\n');
} finally {
  await s3.close();
  await p.close();
}
