/**
 * Parquet encryption at rest (Parquet Modular Encryption, AES-256-GCM, encrypted footer),
 * written with node's crypto and read by DuckDB. See docs/encryption-at-rest.md.
 */
export { encryptParquetFile } from './file.ts';
export { encryptParquetStream, KEY_BYTES, type EncryptResult } from './encrypt.ts';
export {
  copyQueryToEncryptedParquet,
  copyQueryToParquetBytes,
  PartitionPipes,
  openPartitionPipes,
  type PartitionWritten,
  duckdbReadOptions,
  readEncryptedParquet,
  registerParquetKey,
  writeEncryptedParquet,
  type CopyOptions,
  type SqlRunner,
} from './duckdb.ts';
