/**
 * DuckDB glue: write a query's result as encrypted Parquet without plaintext on disk, and read
 * encrypted Parquet back.
 *
 * DuckDB 1.5 reads PME-encrypted Parquet but refuses to write it without httpfs's crypto, so it
 * writes plain Parquet into a named pipe (FIFO) in a private 0700 directory and the transcoder
 * encrypts the stream: the plain bytes only ever live in the kernel's pipe buffer.
 */
import { execFile } from 'node:child_process';
import { constants, createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppError } from '../errors.ts';
import { assertDataKey, encryptParquetStream, type EncryptResult } from './encrypt.ts';

const execFileAsync = promisify(execFile);

/** Anything that runs SQL on a DuckDB connection (a `DuckDBConnection`, an engine session). */
export interface SqlRunner {
  run(sql: string): Promise<unknown>;
}

export interface CopyOptions {
  /** Parquet codec DuckDB compresses pages with; pages are encrypted as they are. */
  readonly compression?: 'zstd' | 'snappy' | 'gzip' | 'lz4' | 'uncompressed';
  /** Rows per row group (DuckDB's ROW_GROUP_SIZE). */
  readonly rowGroupSize?: number;
  /** Directory for the FIFO's private directory (default: the OS temp directory). */
  readonly tmpDir?: string;
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function assertKeyName(name: string): void {
  if (!KEY_NAME.test(name)) {
    throw new AppError('invalid', 'Parquet key name must be an identifier (letters, digits, _)');
  }
}

/**
 * Runs `COPY (sql) TO <fifo> (FORMAT parquet)` and encrypts the stream into `encPath`.
 *
 * @example
 *   const { sha256 } = await copyQueryToEncryptedParquet(conn, 'SELECT * FROM er_prs_f', out, key);
 */
export async function copyQueryToEncryptedParquet(
  conn: SqlRunner,
  sql: string,
  encPath: string,
  key: Uint8Array,
  opts: CopyOptions = {},
): Promise<EncryptResult> {
  assertDataKey(key);
  const rowGroupSize = opts.rowGroupSize;
  if (rowGroupSize !== undefined && (!Number.isSafeInteger(rowGroupSize) || rowGroupSize <= 0)) {
    throw new AppError('invalid', 'rowGroupSize must be a positive integer');
  }
  const dir = await mkdtemp(join(opts.tmpDir ?? tmpdir(), 'enclave-pq-'));
  try {
    const fifo = join(dir, 'plain.parquet');
    // mkdtemp creates the directory 0700; the FIFO itself is 0600.
    await execFileAsync('mkfifo', ['-m', '600', fifo]);
    const options = [
      'FORMAT parquet',
      `COMPRESSION ${opts.compression ?? 'zstd'}`,
      // DuckDB would otherwise write next to the target and rename, defeating the pipe.
      'USE_TMP_FILE false',
      ...(rowGroupSize === undefined ? [] : [`ROW_GROUP_SIZE ${rowGroupSize}`]),
    ];
    // The reader opens first (open() on a FIFO blocks until both ends are there).
    const plain = createReadStream(fifo, { highWaterMark: 1024 * 1024 });
    const encrypting = encryptParquetStream(plain, encPath, key).catch((e: unknown) => {
      // Closing our end makes DuckDB's next write fail (EPIPE) instead of blocking forever.
      plain.destroy();
      throw e;
    });
    encrypting.catch(() => undefined); // awaited below; avoids an unhandled rejection meanwhile
    let readerDone = false;
    plain.once('close', () => {
      readerDone = true;
    });
    let copyError: unknown;
    try {
      await conn.run(`COPY (${sql}) TO ${sqlString(fifo)} (${options.join(', ')})`);
    } catch (e) {
      copyError = e;
      await releaseReader(fifo, () => readerDone);
    }
    try {
      const result = await encrypting;
      if (copyError !== undefined) throw copyError instanceof Error ? copyError : new Error('DuckDB COPY failed');
      return result;
    } catch (e) {
      if (copyError !== undefined) {
        throw new AppError('invalid', 'DuckDB could not write the query result as Parquet', { cause: copyError });
      }
      throw e;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * DuckDB failed, perhaps before opening the pipe: then the reader is blocked in open(), or about
 * to call it from libuv's thread pool. Open the write end and close it so the reader sees end of
 * stream. A non-blocking open fails with ENXIO while no reader has the pipe open yet, so it is
 * retried until it succeeds or the reader is known to be done (it saw DuckDB's own end of stream).
 */
async function releaseReader(fifo: string, readerDone: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 2000 && !readerDone(); attempt++) {
    try {
      const w = await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      await w.close();
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENXIO') return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/**
 * Registers `key` under `keyName` on this connection (`PRAGMA add_parquet_key`). The key lives
 * in the connection's memory only; it is passed as base64 and never logged.
 */
export async function registerParquetKey(conn: SqlRunner, keyName: string, key: Uint8Array): Promise<void> {
  assertKeyName(keyName);
  assertDataKey(key);
  await conn.run(`PRAGMA add_parquet_key(${sqlString(keyName)}, ${sqlString(Buffer.from(key).toString('base64'))})`);
}

/** The `encryption_config` argument for `read_parquet` with a registered key. */
export function duckdbReadOptions(keyName: string): string {
  assertKeyName(keyName);
  return `encryption_config = {footer_key: ${sqlString(keyName)}}`;
}

/**
 * A `read_parquet(...)` table expression over encrypted file(s).
 *
 * @example
 *   await registerParquetKey(conn, 'ds_snds', key);
 *   await conn.run(`SELECT count(*) FROM ${readEncryptedParquet('/data/x.parquet', 'ds_snds')}`);
 */
export function readEncryptedParquet(paths: string | readonly string[], keyName: string): string {
  const list = typeof paths === 'string' ? sqlString(paths) : `[${paths.map(sqlString).join(', ')}]`;
  return `read_parquet(${list}, ${duckdbReadOptions(keyName)})`;
}

/**
 * The ingestion writer: `SELECT` rows → encrypted Parquet at `path` (ZSTD pages), via the FIFO.
 * Matches ingest's `EncryptedParquetWriter` port.
 */
export function writeEncryptedParquet(session: SqlRunner, selectSql: string, path: string, key: Buffer): Promise<EncryptResult> {
  return copyQueryToEncryptedParquet(session, selectSql, path, key);
}
