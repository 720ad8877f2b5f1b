/**
 * Trino catalogs over an S3-compatible object store with SSE-C (docs/encryption-at-rest-trino.md):
 * one catalog per key, created at run time with Trino's dynamic catalog management
 * (`catalog.management=dynamic` on the coordinator), its SSE-C key given in the catalog's
 * properties, dropped when its data must no longer be read (a project closing: with its key
 * destroyed in the key service, the objects written under it are unreadable by anyone).
 *
 * The SSE-C key is derived from a key of Enclave's key service (HKDF-SHA256, its own label), so
 * the key the store sees in flight is never the key used elsewhere (the dataset's Parquet
 * Modular Encryption key, the project's key), and destroying the source key destroys it.
 */
import { createHash, hkdfSync } from 'node:crypto';
import { AppError } from '../../errors.ts';
import { TrinoClient, TrinoQueryError } from './client.ts';
import { ADMIN_USER } from './rules.ts';

export interface TrinoS3Store {
  /** The S3 endpoint Trino reaches (TLS in production). */
  readonly endpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /**
   * CA certificates (PEM) this server trusts for the endpoint's TLS, besides the system's
   * (ENCLAVE_TRINO_S3_CA_FILE); Trino trusts them through its JVM truststore (docs/deploy/trino.md).
   */
  readonly ca?: string;
}

const CATALOG = /^[a-z_][a-z0-9_]{0,62}$/;

/** The SSE-C key (32 bytes) of a key-service key, for one use (`label`, e.g. `dataset snds`). */
export function sseCKeyOf(source: Uint8Array, label: string): Buffer {
  if (source.length < 32) throw new Error('an SSE-C key is derived from a 256-bit key');
  return Buffer.from(hkdfSync('sha256', source, Buffer.from('enclave-trino-sse-c/1'), Buffer.from(label), 32));
}

/** The headers' base64 key and MD5, as S3 and the AWS SDKs take them. */
export function sseCHeaders(key: Uint8Array): { readonly key: string; readonly md5: string } {
  return { key: Buffer.from(key).toString('base64'), md5: createHash('md5').update(key).digest('base64') };
}

function str(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * The `CREATE CATALOG` statement of a Hive catalog whose data lives in `s3://bucket/…` under SSE-C
 * with `key`, its file metastore in `metastoreDir` (a location Trino can write: `local:///…` on
 * the development server, `s3://…` in a deployment).
 */
export function createS3CatalogSql(name: string, store: TrinoS3Store, key: Uint8Array, metastoreDir: string): string {
  if (!CATALOG.test(name)) throw new AppError('invalid', `${JSON.stringify(name)} is not a Trino catalog name`, { hint: 'lower-case letters, digits and _' });
  const props: Record<string, string> = {
    'hive.metastore': 'file',
    'hive.metastore.catalog.dir': metastoreDir,
    'hive.storage-format': 'PARQUET',
    'hive.non-managed-table-writes-enabled': 'false',
    'hive.security': 'allow-all',
    'fs.native-s3.enabled': 'true',
    ...(metastoreDir.startsWith('local://') ? { 'fs.native-local.enabled': 'true', 'local.location': '/' } : {}),
    's3.endpoint': store.endpoint,
    's3.region': store.region,
    's3.path-style-access': 'true',
    's3.aws-access-key': store.accessKeyId,
    's3.aws-secret-key': store.secretAccessKey,
    's3.sse.type': 'CUSTOMER',
    's3.sse.customer-key': sseCHeaders(key).key,
  };
  return `CREATE CATALOG ${name} USING hive WITH (${Object.entries(props).map(([k, v]) => `"${k}" = ${str(v)}`).join(', ')})`;
}

/** The catalogs the coordinator has. */
export async function trinoCatalogs(client: TrinoClient): Promise<string[]> {
  const r = await client.query('SHOW CATALOGS', { user: ADMIN_USER });
  return r.rows.map(([c]) => String(c));
}

/** Creates the catalog unless it exists (a catalog's properties cannot change: drop it first). */
export async function ensureS3Catalog(client: TrinoClient, name: string, store: TrinoS3Store, key: Uint8Array, metastoreDir: string): Promise<void> {
  if ((await trinoCatalogs(client)).includes(name)) return;
  try {
    await client.query(createS3CatalogSql(name, store, key, metastoreDir), { user: ADMIN_USER });
  } catch (e) {
    if (e instanceof TrinoQueryError && /already exists/i.test(e.error.message)) return;
    if (e instanceof TrinoQueryError && /not supported|dynamic/i.test(e.error.message)) {
      throw new AppError('unavailable', `Trino refused to create catalog ${name}: ${e.error.message}`, { hint: 'set catalog.management=dynamic in the coordinator\'s config.properties (docs/deploy/trino.md)', cause: e });
    }
    throw e;
  }
}

/** Drops the catalog (its key leaves the coordinator's and workers' memory); absent is fine. */
export async function dropCatalog(client: TrinoClient, name: string): Promise<void> {
  if (!CATALOG.test(name)) throw new AppError('invalid', `${JSON.stringify(name)} is not a Trino catalog name`);
  await client.query(`DROP CATALOG IF EXISTS ${name}`, { user: ADMIN_USER });
}
