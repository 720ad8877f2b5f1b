import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { AppError } from '../errors.ts';
import {
  PartitionPipes,
  copyQueryToEncryptedParquet,
  copyQueryToParquetBytes,
  encryptParquetFile,
  encryptParquetStream,
  readEncryptedParquet,
  registerParquetKey,
} from './index.ts';

const MARKER = 'ZEBRA-MARKER-7731';

/** Several types, NULLs, a dictionary-friendly and a high-cardinality string, many row groups. */
function tableSql(rows: number): string {
  return `SELECT
    i::INTEGER AS id,
    (i * 7919)::BIGINT * 1000003 AS big,
    i / 3.0 AS dbl,
    CASE WHEN i % 5 = 0 THEN NULL ELSE 'cat_' || (i % 13) END AS dict_str,
    CASE WHEN i % 1000 = 1 THEN '${MARKER}' ELSE md5(i::VARCHAR) END AS plain_str,
    DATE '2015-01-01' + (i % 3650)::INTEGER AS d,
    TIMESTAMP '2020-01-01' + to_seconds(i) AS ts,
    i % 2 = 0 AS flag
  FROM range(${rows}) t(i)`;
}

/** Order-independent fingerprint of every column. */
function fingerprintSql(from: string): string {
  return `SELECT count(*)::VARCHAR || '|' || sum(id)::VARCHAR || '|' || sum(big)::VARCHAR || '|' ||
    round(sum(dbl), 3)::VARCHAR || '|' || count(dict_str)::VARCHAR || '|' ||
    bit_xor(hash(id, big, dbl, dict_str, plain_str, d, ts, flag))::VARCHAR AS fp FROM ${from}`;
}

let dir: string;
let inst: DuckDBInstance;
let conn: DuckDBConnection;
const key = randomBytes(32);

async function one(sql: string): Promise<unknown> {
  const rows = (await conn.runAndReadAll(sql)).getRows();
  return rows[0]?.[0];
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pq-crypto-test-'));
  inst = await DuckDBInstance.create(':memory:');
  conn = await inst.connect();
  await registerParquetKey(conn, 'k', key);
  await conn.run(`CREATE TABLE t AS ${tableSql(300_000)}`);
  await conn.run(`COPY t TO '${join(dir, 'plain.parquet')}' (FORMAT parquet, ROW_GROUP_SIZE 50000)`);
});

after(async () => {
  conn.closeSync();
  await rm(dir, { recursive: true, force: true });
});

