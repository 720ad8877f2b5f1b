/**
 * DuckDB glue: write a query's result as encrypted Parquet without plaintext on disk, and read
 * encrypted Parquet back.
 *
 * DuckDB 1.5 reads PME-encrypted Parquet but refuses to write it without httpfs's crypto, so it
 * writes plain Parquet into a named pipe (FIFO) in a private 0700 directory and the transcoder
 * encrypts the stream: the plain bytes only ever live in the kernel's pipe buffer.
 */
import { execFile } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, unlink } from 'node:fs/promises';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
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
  const options = [
    'FORMAT parquet',
    `COMPRESSION ${opts.compression ?? 'zstd'}`,
    ...(rowGroupSize === undefined ? [] : [`ROW_GROUP_SIZE ${rowGroupSize}`]),
  ];
  const { result, copyError } = await copyThroughFifo(conn, sql, options, opts.tmpDir, (sock) => consume(sock, encPath, key));
  if (copyError !== undefined) {
    if (typeof result === 'object') await unlink(encPath).catch(() => undefined);
    throw new AppError('invalid', 'DuckDB could not write the query result as Parquet', { cause: copyError });
  }
  if (typeof result !== 'object') throw new AppError('internal', 'DuckDB wrote nothing into the pipe');
  return result;
}

/**
 * Runs `COPY (sql) TO <fifo> (FORMAT parquet)` and returns the plain Parquet file as bytes in
 * memory: for a consumer that must hand the plain file on (an upload the object store encrypts,
 * SSE-C), without the plaintext ever written to a disk. Holds the whole file in memory.
 */
export async function copyQueryToParquetBytes(conn: SqlRunner, sql: string, opts: Pick<CopyOptions, 'compression' | 'tmpDir'> = {}): Promise<Buffer> {
  const options = ['FORMAT parquet', `COMPRESSION ${opts.compression ?? 'zstd'}`];
  const { result, copyError } = await copyThroughFifo(conn, sql, options, opts.tmpDir, async (sock) => {
    const chunks: Buffer[] = [];
    try {
      for await (const c of sock as AsyncIterable<Buffer>) chunks.push(c);
    } finally {
      sock.destroy();
    }
    return Buffer.concat(chunks);
  });
  if (copyError !== undefined) throw new AppError('invalid', 'DuckDB could not write the query result as Parquet', { cause: copyError });
  if (result.length === 0) throw new AppError('internal', 'DuckDB wrote nothing into the pipe');
  return result;
}

/**
 * The pipe both copies use: a FIFO (0600 in a private 0700 directory) that DuckDB's COPY writes
 * and `read` consumes at the same time. A COPY error is returned beside what was read (the
 * caller decides what a partial result means); a reader error is thrown.
 */
