import { createReadStream } from 'node:fs';
import { encryptParquetStream, type EncryptResult } from './encrypt.ts';

/**
 * Encrypts an existing plain Parquet file into `encPath`. Prefer `copyQueryToEncryptedParquet`,
 * which never puts the plain file on disk; use this for files that already exist (deliveries).
 */
export function encryptParquetFile(plainPath: string, encPath: string, key: Uint8Array): Promise<EncryptResult> {
  return encryptParquetStream(createReadStream(plainPath, { highWaterMark: 1024 * 1024 }), encPath, key);
}
