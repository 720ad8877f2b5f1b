/**
 * A dataset version made readable by Trino, for development and CI: the version's encrypted
 * Parquet files (Parquet Modular Encryption, which Trino cannot read) are read with the dataset
 * key by DuckDB and written as plain Parquet into the `enclave` catalog's local warehouse
 * (`local.location`, ENCLAVE_TRINO_WAREHOUSE), one file per manifest file at the same relative
 * path (`<TABLE>/year=YYYY/<name>.parquet`), then registered (`registerDatasetVersion`), which
 * checks that Trino sees exactly these files and sizes.
 *
 * The warehouse then holds decrypted data at rest: acceptable on the one-node development server,
 * which holds synthetic data only, never in a deployment. In production the copy is the object
 * store's, encrypted by the store with SSE-C keys (docs/encryption-at-rest-trino.md): ingestion's
 * plain Parquet stream uploaded beside the PME version; that upload is not written yet
 * (docs/deploy/trino.md, "What remains").
 *
 * With `s3` (the object store Trino reads, SSE-C), the copy is uploaded there instead, each
 * object encrypted by the store with the dataset's SSE-C key (derived from the dataset key of the
 * key service, `sseCKeyOf`), and registered in the dataset's own catalog (`datasetCatalog`),
 * created with that key: nothing decrypted is left at rest on the shared store. Each file passes
 * decrypted through a FIFO (0600, in a 0700 folder) into this server's memory and is uploaded from
 * there: it is never written to a disk of this server either.
 *
 * The datasets domain calls `ensure` (through its `EngineVersionCopy` port) after checking every
 * source file's SHA-256 against the manifest.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { dirname, join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Engine } from '../port.ts';
import { copyQueryToParquetBytes } from '../../parquet-crypto/index.ts';
import { sqlString } from '../sql.ts';
import { TrinoClient } from './client.ts';
import { ensureS3Catalog, sseCHeaders, sseCKeyOf, type TrinoS3Store } from './catalogs.ts';
import { registerDatasetVersion, type TrinoDatasetTable } from './datasets.ts';
import { datasetSchema } from './extract-compile.ts';
import { unreachableAsAppError } from './extract.ts';

/** What the copy needs of a version (the datasets domain's `DatasetVersion`, structurally). */
export interface CopiedVersion {
  readonly dataset: string;
  readonly version: number;
  readonly manifest: { readonly merkleRoot: string; readonly files: readonly { readonly path: string; readonly table: string; readonly year: number }[] };
}

export interface TrinoDatasetCopyOptions {
  readonly url: string;
  readonly catalog?: string;
  /** The catalog's `local.location`: the directory Trino's `local://` URIs are under (development, plaintext). */
  readonly warehouse?: string;
  /**
   * The object store Trino reads with SSE-C: versions are uploaded under `prefix` of the bucket and
   * registered in `datasetCatalog(dataset)`, created with the dataset's SSE-C key; its file
   * metastore under `metastorePrefix`. Takes the place of `warehouse`.
   */
  readonly s3?: { readonly store: TrinoS3Store; readonly prefix: string; readonly metastorePrefix?: string };
  /** DuckDB, to read the encrypted files. */
  readonly engine: Engine;
  readonly headers?: Readonly<Record<string, string>>;
  /** Creates again a catalog lost by a coordinator restart (`catalog-keeper.ts`). */
  readonly onCatalogNotFound?: (catalog: string) => Promise<boolean>;
}

export interface TrinoDatasetCopy {
  /**
   * Writes the version's Trino-readable copy if the warehouse does not hold it already (same
   * Merkle root), and registers it on Trino. `files`: local paths of the manifest's files, in
   * manifest order; `withKey` lends the dataset's key.
   */
  ensure(v: CopiedVersion, files: readonly string[], withKey: <T>(fn: (key: Uint8Array) => Promise<T>) => Promise<T>): Promise<void>;
}

/** DuckDB's column types as Trino's Hive connector declares them. */
function trinoType(duck: string): string {
  const t = duck.toUpperCase();
  const simple: Record<string, string> = {
    VARCHAR: 'varchar', INTEGER: 'integer', BIGINT: 'bigint', SMALLINT: 'smallint', TINYINT: 'tinyint', DOUBLE: 'double', FLOAT: 'real',
    BOOLEAN: 'boolean', DATE: 'date', TIMESTAMP: 'timestamp', BLOB: 'varbinary',
  };
  const s = simple[t];
  if (s !== undefined) return s;
  const d = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(t);
  if (d !== null) return `decimal(${d[1] ?? ''},${d[2] ?? ''})`;
  throw new Error(`column type ${duck} has no Trino equivalent in the dataset copy (supported: ${Object.keys(simple).join(', ')}, DECIMAL(p,s))`);
}