describe('encryptParquetFile', () => {
  test('DuckDB reads back exactly the rows of the plain file', async () => {
    const enc = join(dir, 'f1.parquet');
    const r = await encryptParquetFile(join(dir, 'plain.parquet'), enc, key);
    assert.equal(r.bytes, (await readFile(enc)).length);
    assert.equal(await one(fingerprintSql(readEncryptedParquet(enc, 'k'))), await one(fingerprintSql('t')));
  });

  test('filtered reads and projections work on the encrypted file', async () => {
    const enc = join(dir, 'f2.parquet');
    await encryptParquetFile(join(dir, 'plain.parquet'), enc, key);
    const from = readEncryptedParquet(enc, 'k');
    assert.equal(await one(`SELECT count(*) FROM ${from} WHERE dict_str = 'cat_3'`), await one(`SELECT count(*) FROM t WHERE dict_str = 'cat_3'`));
    assert.equal(await one(`SELECT count(*) FROM ${from} WHERE plain_str = '${MARKER}'`), 300n);
    assert.equal(await one(`SELECT max(ts)::VARCHAR FROM ${from} WHERE id BETWEEN 10 AND 20000`), await one(`SELECT max(ts)::VARCHAR FROM t WHERE id BETWEEN 10 AND 20000`));
  });

  test('no plaintext value appears in the encrypted bytes', async () => {
    const enc = join(dir, 'f3.parquet');
    await encryptParquetFile(join(dir, 'plain.parquet'), enc, key);
    const plainBytes = await readFile(join(dir, 'plain.parquet'));
    const bytes = await readFile(enc);
    assert.ok(plainBytes.includes(MARKER), 'the marker is visible in the plain file');
    for (const needle of [MARKER, 'cat_1', 'dict_str', 'plain_str', 'DuckDB', 'PAR1']) {
      assert.equal(bytes.includes(needle), false, needle);
    }
    assert.equal(bytes.subarray(0, 4).toString(), 'PARE');
    assert.equal(bytes.subarray(bytes.length - 4).toString(), 'PARE');
  });

  test('two encryptions of the same input differ (fresh nonces) and hashes match the bytes', async () => {
    const a = join(dir, 'f4a.parquet');
    const b = join(dir, 'f4b.parquet');
    const ra = await encryptParquetFile(join(dir, 'plain.parquet'), a, key);
    const rb = await encryptParquetFile(join(dir, 'plain.parquet'), b, key);
    assert.equal(ra.bytes, rb.bytes);
    assert.notEqual(ra.sha256, rb.sha256);
    const { createHash } = await import('node:crypto');
    assert.equal(createHash('sha256').update(await readFile(a)).digest('hex'), ra.sha256);
  });

  test('reading with the wrong key fails', async () => {
    const enc = join(dir, 'f5.parquet');
    await encryptParquetFile(join(dir, 'plain.parquet'), enc, key);
    await registerParquetKey(conn, 'wrong', randomBytes(32));
    await assert.rejects(one(`SELECT count(*) FROM ${readEncryptedParquet(enc, 'wrong')}`));
  });

  test('reading without a key fails', async () => {
    const enc = join(dir, 'f6.parquet');
    await encryptParquetFile(join(dir, 'plain.parquet'), enc, key);
    await assert.rejects(one(`SELECT count(*) FROM read_parquet('${enc}')`), /encrypted/);
  });

  test('a flipped byte anywhere in a page or the footer makes the read fail', async () => {
    const src = join(dir, 'small-plain.parquet');
    await conn.run(`COPY (SELECT * FROM t LIMIT 20000) TO '${src}' (FORMAT parquet, ROW_GROUP_SIZE 5000)`);
    const enc = join(dir, 'f7.parquet');
    await encryptParquetFile(src, enc, key);
    const good = await readFile(enc);
    const footerLen = good.readUInt32LE(good.length - 8);
    const footerStart = good.length - 8 - footerLen;
    // First page header, inside the first page body, the last page, the encrypted footer, its tag.
    const positions = [4 + 4, 4 + 4 + 12 + 2, 200, Math.floor(footerStart / 2), footerStart - 3, footerStart + 20, good.length - 9];
    for (const pos of positions) {
      const bad = Buffer.from(good);
      bad[pos] = (bad[pos] as number) ^ 0x01;
      const path = join(dir, `flip-${pos}.parquet`);
      await writeFile(path, bad);
      await assert.rejects(one(fingerprintSql(readEncryptedParquet(path, 'k'))), `flip at ${pos}`);
    }
  });

  test('a key that is not 32 bytes is refused', async () => {
    await assert.rejects(encryptParquetFile(join(dir, 'plain.parquet'), join(dir, 'x.parquet'), randomBytes(16)), (e) => e instanceof AppError && e.code === 'invalid');
  });

  test('input that is not Parquet is refused and leaves no file behind', async () => {
    const junk = join(dir, 'junk.bin');
    await writeFile(junk, randomBytes(1000));
    const out = join(dir, 'junk.parquet');
    await assert.rejects(encryptParquetFile(junk, out, key), (e) => e instanceof AppError && e.code === 'invalid');
    assert.equal(existsSync(out), false);
    assert.equal(existsSync(`${out}.tmp`), false);
  });

  test('a truncated Parquet input is refused', async () => {
    const plain = await readFile(join(dir, 'plain.parquet'));
    const cut = join(dir, 'cut.parquet');
    await writeFile(cut, plain.subarray(0, plain.length - 100));
    await assert.rejects(encryptParquetFile(cut, join(dir, 'cut.enc.parquet'), key), AppError);
  });
});

