import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadBucketCommand,
  HeadObjectCommand, ListObjectsV2Command, ListPartsCommand, PutObjectCommand, S3Client, S3ServiceException, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { AppError } from '../errors.ts';
import type { Store, StoreEntry, UploadJournal, UploadPart, WriteOptions } from './port.ts';

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
      for (const o of r.Contents ?? []) if (o.Key !== undefined) out.push({ key: this.#unkey(o.Key), bytes: o.Size ?? 0, tag: `etag:${o.ETag ?? ''}` });
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

  async stat(key: string): Promise<StoreEntry | undefined> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
      return { key, bytes: r.ContentLength ?? 0, tag: `etag:${r.ETag ?? ''}` };
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

  async write(key: string, body: Readable, options: WriteOptions = {}): Promise<void> {
    if (options.journal !== undefined) return this.#writeResumable(key, body, options.journal);
    // lib-storage buffers one part: a small object is one PUT, a large one a multipart upload
    // that is aborted (no partial object) when the stream fails.
    const up = new Upload({ client: this.client, params: { Bucket: this.bucket, Key: this.#key(key), Body: body }, partSize: this.#partSize, queueSize: this.#partConcurrency, leavePartsOnError: false });
    try {
      await up.done();
    } catch (e) {
      throw this.#wrap(e);
    }
  }

  /**
   * A multipart upload journaled part by part. An earlier upload of the same journal is resumed:
   * the source is read again from its start (so the caller's whole-file SHA-256 covers every
   * byte), and a part is sent only if the store does not already hold it (same part number,
   * size, SHA-256 of the source bytes, and ETag listed by ListParts). A failed stream check (the
   * source changed) aborts the upload; any other failure (the store down, the process killed)
   * leaves it for the next attempt.
   */
  async #writeResumable(key: string, body: Readable, journal: UploadJournal): Promise<void> {
    const k = this.#key(key);
    let state = await journal.load();
    const have = new Map<number, UploadPart>();
    if (state !== undefined) {
      const listed = state.partSize === this.#partSize ? await this.#listParts(k, state.uploadId) : undefined;
      if (listed === undefined) {
        // Gone (completed, aborted or expired on the server) or cut differently: start afresh.
        if (state.partSize !== this.#partSize) await this.#abort(k, state.uploadId);
        await journal.end();
        state = undefined;
      } else if (listed === 'unsupported') {
        // The store cannot list parts (s3rver, some gateways): the journal is trusted, and
        // CompleteMultipartUpload checks every part's ETag on the store's side.
        for (const p of state.parts) have.set(p.partNumber, p);
      } else {
        for (const p of state.parts) if (listed.get(p.partNumber)?.etag === p.etag && listed.get(p.partNumber)?.bytes === p.bytes) have.set(p.partNumber, p);
      }
    }
    let uploadId = state?.uploadId;
    const inflight = new Set<Promise<void>>();
    const parts: Array<{ PartNumber: number; ETag: string }> = [];
    let failed: unknown;
    const send = async (n: number, chunk: Buffer): Promise<void> => {
      const sha256 = createHash('sha256').update(chunk).digest('hex');
      const old = have.get(n);
      if (old !== undefined && old.sha256 === sha256 && old.bytes === chunk.length) {
        parts.push({ PartNumber: n, ETag: old.etag });
        await journal.part(old, true);
        return;
      }
      if (uploadId === undefined) {
        const created = await this.#call(() => this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: k })));
        if (created.UploadId === undefined) throw new AppError('unavailable', `store ${this.id} returned no UploadId`);
        uploadId = created.UploadId;
        await journal.begin(uploadId, this.#partSize);
      }
      const id = uploadId;
      const r = await this.#call(() => this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: k, UploadId: id, PartNumber: n, Body: chunk, ContentLength: chunk.length })));
      if (r.ETag === undefined) throw new AppError('unavailable', `store ${this.id} returned no ETag for part ${n} of ${key}`);
      parts.push({ PartNumber: n, ETag: r.ETag });
      await journal.part({ partNumber: n, etag: r.ETag, bytes: chunk.length, sha256 }, false);
    };
    const queue = async (n: number, chunk: Buffer): Promise<void> => {
      // The first part creates the upload: the others wait for it.
      const p = send(n, chunk).catch((e: unknown) => { failed ??= e; });
      if (uploadId === undefined && !have.has(n)) await p;
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
      while (inflight.size >= this.#partConcurrency) await Promise.race(inflight);
      if (failed !== undefined) throw this.#wrap(failed) as Error;
    };
    const buf: Buffer[] = [];
    let buffered = 0;
    let n = 0;
    try {
      for await (const c of body) {
        const chunk = c as Buffer;
        buf.push(chunk);
        buffered += chunk.length;
        while (buffered >= this.#partSize) {
          const all = Buffer.concat(buf);
          buf.length = 0;
          buf.push(all.subarray(this.#partSize));
          buffered = all.length - this.#partSize;
          await queue(++n, all.subarray(0, this.#partSize));
        }
      }
      const rest = Buffer.concat(buf);
      if (n === 0 && uploadId === undefined) {
        // Smaller than one part: a single PUT.
        await this.#call(() => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: k, Body: rest, ContentLength: rest.length })));
        return;
      }
      if (rest.length > 0 || n === 0) await queue(++n, rest);
      await Promise.all(inflight);
      if (failed !== undefined) throw this.#wrap(failed) as Error;
      const id = uploadId;
      if (id === undefined) throw new AppError('internal', 'multipart upload without an UploadId');
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      try {
        await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: k, UploadId: id, MultipartUpload: { Parts: parts } }));
      } catch (e) {
        if (e instanceof S3ServiceException && (e.name === 'InvalidPart' || e.name === 'NoSuchUpload' || e.name === 'InvalidPartOrder')) {
          // A resumed part is not (or no longer) on the store: start this file's upload afresh.
          await this.#abort(k, id);
          await journal.end();
          throw new AppError('unavailable', `store ${this.id} refused to complete the resumed upload of ${key} (${e.name})`, { hint: 'the next attempt uploads the file from its start', cause: e });
        }
        throw e;
      }
      await journal.end();
    } catch (e) {
      await Promise.allSettled(inflight);
      if (e instanceof AppError && e.code === 'integrity' && uploadId !== undefined) {
        // The source is not what was planned: its parts are stale.
        await this.#abort(k, uploadId);
        await journal.end();
      }
      throw this.#wrap(e);
    }
  }

  /** Parts the server holds for an upload; undefined when the upload no longer exists; 'unsupported' when the server has no ListParts. */
  async #listParts(k: string, uploadId: string): Promise<Map<number, { etag: string; bytes: number }> | undefined | 'unsupported'> {
    const out = new Map<number, { etag: string; bytes: number }>();
    let marker: string | undefined;
    try {
      do {
        const r = await this.client.send(new ListPartsCommand({ Bucket: this.bucket, Key: k, UploadId: uploadId, PartNumberMarker: marker }));
        for (const p of r.Parts ?? []) if (p.PartNumber !== undefined && p.ETag !== undefined) out.set(p.PartNumber, { etag: p.ETag, bytes: p.Size ?? -1 });
        marker = r.IsTruncated === true ? r.NextPartNumberMarker : undefined;
      } while (marker !== undefined);
    } catch (e) {
      if (e instanceof S3ServiceException && (e.name === 'NoSuchUpload' || e.$metadata.httpStatusCode === 404)) return undefined;
      if (e instanceof S3ServiceException && (e.name === 'MethodNotAllowed' || e.name === 'NotImplemented' || e.$metadata.httpStatusCode === 405 || e.$metadata.httpStatusCode === 501)) return 'unsupported';
      throw this.#wrap(e);
    }
    return out;
  }

  async #abort(k: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: k, UploadId: uploadId })).catch(() => undefined);
  }

  /** An acknowledged PUT or completed multipart upload is already durable. */
  sync(): Promise<void> {
    return Promise.resolve();
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
