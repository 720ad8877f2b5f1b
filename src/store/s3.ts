import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AppError } from '../errors.ts';
import type { Store, StoreEntry } from './port.ts';

export interface S3StoreOptions {
  /** e.g. `https://s3.gra.io.cloud.ovh.net`, `http://127.0.0.1:9000`. */
  readonly endpoint: string;
  readonly bucket: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Key prefix inside the bucket (no leading or trailing slash), to share a bucket. */
  readonly prefix?: string;
  /** Objects larger than this go up in parts of this size (S3 minimum 5 MiB). */
  readonly partSize?: number;
  /** Parts of one object uploaded at once. */
  readonly partConcurrency?: number;
  /** Attempts by the SDK itself for one request; migration adds its own retries per file. */
  readonly maxAttempts?: number;
}

export const DEFAULT_PART_SIZE = 16 * 1024 * 1024;

/**
 * An S3-compatible object store (OVHcloud, Scaleway, Outscale, Ceph RGW, MinIO, Garage…) through
 * the AWS SDK v3 with a custom endpoint and path-style addressing. No local paths: DuckDB reads
 * it through the migration domain's read-through cache (docs/migration.md).
 */
export class S3Store implements Store {
  readonly id: string;
  readonly bucket: string;
  readonly client: S3Client;
  readonly #prefix: string;
  readonly #partSize: number;
  readonly #partConcurrency: number;

  constructor(o: S3StoreOptions) {
    this.bucket = o.bucket;
    this.#prefix = (o.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.#partSize = Math.max(o.partSize ?? DEFAULT_PART_SIZE, 5 * 1024 * 1024);
    this.#partConcurrency = o.partConcurrency ?? 4;
    this.id = `s3:${o.endpoint.replace(/\/+$/, '')}/${o.bucket}${this.#prefix === '' ? '' : `/${this.#prefix}`}`;
    this.client = new S3Client({
      endpoint: o.endpoint,
      region: o.region,
      forcePathStyle: true,
      credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
      maxAttempts: o.maxAttempts ?? 3,
      // Many S3-compatible services do not implement the newer flexible checksums; integrity is
      // checked end to end with SHA-256 by the migration instead.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  localPath(): undefined {
    return undefined;
  }

  #key(key: string): string {
    if (key.split('/').some((p) => p === '..' || p === '.') || key.startsWith('/')) {
      throw new AppError('invalid', `store key ${JSON.stringify(key)} escapes the store`, { hint: 'keys are relative paths without ..' });
    }
    return this.#prefix === '' ? key : `${this.#prefix}/${key}`;
  }

  #unkey(k: string): string {
    return this.#prefix === '' ? k : k.slice(this.#prefix.length + 1);
  }

  async list(prefix: string): Promise<StoreEntry[]> {
    const out: StoreEntry[] = [];
    const p = this.#key(prefix);
    let token: string | undefined;
    do {
      const r = await this.#call(() => this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: p === '' ? undefined : p.endsWith('/') ? p : `${p}/`, ContinuationToken: token })));
      for (const o of r.Contents ?? []) if (o.Key !== undefined) out.push({ key: this.#unkey(o.Key), bytes: o.Size ?? 0 });
      token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
    } while (token !== undefined);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async exists(key: string): Promise<boolean> {
    return (await this.size(key)) !== undefined;
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
      return r.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.#wrap(e);
    }
  }

  /** Object stores have no rename: copy each object then delete the source (not atomic). */
  async movePrefix(from: string, to: string): Promise<void> {
    for (const e of await this.list(from)) {
      const dst = `${to}${e.key.slice(from.length)}`;
      await this.#call(() => this.client.send(new CopyObjectCommand({ Bucket: this.bucket, CopySource: `${this.bucket}/${encodeURIComponent(this.#key(e.key)).replace(/%2F/g, '/')}`, Key: this.#key(dst) })));
      await this.remove(e.key);
    }
  }

  async removePrefix(prefix: string): Promise<void> {
    for (const e of await this.list(prefix)) await this.remove(e.key);
  }

  async read(key: string): Promise<Readable> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
      if (!(r.Body instanceof Readable)) throw new AppError('internal', 'S3 GetObject returned no stream');
      return r.Body;
    } catch (e) {
      if (isNotFound(e)) throw new AppError('not_found', `${key} is not in store ${this.id}`, { hint: 'the object was removed or never copied' });
      throw this.#wrap(e);
    }
  }

  async write(key: string, body: Readable): Promise<void> {
    // lib-storage buffers one part: a small object is one PUT, a large one a multipart upload
    // that is aborted (no partial object) when the stream fails.
    const up = new Upload({ client: this.client, params: { Bucket: this.bucket, Key: this.#key(key), Body: body }, partSize: this.#partSize, queueSize: this.#partConcurrency, leavePartsOnError: false });
    try {
      await up.done();
    } catch (e) {
      throw this.#wrap(e);
    }
  }

  async remove(key: string): Promise<void> {
    await this.#call(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(key) })));
  }

  async probe(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      throw new AppError('unavailable', `bucket ${this.bucket} at ${this.id} is not reachable: ${describe(e)}`, { hint: 'check the endpoint, the bucket name and the credentials (ENCLAVE_S3_*)', cause: e });
    }
    const key = `.probe/${randomBytes(6).toString('hex')}`;
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.#key(key), Body: 'probe' }));
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
      if ((await r.Body?.transformToString()) !== 'probe') throw new AppError('unavailable', `bucket ${this.bucket} does not read back what it wrote`);
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
    } catch (e) {
      throw new AppError('unavailable', `bucket ${this.bucket} at ${this.id} is not writable: ${describe(e)}`, { hint: 'the credentials need s3:PutObject, s3:GetObject, s3:DeleteObject and s3:ListBucket', cause: e });
    }
  }

  freeBytes(): Promise<undefined> {
    return Promise.resolve(undefined);
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.#wrap(e);
    }
  }

  #wrap(e: unknown): unknown {
    if (e instanceof AppError) return e;
    if (e instanceof S3ServiceException && (e.$metadata.httpStatusCode ?? 500) < 500) {
      return new AppError(e.$metadata.httpStatusCode === 403 ? 'forbidden' : 'invalid', `store ${this.id}: ${e.name}: ${e.message}`, { hint: 'check the bucket and the credentials', cause: e });
    }
    return new AppError('unavailable', `store ${this.id} is unreachable or failing: ${describe(e)}`, { hint: 'check the endpoint is up; a migration run resumes where it stopped', cause: e });
  }
}

function isNotFound(e: unknown): boolean {
  return e instanceof S3ServiceException && (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata.httpStatusCode === 404);
}

function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === undefined ? `${e.name}: ${e.message}` : `${code} (${e.message})`;
  }
  return String(e);
}