describe('encryptParquetStream', () => {
  test('accepts any async iterable of chunks, however they are split', async () => {
    const plain = await readFile(join(dir, 'plain.parquet'));
    async function* tiny(): AsyncGenerator<Buffer> {
      for (let i = 0; i < plain.length; i += 777) yield plain.subarray(i, i + 777);
    }
    const enc = join(dir, 's1.parquet');
    await encryptParquetStream(tiny(), enc, key);
    assert.equal(await one(fingerprintSql(readEncryptedParquet(enc, 'k'))), await one(fingerprintSql('t')));
  });
});

describe('copyQueryToEncryptedParquet', () => {
  test('writes > 1 M rows through a FIFO; only the encrypted file reaches the disk', async () => {
    const out = join(dir, 'big');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(out);
    const fifoParent = join(dir, 'fifo-parent');
    await mkdir(fifoParent);
    const enc = join(out, 'big.parquet');
    const sql = tableSql(1_200_000);
    const r = await copyQueryToEncryptedParquet(conn, sql, enc, key, { rowGroupSize: 100_000, tmpDir: fifoParent });
    assert.ok(r.bytes > 0);
    assert.deepEqual(await readdir(out), ['big.parquet']);
    assert.deepEqual(await readdir(fifoParent), [], 'the FIFO directory is removed');
    assert.equal(await one(fingerprintSql(readEncryptedParquet(enc, 'k'))), await one(fingerprintSql(`(${sql})`)));
  });

  test('supports snappy pages', async () => {
    const enc = join(dir, 'snappy.parquet');
    await copyQueryToEncryptedParquet(conn, 'SELECT * FROM t', enc, key, { compression: 'snappy' });
    assert.equal(await one(fingerprintSql(readEncryptedParquet(enc, 'k'))), await one(fingerprintSql('t')));
  });

  // Repeated: DuckDB fails before opening the pipe, racing the reader's open() in libuv's thread
  // pool; a CI run once hung here when the write end was opened before the reader's open().
  test('a failing query is reported, does not hang, and leaves no file (200 times)', { timeout: 120_000 }, async () => {
    const enc = join(dir, 'fail.parquet');
    for (let i = 0; i < 200; i++) {
      await assert.rejects(copyQueryToEncryptedParquet(conn, 'SELECT * FROM no_such_table', enc, key), AppError);
      assert.equal(existsSync(enc), false);
      assert.equal(existsSync(`${enc}.tmp`), false);
    }
  });
});

describe('copyQueryToParquetBytes', () => {
  test('returns the plain Parquet file in memory; nothing reaches the disk, the FIFO folder is removed', async () => {
    const { mkdir } = await import('node:fs/promises');
    const fifoParent = join(dir, 'bytes-fifo-parent');
    await mkdir(fifoParent);
    const sql = tableSql(300_000);
    const bytes = await copyQueryToParquetBytes(conn, sql, { tmpDir: fifoParent, compression: 'snappy' });
    assert.equal(bytes.subarray(0, 4).toString(), 'PAR1');
    assert.equal(bytes.subarray(-4).toString(), 'PAR1');
    assert.deepEqual(await readdir(fifoParent), [], 'no file and no FIFO left');
    // what DuckDB reads back from those bytes is the query's result
    const back = join(dir, 'bytes-back.parquet');
    await writeFile(back, bytes);
    assert.equal(await one(fingerprintSql(`read_parquet('${back}')`)), await one(fingerprintSql(`(${sql})`)));
  });

  test('a failing query is reported, does not hang, and leaves no FIFO (50 times)', { timeout: 120_000 }, async () => {
    const { mkdir } = await import('node:fs/promises');
    const fifoParent = join(dir, 'bytes-fail-parent');
    await mkdir(fifoParent);
    for (let i = 0; i < 50; i++) await assert.rejects(copyQueryToParquetBytes(conn, 'SELECT * FROM no_such_table', { tmpDir: fifoParent }), AppError);
    assert.deepEqual(await readdir(fifoParent), []);
  });
});

