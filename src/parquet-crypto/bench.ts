/**
 * DuckDB read cost of encrypted vs plain Parquet, and transcoder throughput.
 * Run: node src/parquet-crypto/bench.ts [rows]   (default 5 000 000)
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { encryptParquetFile, readEncryptedParquet, registerParquetKey } from './index.ts';

const rows = Number(process.argv[2] ?? 5_000_000);
const dir = await mkdtemp(join(tmpdir(), 'pq-crypto-bench-'));
try {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  const key = randomBytes(32);
  await registerParquetKey(conn, 'bench', key);
  const plain = join(dir, 'plain.parquet');
  const enc = join(dir, 'enc.parquet');
  await conn.run(`COPY (SELECT i::BIGINT AS id, (i % 97)::INTEGER AS code, i / 7.0 AS amount,
      'cat_' || (i % 50) AS category, md5(i::VARCHAR) AS token, DATE '2015-01-01' + (i % 3650)::INTEGER AS d
    FROM range(${rows}) t(i)) TO '${plain}' (FORMAT parquet, COMPRESSION zstd)`);
  const size = (await stat(plain)).size;

  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await encryptParquetFile(plain, enc, key);
    best = Math.min(best, performance.now() - t);
  }
  console.log(`rows ${rows}, plain file ${(size / 1e6).toFixed(1)} MB`);
  console.log(`encrypt (transcode + SHA-256 + fsync): ${best.toFixed(0)} ms, ${(size / 1e6 / (best / 1000)).toFixed(0)} MB/s`);

  const q = (from: string): string =>
    `SELECT count(*), sum(id), sum(amount), count(DISTINCT category), max(token), min(d) FROM ${from}`;
  async function time(sql: string): Promise<number> {
    await conn.run(sql); // warm
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await conn.run(sql);
      samples.push(performance.now() - t);
    }
    samples.sort((a, b) => a - b);
    return samples[2] as number;
  }
  const tPlain = await time(q(`read_parquet('${plain}')`));
  const tEnc = await time(q(readEncryptedParquet(enc, 'bench')));
  console.log(`DuckDB full scan: plain ${tPlain.toFixed(0)} ms, encrypted ${tEnc.toFixed(0)} ms, ratio ${(tEnc / tPlain).toFixed(2)}`);
  const f = (from: string): string => `SELECT count(*), sum(amount) FROM ${from} WHERE code = 42`;
  const fPlain = await time(f(`read_parquet('${plain}')`));
  const fEnc = await time(f(readEncryptedParquet(enc, 'bench')));
  console.log(`DuckDB filtered scan: plain ${fPlain.toFixed(0)} ms, encrypted ${fEnc.toFixed(0)} ms, ratio ${(fEnc / fPlain).toFixed(2)}`);
  conn.closeSync();
} finally {
  await rm(dir, { recursive: true, force: true });
}