async function copyThroughFifo<T>(conn: SqlRunner, sql: string, options: readonly string[], tmpDir: string | undefined, read: (sock: Socket) => Promise<T>): Promise<{ result: T; copyError: unknown }> {
  const dir = await mkdtemp(join(tmpDir ?? tmpdir(), 'enclave-pq-'));
  try {
    const fifo = join(dir, 'plain.parquet');
    // mkdtemp creates the directory 0700; the FIFO itself is 0600.
    await execFileAsync('mkfifo', ['-m', '600', fifo]);
    // The pipe is read through the event loop (epoll), not by blocking reads in libuv's thread
    // pool: DuckDB's writer stalls whenever the 64 KiB pipe is full, so the reader must wake at
    // once. A spare write end of ours keeps the reader from seeing end of stream before DuckDB
    // has opened the pipe; it is closed when the COPY is over.
    const rfd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    let spare: number | undefined;
    let sock: Socket;
    try {
      spare = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
      sock = new Socket({ fd: rfd, readable: true, writable: false });
    } catch (e) {
      if (spare !== undefined) closeSync(spare);
      closeSync(rfd);
      throw e;
    }
    const reading = read(sock);
    reading.catch(() => undefined); // awaited below; avoids an unhandled rejection meanwhile
    let copyError: unknown;
    try {
      // DuckDB would otherwise write next to the target and rename, defeating the pipe.
      await conn.run(`COPY (${sql}) TO ${sqlString(fifo)} (${[...options, 'USE_TMP_FILE false'].join(', ')})`);
    } catch (e) {
      copyError = e;
    } finally {
      closeSync(spare);
    }
    try {
      return { result: await reading, copyError };
    } catch (e) {
      if (copyError !== undefined) throw new AppError('invalid', 'DuckDB could not write the query result as Parquet', { cause: copyError });
      throw e;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What a partitioned copy wrote for one partition value. */
export interface PartitionWritten {
  /** Rows DuckDB wrote into the partition (its RETURN_STATS count). */
  readonly rows: number;
  /** The encrypted file, or undefined when the partition was discarded. */
  readonly file?: EncryptResult;
}

/**
 * One FIFO per partition value, in a private 0700 directory laid out the way DuckDB's
 * `PARTITION_BY` writes (`<col>=<value>/data_0.parquet`), so that a partitioned `COPY` streams
 * every partition into the transcoder without plaintext on disk. Partition values are integers
 * fixed in advance; the query must map every row to one of them (DuckDB would otherwise create
 * a regular file, which `copy` deletes and reports as an error). Open once, reuse for many
 * copies on one connection at a time, close at the end.
 */
export class PartitionPipes {
  private readonly dir: string;
  private readonly column: string;
  private readonly values: readonly number[];

  private constructor(dir: string, column: string, values: readonly number[]) {
    this.dir = dir;
    this.column = column;
    this.values = values;
  }

  static async open(column: string, values: readonly number[], tmpDir?: string): Promise<PartitionPipes> {
    const [pipes] = await PartitionPipes.openSets(column, [values], tmpDir);
    if (pipes === undefined) throw new AppError('internal', 'no pipes were made');
    return pipes;
  }

  /**
   * Several independent sets of pipes (one per value list, each in its own 0700 directory) made
   * by a single `mkfifo` process: starting a process costs more than the pipes themselves.
   */
  static async openSets(column: string, sets: ReadonlyArray<readonly number[]>, tmpDir?: string): Promise<PartitionPipes[]> {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(column)) throw new AppError('invalid', 'partition column must be an identifier');
    for (const values of sets) {
      if (values.length === 0 || values.some((v) => !Number.isSafeInteger(v)) || new Set(values).size !== values.length) {
        throw new AppError('invalid', 'partition values must be distinct integers');
      }
    }
    const made: PartitionPipes[] = [];
    try {
      for (const values of sets) {
        const pipes = new PartitionPipes(await mkdtemp(join(tmpDir ?? tmpdir(), 'enclave-pq-')), column, values);
        made.push(pipes);
        for (const v of values) await mkdir(pipes.partitionDir(v), { mode: 0o700 });
      }
      // One process for every FIFO (mkfifo takes many paths); each is 0600 inside a 0700 directory.
      const fifos = made.flatMap((p) => p.values.map((v) => p.fifo(v)));
      if (fifos.length > 0) await execFileAsync('mkfifo', ['-m', '600', ...fifos]);
    } catch (e) {
      for (const p of made) await p.close();
      throw e;
    }
    return made;
  }

  private partitionDir(v: number): string {
    return join(this.dir, `${this.column}=${v}`);
  }

  private fifo(v: number): string {
    return join(this.partitionDir(v), 'data_0.parquet');
  }

  /**
   * Runs `COPY (sql) TO … (PARTITION_BY (column))` and encrypts each non-empty partition into
   * `pathOf(value)` (undefined: read and dropped, e.g. rejected rows). Returns what each
   * non-empty partition received. On any failure no output file is left behind.
   */
  async copy(conn: SqlRunner & { all<T extends object>(sql: string): Promise<T[]> }, sql: string, pathOf: (value: number) => string | undefined, key: Uint8Array): Promise<Map<number, PartitionWritten>> {
    assertDataKey(key);
    const paths = this.values.map(pathOf);
    // Every FIFO gets a reader (so DuckDB's open never blocks) and a spare writer of ours (so a
    // reader sees end of stream only when we say the copy is over, not between DuckDB's opens).
    const spare: number[] = [];
    const readers: Array<Promise<EncryptResult | 'dropped' | undefined>> = [];
    const sockets: Socket[] = [];
    try {
      for (const v of this.values) {
        const rfd = openSync(this.fifo(v), constants.O_RDONLY | constants.O_NONBLOCK);
        spare.push(openSync(this.fifo(v), constants.O_WRONLY | constants.O_NONBLOCK));
        const sock = new Socket({ fd: rfd, readable: true, writable: false });
        sockets.push(sock);
        const p = consume(sock, paths[readers.length], key);
        p.catch(() => undefined);
        readers.push(p);
      }
    } catch (e) {
      for (const fd of spare) closeSync(fd);
      for (const s of sockets) s.destroy();
      throw e;
    }
    // ZSTD level 1: within 3 % of the default level's size, for less CPU.
    const options = ['FORMAT parquet', 'COMPRESSION zstd', 'COMPRESSION_LEVEL 1', `PARTITION_BY (${this.column})`, 'OVERWRITE_OR_IGNORE', `FILENAME_PATTERN 'data_{i}'`, 'RETURN_STATS'];
    let stats: Array<{ filename: string; count: bigint | number }> = [];
    let copyError: unknown;
    try {
      stats = await conn.all<{ filename: string; count: bigint | number }>(`COPY (${sql}) TO ${sqlString(this.dir)} (${options.join(', ')})`);
    } catch (e) {
      copyError = e;
    } finally {
      for (const fd of spare) closeSync(fd);
    }
    const settled = await Promise.allSettled(readers);
    const results = new Map<number, PartitionWritten>();
    const byPath = new Map(this.values.map((v) => [this.fifo(v), v]));
    let stray: string | undefined;
    for (const s of stats) {
      const v = byPath.get(s.filename);
      if (v === undefined) {
        stray = s.filename;
        await unlink(s.filename).catch(() => undefined);
        continue;
      }
      results.set(v, { rows: Number(s.count) });
    }
    const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    const failure: unknown = copyError ?? (stray === undefined ? (rejected?.reason as unknown) : undefined);
    if (failure !== undefined || stray !== undefined) {
      for (const [i, r] of settled.entries()) {
        const path = paths[i];
        if (r.status === 'fulfilled' && typeof r.value === 'object' && path !== undefined) await unlink(path).catch(() => undefined);
      }
      if (stray !== undefined) throw new AppError('internal', 'DuckDB wrote a partition outside the prepared pipes; it was deleted', { hint: 'every row must map to a prepared partition value' });
      if (copyError !== undefined) throw new AppError('invalid', 'DuckDB could not write the query result as Parquet', { cause: copyError });
      throw failure;
    }
    for (const [i, r] of settled.entries()) {
      const v = this.values[i] as number;
      if (r.status !== 'fulfilled' || r.value === undefined) continue;
      const got = results.get(v);
      if (got === undefined) throw new AppError('internal', `partition ${v} has bytes but no row count`);
      if (r.value !== 'dropped') results.set(v, { rows: got.rows, file: r.value });
    }
    return results;
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** `PartitionPipes.openSets` as a plain function (the ingestion port). */
export function openPartitionPipes(column: string, sets: ReadonlyArray<readonly number[]>, tmpDir?: string): Promise<PartitionPipes[]> {
  return PartitionPipes.openSets(column, sets, tmpDir);
}

/** Reads one partition's pipe: nothing (never opened by DuckDB), dropped, or encrypted to `path`. */
async function consume(sock: Socket, path: string | undefined, key: Uint8Array): Promise<EncryptResult | 'dropped' | undefined> {
  const it = (sock as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) return undefined;
  if (path === undefined) {
    for (let n = await it.next(); n.done !== true; n = await it.next()) { /* drained */ }
    return 'dropped';
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield first.value as Buffer;
    for (let n = await it.next(); n.done !== true; n = await it.next()) yield n.value;
  }
  try {
    await mkdir(dirname(path), { recursive: true });
    return await encryptParquetStream(all(), path, key);
  } finally {
    sock.destroy();
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