const MARKER = '_enclave-copy.json';

/** The catalog holding a dataset's versions on the object store (one SSE-C key per dataset). */
export function datasetCatalog(dataset: string): string {
  return `enclave_ds_${dataset.toLowerCase().replace(/[^a-z0-9]+/g, '_').slice(0, 40)}`;
}

/** The SSE-C key of a dataset's objects on the store, from the dataset's key. */
export function datasetSseCKey(dataset: string, datasetKey: Uint8Array): Buffer {
  return sseCKeyOf(datasetKey, `dataset ${dataset}`);
}

function s3Client(store: TrinoS3Store): S3Client {
  return new S3Client({
    endpoint: store.endpoint, region: store.region, forcePathStyle: true, maxAttempts: 3,
    credentials: { accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    // The store's CA besides the system's (a private CA): the SSE-C key travels in every request.
    ...(store.ca === undefined ? {} : { requestHandler: { httpsAgent: new Agent({ ca: [...rootCertificates, store.ca], keepAlive: true }) } }),
  });
}

export function openTrinoDatasetCopy(o: TrinoDatasetCopyOptions): TrinoDatasetCopy {
  const copy = openCopy(o);
  return {
    ensure: (v, files, withKey) => copy.ensure(v, files, withKey).catch((e: unknown) => {
      throw unreachableAsAppError(`copying ${v.dataset} v${String(v.version)} for Trino`, e);
    }),
  };
}

function openCopy(o: TrinoDatasetCopyOptions): TrinoDatasetCopy {
  const client = new TrinoClient({ url: o.url, ...(o.headers === undefined ? {} : { headers: o.headers }), ...(o.onCatalogNotFound === undefined ? {} : { onCatalogNotFound: o.onCatalogNotFound }) });
  const catalog = o.catalog ?? 'enclave';
  if (o.s3 !== undefined) return openS3Copy(o, o.s3, client);
  const warehouse = o.warehouse;
  if (warehouse === undefined) throw new Error('the Trino dataset copy needs a warehouse folder or an S3 store');
  return {
    async ensure(v, files, withKey) {
      if (files.length !== v.manifest.files.length) throw new Error(`the copy of ${v.dataset} v${v.version} needs one local path per manifest file`);
      const folder = datasetSchema(v.dataset, v.version);
      const root = join(warehouse, folder);
      let marker: { merkleRoot?: string; tables?: TrinoDatasetTable[] } = {};
      try {
        marker = JSON.parse(await readFile(join(root, MARKER), 'utf8')) as typeof marker;
      } catch {
        // no complete copy yet
      }
      let tables = marker.merkleRoot === v.manifest.merkleRoot ? marker.tables : undefined;
      if (tables === undefined) {
        await rm(root, { recursive: true, force: true });
        const session = await o.engine.session();
        try {
          const keyName = `k_${randomBytes(6).toString('hex')}`;
          await withKey((key) => session.addParquetKey(keyName, Buffer.from(key)));
          const byTable = new Map<string, TrinoDatasetTable & { files: { path: string; bytes: number }[] }>();
          for (const [i, f] of v.manifest.files.entries()) {
            const src = `read_parquet(${sqlString(files[i] ?? '')}, encryption_config = {footer_key: ${sqlString(keyName)}}, hive_partitioning = false)`;
            const out = join(root, f.path);
            await mkdir(dirname(out), { recursive: true, mode: 0o700 });
            await session.run(`COPY (SELECT * FROM ${src}) TO ${sqlString(out)} (FORMAT parquet)`);
            let t = byTable.get(f.table);
            if (t === undefined) {
              const cols = await session.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${src}`);
              t = { table: f.table, location: `local:///${folder}/${f.table}`, columns: cols.map((c) => ({ name: c.column_name, type: trinoType(c.column_type) })), files: [] };
              byTable.set(f.table, t);
            }
            t.files.push({ path: f.path.slice(f.table.length + 1), bytes: (await stat(out)).size });
          }
          tables = [...byTable.values()];
        } finally {
          session.close();
        }
      }
      await registerDatasetVersion(client, catalog, { dataset: v.dataset, version: v.version, tables });
      // Written once Trino saw exactly this copy: a copy interrupted or refused is made again.
      await writeFile(join(root, MARKER), JSON.stringify({ merkleRoot: v.manifest.merkleRoot, tables }), { mode: 0o600 });
    },
  };
}

/** Reads a version's files with DuckDB and hands each as plain Parquet bytes to `put`, then drops them. */
async function eachPlainFile(
  engine: Engine, v: CopiedVersion, files: readonly string[], withKey: <T>(fn: (key: Uint8Array) => Promise<T>) => Promise<T>,
  put: (f: CopiedVersion['manifest']['files'][number], bytes: Buffer) => Promise<void>,
): Promise<Map<string, { table: string; columns: { name: string; type: string }[]; files: { path: string; bytes: number }[] }>> {
  const session = await engine.session();
  try {
    const keyName = `k_${randomBytes(6).toString('hex')}`;
    await withKey((key) => session.addParquetKey(keyName, Buffer.from(key)));
    const byTable = new Map<string, { table: string; columns: { name: string; type: string }[]; files: { path: string; bytes: number }[] }>();
    for (const [i, f] of v.manifest.files.entries()) {
      const src = `read_parquet(${sqlString(files[i] ?? '')}, encryption_config = {footer_key: ${sqlString(keyName)}}, hive_partitioning = false)`;
      // Through a FIFO into memory: the decrypted file is never written to a disk of this server.
      const bytes = await copyQueryToParquetBytes(session, `SELECT * FROM ${src}`, { compression: 'snappy' });
      await put(f, bytes);
      let t = byTable.get(f.table);
      if (t === undefined) {
        const cols = await session.all<{ column_name: string; column_type: string }>(`DESCRIBE SELECT * FROM ${src}`);
        t = { table: f.table, columns: cols.map((c) => ({ name: c.column_name, type: trinoType(c.column_type) })), files: [] };
        byTable.set(f.table, t);
      }
      t.files.push({ path: f.path.slice(f.table.length + 1), bytes: bytes.length });
    }
    return byTable;
  } finally {
    session.close();
  }
}

function openS3Copy(o: TrinoDatasetCopyOptions, s3: NonNullable<TrinoDatasetCopyOptions['s3']>, client: TrinoClient): TrinoDatasetCopy {
  const sdk = s3Client(s3.store);
  const prefix = s3.prefix.replace(/^\/+|\/+$/g, '');
  const metastore = `s3://${s3.store.bucket}/${(s3.metastorePrefix ?? `${prefix}/_metastore`).replace(/^\/+|\/+$/g, '')}`;
  return {
    async ensure(v, files, withKey) {
      if (files.length !== v.manifest.files.length) throw new Error(`the copy of ${v.dataset} v${v.version} needs one local path per manifest file`);
      const folder = `${prefix}/${datasetSchema(v.dataset, v.version)}`;
      const catalog = datasetCatalog(v.dataset);
      const sse = await withKey(async (key) => sseCHeaders(datasetSseCKey(v.dataset, key)));
      const keyed = { SSECustomerAlgorithm: 'AES256', SSECustomerKey: sse.key, SSECustomerKeyMD5: sse.md5 } as const;
      await withKey((key) => ensureS3Catalog(client, catalog, s3.store, datasetSseCKey(v.dataset, key), metastore));
      let marker: { merkleRoot?: string; tables?: TrinoDatasetTable[] } = {};
      try {
        const r = await sdk.send(new GetObjectCommand({ Bucket: s3.store.bucket, Key: `${folder}/${MARKER}`, ...keyed }));
        marker = JSON.parse(await r.Body?.transformToString() ?? '{}') as typeof marker;
      } catch {
        // no complete copy yet
      }
      let tables = marker.merkleRoot === v.manifest.merkleRoot ? marker.tables : undefined;
      if (tables === undefined) {
        const byTable = await eachPlainFile(o.engine, v, files, withKey, async (f, bytes) => {
          await sdk.send(new PutObjectCommand({ Bucket: s3.store.bucket, Key: `${folder}/${f.path}`, Body: bytes, ContentLength: bytes.length, ...keyed }));
        });
        tables = [...byTable.values()].map((t) => ({ ...t, location: `s3://${s3.store.bucket}/${folder}/${t.table}` }));
      }
      await registerDatasetVersion(client, catalog, { dataset: v.dataset, version: v.version, tables });
      const body = Buffer.from(JSON.stringify({ merkleRoot: v.manifest.merkleRoot, tables }));
      await sdk.send(new PutObjectCommand({ Bucket: s3.store.bucket, Key: `${folder}/${MARKER}`, Body: body, ContentLength: body.length, ...keyed }));
    },
  };
}
