/**
 * The DuckDB extract builder: runs a compiled extract table (`compile.ts`) on its own in-memory
 * DuckDB and writes the result as encrypted Parquet under the project key, through the
 * platform's transcoder (`src/parquet-crypto`): DuckDB writes plain Parquet into a FIFO in a
 * private 0700 directory and the stream is encrypted as it arrives, so no plaintext reaches disk.
 *
 * The instance never spills (`temp_directory = ''`): DuckDB would write decrypted pages in clear.
 * A table that needs more memory than the limit fails, and the extract build with it (audited).
 *
 * Keys: the dataset and project Parquet keys are registered on the connection
 * (`PRAGMA add_parquet_key`, which DuckDB cannot prepare); the HMAC pads are bound as
 * prepared-statement parameters. Errors never carry DuckDB's text (it can name files) nor keys.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { AppError, isAppError } from '../../errors.ts';
import { copyQueryToEncryptedParquet, registerParquetKey } from '../../parquet-crypto/index.ts';
import type { BuildTableInput, BuiltTable, ExtractBuilder } from '../extract-port.ts';
import { sqlString } from '../duckdb.ts';
import { compileTable, keyNameOf, REKEY_IPAD, REKEY_OPAD } from './compile.ts';

export interface DuckDbExtractBuilderOptions {
  readonly threads?: number | undefined;
  /** DuckDB memory limit, e.g. `2GB`. */
  readonly memoryLimit?: string | undefined;
  /** Directory for the FIFOs' private directories (default: the OS temp directory). */
  readonly tmpDir?: string;
}

const OUT_KEY = 'k_extract_out';
const HMAC_BLOCK = 64;

/** The neutral type name of a DuckDB column type (`ExtractColumn.type`). */
export function neutralType(duck: string): string {
  const t = duck.toUpperCase();
  if (/^DECIMAL\(\d+,\d+\)$/.test(t) || t === 'VARCHAR' || t === 'BIGINT' || t === 'DOUBLE' || t === 'DATE' || t === 'TIMESTAMP' || t === 'BOOLEAN') return t;
  if (t === 'INTEGER' || t === 'SMALLINT' || t === 'TINYINT' || t === 'UBIGINT' || t === 'UINTEGER' || t === 'USMALLINT' || t === 'UTINYINT' || t === 'HUGEINT') return 'BIGINT';
  if (t === 'FLOAT' || t === 'REAL') return 'DOUBLE';
  if (t.startsWith('TIMESTAMP')) return 'TIMESTAMP';
  return 'VARCHAR';
}

/** Sets the HMAC pads of `key` as session variables, bound as parameters (never in SQL text). */
async function setRekeyPads(conn: DuckDBConnection, key: Uint8Array): Promise<void> {
  if (key.length > HMAC_BLOCK || key.length < 16) throw new AppError('invalid', 'the pseudonymisation key must be 16 to 64 bytes');
  const k = Buffer.alloc(HMAC_BLOCK);
  Buffer.from(key).copy(k);
  const ipad = Buffer.from(k.map((b) => b ^ 0x36));
  const opad = Buffer.from(k.map((b) => b ^ 0x5c));
  try {
    for (const [name, pad] of [[REKEY_IPAD, ipad], [REKEY_OPAD, opad]] as const) {
      const p = await conn.prepare(`SET VARIABLE ${name} = $1::BLOB`);
      p.bindBlob(1, pad);
      await p.run();
    }
  } finally {
    k.fill(0);
    ipad.fill(0);
    opad.fill(0);
  }
}

/**
 * @example
 *   const builder = await openDuckDbExtractBuilder({ threads: 2 });
 *   const built = await builder.buildTable({ table, source, sourceKeys, rekeyKey, targetKey, target });
 */
export async function openDuckDbExtractBuilder(o: DuckDbExtractBuilderOptions = {}): Promise<ExtractBuilder> {
  const settings: Record<string, string> = {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    temp_directory: '',
  };
  if (o.threads !== undefined) settings['threads'] = String(o.threads);
  if (o.memoryLimit !== undefined) settings['memory_limit'] = o.memoryLimit;
  const instance = await DuckDBInstance.create(':memory:', settings);
  return {
    async buildTable(input: BuildTableInput): Promise<BuiltTable> {
      const compiled = compileTable(input.table, input.source, input.personSources);
      const sql = compiled.select;
      const conn = await instance.connect();
      let stage = 'keys';
      try {
        for (const [dataset, key] of input.sourceKeys) await registerParquetKey(conn, keyNameOf(dataset), key);
        await registerParquetKey(conn, OUT_KEY, input.targetKey);
        await setRekeyPads(conn, input.rekeyKey);
        stage = 'rekey';
        for (const st of compiled.prepare) await conn.run(st);
        stage = 'describe';
        const described = (await conn.runAndReadAll(`DESCRIBE ${sql}`)).getRowObjectsJS() as Array<{ column_name: string; column_type: string }>;
        stage = 'write';
        await mkdir(dirname(input.target), { recursive: true, mode: 0o700 });
        const written = await copyQueryToEncryptedParquet(conn, sql, input.target, input.targetKey, { compression: 'zstd', ...(o.tmpDir === undefined ? {} : { tmpDir: o.tmpDir }) });
        for (const st of compiled.cleanup) await conn.run(st);
        stage = 'count';
        // the footer's row count: read from the encrypted file's metadata, not a scan
        const counted = (await conn.runAndReadAll(`SELECT count(*) AS n FROM read_parquet(${sqlString(input.target)}, encryption_config = {footer_key: ${sqlString(OUT_KEY)}})`)).getRowObjectsJS() as Array<{ n: bigint }>;
        return {
          rows: Number(counted[0]?.n ?? 0),
          bytes: written.bytes,
          sha256: written.sha256,
          columns: described.map((c) => ({ name: c.column_name, type: neutralType(c.column_type) })),
        };
      } catch (e) {
        const cause = isAppError(e) ? e.cause : e;
        const message = cause instanceof Error ? cause.message : '';
        const memory = /out of memory|memory limit/i.test(message);
        // DuckDB's own text may name files: only its class is kept
        throw new AppError(memory ? 'invalid' : 'internal', `the engine could not build extract table ${input.table.name} (${stage}${memory ? ': more memory than the engine limit; the extract engine never spills to disk' : ''})`, {
          hint: memory ? 'raise ENCLAVE_ENGINE_MEMORY, or narrow the permit' : 'see the server log; the previous extract stays in use',
          details: { table: input.table.name, stage },
        });
      } finally {
        conn.closeSync();
      }
    },
    async close(): Promise<void> {
      instance.closeSync();
    },
  };
}
