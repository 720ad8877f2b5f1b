/**
 * Copy + verify throughput, local → local and local → S3 (s3rver on loopback), as a ratio
 * against `cp` followed by `sha256sum` on the same files in the same run.
 *
 *   node bench/migrate.ts                 64 files of 16 MB (override: BENCH_MIGRATE_MB=4096 for several GB)
 *
 * The files are random bytes (like encrypted Parquet: incompressible); copy and verify go
 * through the same code as `enclave migrate run` / `verify` (stream, SHA-256 in the stream, read back).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyObject, hashObject } from '../src/migrate/index.ts';
import { LocalStore, type Store } from '../src/store/index.ts';
import { formatTable } from '../src/cli/table.ts';
import { startS3Server } from '../test/helpers/s3.ts';

const totalMb = Number(process.env['BENCH_MIGRATE_MB'] ?? 1024);
const fileMb = 16;
const files = Math.max(1, Math.round(totalMb / fileMb));
const dir = await mkdtemp(join(tmpdir(), 'enclave-bench-migrate-'));
const s3 = await startS3Server(['bench']);
try {
  const src = new LocalStore(join(dir, 'src'));
  const keys: Array<{ key: string; sha256: string; bytes: number }> = [];
  await mkdir(join(dir, 'src', 'd'), { recursive: true });
  for (let i = 0; i < files; i++) {
    const key = `d/f${String(i).padStart(4, '0')}.bin`;
    await writeFile(src.localPath(key), randomBytes(fileMb * 1024 * 1024));
    keys.push({ key, ...(await hashObject(src, key)) });
  }
  const bytes = keys.reduce((s, k) => s + k.bytes, 0);

  // Raw tools: cp then sha256sum of the copies.
  await mkdir(join(dir, 'raw'), { recursive: true });
  let t = performance.now();
  execFileSync('cp', ['-r', join(dir, 'src', 'd'), join(dir, 'raw', 'd')]);
  execFileSync('sh', ['-c', `sha256sum ${join(dir, 'raw', 'd')}/* > /dev/null`]);
  const rawSecs = (performance.now() - t) / 1000;

  const run = async (to: Store, concurrency = 4): Promise<number> => {
    const t0 = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let k = keys[next++]; k !== undefined; k = keys[next++]) {
        await copyObject(src, to, k.key, k.key, k);
        const back = await hashObject(to, k.key);
        if (back.sha256 !== k.sha256) throw new Error(`verify failed for ${k.key}`);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return (performance.now() - t0) / 1000;
  };
  t = performance.now();
  const localSecs = await run(new LocalStore(join(dir, 'dst')));
  const s3Secs = await run(s3.store('bench', { partSize: 8 * 1024 * 1024 }));
  const mb = bytes / 1e6;
  process.stdout.write(`\nEnclave migration benchmark: ${files} files, ${mb.toFixed(0)} MB\n\n`);
  process.stdout.write(formatTable(['measure', 'seconds', 'MB/s', 'ratio vs raw'], [
    ['cp + sha256sum (raw)', rawSecs.toFixed(2), (mb / rawSecs).toFixed(0), '1.00'],
    ['copy + verify local → local', localSecs.toFixed(2), (mb / localSecs).toFixed(0), (rawSecs / localSecs).toFixed(2)],
    ['copy + verify local → S3 (s3rver, loopback)', s3Secs.toFixed(2), (mb / s3Secs).toFixed(0), (rawSecs / s3Secs).toFixed(2)],
  ]));
  process.stdout.write('\nratio vs raw = raw time / Enclave time (1.00 = as fast as cp + sha256sum); verify re-reads the target like `enclave migrate verify`\n');
} finally {
  await s3.close();
  await rm(dir, { recursive: true, force: true });
}