describe('PartitionPipes', () => {
  const runner = {
    run: (sql: string) => conn.run(sql),
    all: async <T extends object>(sql: string): Promise<T[]> => (await conn.runAndReadAll(sql)).getRowObjects() as unknown as T[],
  };
  /** Every entry under `root` that is neither a directory nor a FIFO (plaintext would be one). */
  const regularFiles = (root: string): string[] => {
    const out: string[] = [];
    for (const e of readdirSync(root, { recursive: true, withFileTypes: true })) {
      const st = lstatSync(join(e.parentPath, e.name));
      if (!st.isDirectory() && !st.isFIFO()) out.push(join(e.parentPath, e.name));
    }
    return out;
  };
  const source = `SELECT *, CASE WHEN id % 10 = 0 THEN -1 WHEN id % 3 = 0 THEN 2019 ELSE 2020 END AS p FROM (${tableSql(300_000)})`;

  test('streams each partition into its own encrypted file, counts a dropped one, and reuses its pipes', async () => {
    const parent = join(dir, 'pipes-1');
    const out = join(dir, 'parts-1');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(parent);
    const pipes = await PartitionPipes.open('p', [-1, 0, 2019, 2020, 2021], parent);
    const got = await pipes.copy(runner, source, (v) => (v < 0 ? undefined : join(out, `year=${v}`, 'f.parquet')), key);
    assert.deepEqual([...got.keys()].sort(), [-1, 2019, 2020]);
    assert.equal(got.get(-1)?.rows, 30_000);
    assert.equal(got.get(-1)?.file, undefined, 'the dropped partition has no file');
    assert.deepEqual((await readdir(out)).sort(), ['year=2019', 'year=2020']);
    for (const y of [2019, 2020]) {
      const enc = join(out, `year=${y}`, 'f.parquet');
      assert.equal(got.get(y)?.file?.bytes, (await readFile(enc)).length);
      assert.equal(await one(`SELECT count(*) FROM ${readEncryptedParquet(enc, 'k')}`), BigInt(got.get(y)?.rows ?? -1));
      assert.equal(await one(fingerprintSql(readEncryptedParquet(enc, 'k'))), await one(fingerprintSql(`(SELECT * EXCLUDE (p) FROM (${source}) WHERE p = ${y})`)));
    }
    assert.deepEqual(regularFiles(parent), [], 'only FIFOs and directories: no plaintext on disk');
    // The same pipes carry a second copy.
    const again = await pipes.copy(runner, 'SELECT 1 AS a, 0 AS p', (v) => join(out, `year=${v}`, 'g.parquet'), key);
    assert.equal(again.get(0)?.rows, 1);
    assert.equal(await one(`SELECT sum(a) FROM ${readEncryptedParquet(join(out, 'year=0', 'g.parquet'), 'k')}`), 1n);
    await pipes.close();
    assert.deepEqual(await readdir(parent), [], 'the pipes directory is removed');
  });

  test('a row outside the prepared values fails the copy and leaves no file, plaintext or encrypted', async () => {
    const parent = join(dir, 'pipes-2');
    const out = join(dir, 'parts-2');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(parent);
    const pipes = await PartitionPipes.open('p', [-1, 2020], parent);
    await assert.rejects(pipes.copy(runner, source, (v) => join(out, `year=${v}`, 'f.parquet'), key), (e) => e instanceof AppError && e.code === 'internal');
    assert.deepEqual(regularFiles(parent), [], 'the stray plaintext partition was deleted');
    assert.deepEqual(existsSync(out) ? regularFiles(out) : [], []);
    await pipes.close();
  });

  test('a query failing mid-stream leaves no file and the pipes stay usable', async () => {
    const parent = join(dir, 'pipes-3');
    const out = join(dir, 'parts-3');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(parent);
    const pipes = await PartitionPipes.open('p', [-1, 0, 2019, 2020], parent);
    const failing = `SELECT * EXCLUDE (p), CASE WHEN id = 250000 THEN error('boom') ELSE p END AS p FROM (${source})`;
    await assert.rejects(pipes.copy(runner, failing, (v) => join(out, `year=${v}`, 'f.parquet'), key), AppError);
    assert.deepEqual(existsSync(out) ? regularFiles(out) : [], []);
    assert.deepEqual(regularFiles(parent), []);
    const ok = await pipes.copy(runner, source, (v) => join(out, `year=${v}`, 'f.parquet'), key);
    assert.equal(ok.get(2019)?.rows, 90_000);
    await pipes.close();
  });
});
