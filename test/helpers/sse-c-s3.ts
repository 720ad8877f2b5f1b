/**
 * A test-only S3 front that enforces SSE-C (server-side encryption with customer-provided keys)
 * before an s3rver, which stores plaintext and ignores SSE-C headers. It implements what the S3
 * documentation says of SSE-C ("Using server-side encryption with customer-provided keys"):
 *
 * - PutObject, CreateMultipartUpload, UploadPart, GetObject and HeadObject require
 *   `x-amz-server-side-encryption-customer-algorithm: AES256`, `…-customer-key` (base64, 256
 *   bits) and `…-customer-key-MD5` (base64 MD5 of the key); a missing header is `400
 *   InvalidRequest`, a key whose MD5 differs `400 InvalidArgument`;
 * - the object's bytes are stored encrypted: AES-256-CTR with a content key derived from the
 *   customer key and a random per-object salt (HMAC-SHA256), the IV random per object; CTR keeps
 *   offsets, so a ranged GET decrypts from its first byte; the salt, the IV and a salted MAC of
 *   the key are kept in the object's metadata, never the key;
 * - reading with another key is `403 AccessDenied`; reading an SSE-C object without the headers
 *   is `400 InvalidRequest`;
 * - multipart uploads are assembled here and stored as one encrypted object when completed.
 *
 * Other requests (lists, deletes, bucket operations) pass through. Requests are not
 * authenticated here: s3rver is reached anonymously (its own signature checks would not hold
 * over a rewritten body). CopyObject is refused (501): Trino's writers do not use it.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const H_ALG = 'x-amz-server-side-encryption-customer-algorithm';
const H_KEY = 'x-amz-server-side-encryption-customer-key';
const H_MD5 = 'x-amz-server-side-encryption-customer-key-md5';
const META_SALT = 'x-amz-meta-enclave-ssec-salt';
const META_IV = 'x-amz-meta-enclave-ssec-iv';
const META_MAC = 'x-amz-meta-enclave-ssec-mac';

export interface SseCFront {
  /** The endpoint clients (Trino, the AWS SDK) use. */
  readonly endpoint: string;
  /** Requests refused for a missing, malformed or wrong key (tests read it). */
  readonly refusals: { missing: number; badMd5: number; wrongKey: number };
  close(): Promise<void>;
}

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomUUID()}</RequestId></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * The payload of an `aws-chunked` body (signed or unsigned streaming, with or without trailers):
 * `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0…\r\n[trailers]\r\n`.
 */
export function decodeAwsChunked(b: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = b.indexOf('\r\n', i);
    if (eol < 0) throw new Error('aws-chunked body: a chunk header without its line end');
    const size = parseInt(b.subarray(i, eol).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) throw new Error('aws-chunked body: a chunk size is not hexadecimal');
    if (size === 0) return Buffer.concat(out);
    out.push(b.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

function isChunked(h: IncomingHttpHeaders): boolean {
  const sha = String(h['x-amz-content-sha256'] ?? '');
  return sha.startsWith('STREAMING-') || String(h['content-encoding'] ?? '').split(',').map((s) => s.trim()).includes('aws-chunked');
}

/** The customer key of a request, or why it is refused. */
function customerKey(h: IncomingHttpHeaders): { key: Buffer } | { status: number; code: string; message: string; kind: 'missing' | 'badMd5' } {
  const alg = h[H_ALG];
  const key = h[H_KEY];
  const md5 = h[H_MD5];
  if (alg === undefined || key === undefined || md5 === undefined) {
    return { status: 400, code: 'InvalidRequest', message: 'The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.', kind: 'missing' };
  }
  if (alg !== 'AES256') return { status: 400, code: 'InvalidEncryptionAlgorithmError', message: 'The encryption request that you specified is not valid. The valid value is AES256.', kind: 'badMd5' };
  const k = Buffer.from(String(key), 'base64');
  if (k.length !== 32) return { status: 400, code: 'InvalidArgument', message: 'The secret key was invalid for the specified algorithm.', kind: 'badMd5' };
  if (createHash('md5').update(k).digest('base64') !== String(md5)) return { status: 400, code: 'InvalidArgument', message: 'The calculated MD5 hash of the key did not match the hash that was provided.', kind: 'badMd5' };
  return { key: k };
}

function contentKey(key: Buffer, salt: Buffer): Buffer {
  return createHmac('sha256', key).update(Buffer.concat([Buffer.from('enclave-ssec-content/1\n'), salt])).digest();
}

function keyMac(key: Buffer, salt: Buffer): Buffer {
  return createHmac('sha256', key).update(Buffer.concat([Buffer.from('enclave-ssec-mac/1\n'), salt])).digest();
}

/** AES-256-CTR from byte `offset` of the object: the counter block advanced by offset/16. */
function ctr(key: Buffer, iv: Buffer, offset: number, data: Buffer, decrypt: boolean): Buffer {
  const block = BigInt(Math.floor(offset / 16));
  const counter = (BigInt(`0x${iv.toString('hex')}`) + block) % (1n << 128n);
  const ivAt = Buffer.from(counter.toString(16).padStart(32, '0'), 'hex');
  const c = decrypt ? createDecipheriv('aes-256-ctr', key, ivAt) : createCipheriv('aes-256-ctr', key, ivAt);
  const skip = offset % 16;
  const out = c.update(Buffer.concat([Buffer.alloc(skip), data]));
  return out.subarray(skip);
}

function sseHeaders(key: Buffer): Record<string, string> {
  return { [H_ALG]: 'AES256', [H_MD5]: createHash('md5').update(key).digest('base64') };
}

/**
 * Starts the front on a free loopback port before the s3rver at `upstream` (`http://127.0.0.1:port`);
 * over TLS with `tls` (a certificate for 127.0.0.1 and its key, PEM), as a provider's endpoint.
 */
export async function startSseCFront(upstream: string, options: { readonly tls?: { readonly cert: string; readonly key: string } } = {}): Promise<SseCFront> {
  const up = new URL(upstream);
  const refusals = { missing: 0, badMd5: 0, wrongKey: 0 };
  const uploads = new Map<string, { path: string; key: Buffer; parts: Map<number, Buffer>; headers: Record<string, string> }>();

  const forward = (method: string, path: string, headers: Record<string, string>, body: Buffer | undefined): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const r = httpRequest({ host: up.hostname, port: up.port, method, path, headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(body.length) }) } }, (res) => {
        readBody(res).then((b) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: b }), (e: unknown) => reject(e instanceof Error ? e : new Error(String(e))));
      });
      r.on('error', reject);
      r.end(body);
    });

  /** The request's headers for s3rver: no signature, no SSE-C headers, no chunked encoding. */
  const upstreamHeaders = (h: IncomingHttpHeaders): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) {
      if (v === undefined || k === 'authorization' || k === 'host' || k === 'content-length' || k === 'transfer-encoding' || k.startsWith('x-amz-server-side-encryption') || k.startsWith('x-amz-checksum') || k === 'x-amz-trailer' || k === 'x-amz-decoded-content-length' || k === 'x-amz-sdk-checksum-algorithm') continue;
      if (k === 'content-encoding') {
        const rest = String(v).split(',').map((s) => s.trim()).filter((s) => s !== 'aws-chunked' && s !== '');
        if (rest.length > 0) out[k] = rest.join(',');
        continue;
      }
      if (k === 'x-amz-content-sha256') {
        out[k] = 'UNSIGNED-PAYLOAD';
        continue;
      }
      out[k] = Array.isArray(v) ? v.join(',') : v;
    }
    return out;
  };

  /** Response headers for the client: s3rver's, without the front's metadata. */
  const clientHeaders = (h: IncomingHttpHeaders, extra: Record<string, string> = {}): Record<string, string> => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(h)) {
      if (v === undefined || k.startsWith('x-amz-meta-enclave-ssec') || k === 'connection' || k === 'transfer-encoding' || k === 'keep-alive') continue;
      out[k] = Array.isArray(v) ? v.join(',') : v;
    }
    return { ...out, ...extra };
  };

  const send = (res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer | undefined): void => {
    res.writeHead(status, { ...headers, 'content-length': String(body?.length ?? Number(headers['content-length'] ?? 0)) });
    res.end(body);
  };

  const refuse = (res: ServerResponse, r: { status: number; code: string; message: string; kind: 'missing' | 'badMd5' }): void => {
    refusals[r.kind]++;
    s3Error(res, r.status, r.code, r.message);
  };

  /** Checks the key given against the object's metadata; answers the refusal if it does not hold. */
  const keyHolds = (res: ServerResponse, h: IncomingHttpHeaders, meta: IncomingHttpHeaders): Buffer | null | undefined => {
    const salt = meta[META_SALT];
    if (salt === undefined) return null; // not an SSE-C object (written around the front)
    const k = customerKey(h);
    if (!('key' in k)) {
      refuse(res, k);
      return undefined;
    }
    const mac = keyMac(k.key, Buffer.from(String(salt), 'base64'));
    const stored = Buffer.from(String(meta[META_MAC] ?? ''), 'base64');
    if (stored.length !== mac.length || !timingSafeEqual(stored, mac)) {
      refusals.wrongKey++;
      s3Error(res, 403, 'AccessDenied', 'Access Denied');
      return undefined;
    }
    return k.key;
  };

  const putEncrypted = async (path: string, key: Buffer, plain: Buffer, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> => {
    const salt = randomBytes(16);
    const iv = randomBytes(16);
    const sealed = ctr(contentKey(key, salt), iv, 0, plain, false);
    return forward('PUT', path, {
      ...headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      [META_SALT]: salt.toString('base64'), [META_IV]: iv.toString('base64'), [META_MAC]: keyMac(key, salt).toString('base64'),
    }, sealed);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://front');
    const path = `${url.pathname}${url.search}`;
    const segments = url.pathname.split('/').filter((s) => s !== '');
    const isObject = segments.length >= 2;
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const body = isChunked(req.headers) ? decodeAwsChunked(raw) : raw;
    const headers = upstreamHeaders(req.headers);

    if (isObject && method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined) {
      s3Error(res, 501, 'NotImplemented', 'CopyObject is not implemented by this SSE-C test front');
      return;
    }
    if (isObject && method === 'POST' && q.has('uploads')) {
      const k = customerKey(req.headers);
      if (!('key' in k)) return refuse(res, k);
      const id = randomUUID();
      uploads.set(id, { path: url.pathname, key: k.key, parts: new Map(), headers: Object.fromEntries(Object.entries(headers).filter(([h]) => h.startsWith('x-amz-meta-') || h === 'content-type')) });
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult><Bucket>${segments[0] ?? ''}</Bucket><Key>${segments.slice(1).join('/')}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`;
      return send(res, 200, { 'content-type': 'application/xml', ...sseHeaders(k.key) }, Buffer.from(xml));
    }
    const uploadId = q.get('uploadId');
    if (isObject && uploadId !== null) {
      const u = uploads.get(uploadId);
      if (u === undefined) return s3Error(res, 404, 'NoSuchUpload', 'The specified upload does not exist.');
      if (method === 'PUT') {
        const k = customerKey(req.headers);
        if (!('key' in k)) return refuse(res, k);
        if (!k.key.equals(u.key)) return refuse(res, { status: 400, code: 'InvalidArgument', message: 'The customer key of the part differs from the upload\'s.', kind: 'badMd5' });
        u.parts.set(Number(q.get('partNumber')), body);
        return send(res, 200, { etag: `"${createHash('md5').update(body).digest('hex')}"`, ...sseHeaders(k.key) }, Buffer.alloc(0));
      }
      if (method === 'DELETE') {
        uploads.delete(uploadId);
        return send(res, 204, {}, undefined);
      }
      if (method === 'POST') {
        const numbers = [...body.toString('utf8').matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) => Number(m[1]));
        const missing = numbers.filter((n) => !u.parts.has(n));
        if (missing.length > 0) return s3Error(res, 400, 'InvalidPart', `parts ${missing.join(', ')} were not uploaded`);
        const plain = Buffer.concat(numbers.map((n) => u.parts.get(n) ?? Buffer.alloc(0)));
        const r = await putEncrypted(u.path, u.key, plain, u.headers);
        uploads.delete(uploadId);
        if (r.status !== 200) return send(res, r.status, clientHeaders(r.headers), r.body);
        const etag = `"${createHash('md5').update(plain).digest('hex')}-${numbers.length}"`;
        const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult><Bucket>${segments[0] ?? ''}</Bucket><Key>${segments.slice(1).join('/')}</Key><ETag>${etag}</ETag></CompleteMultipartUploadResult>`;
        return send(res, 200, { 'content-type': 'application/xml', ...sseHeaders(u.key) }, Buffer.from(xml));
      }
    }
    if (isObject && method === 'PUT') {
      const k = customerKey(req.headers);
      if (!('key' in k)) return refuse(res, k);
      const r = await putEncrypted(path, k.key, body, headers);
      return send(res, r.status, clientHeaders(r.headers, r.status === 200 ? sseHeaders(k.key) : {}), r.body);
    }
    if (isObject && (method === 'GET' || method === 'HEAD')) {
      const r = await forward(method, path, headers, undefined);
      if (r.status !== 200 && r.status !== 206) return send(res, r.status, clientHeaders(r.headers), method === 'HEAD' ? undefined : r.body);
      const key = keyHolds(res, req.headers, r.headers);
      if (key === undefined) return;
      if (key === null) return send(res, r.status, clientHeaders(r.headers), method === 'HEAD' ? undefined : r.body);
      const out = clientHeaders(r.headers, sseHeaders(key));
      if (method === 'HEAD') {
        res.writeHead(r.status, out);
        res.end();
        return;
      }
      const range = /^bytes (\d+)-/.exec(String(r.headers['content-range'] ?? ''));
      const offset = range === null ? 0 : Number(range[1]);
      const salt = Buffer.from(String(r.headers[META_SALT]), 'base64');
      const iv = Buffer.from(String(r.headers[META_IV]), 'base64');
      return send(res, r.status, out, ctr(contentKey(key, salt), iv, offset, r.body, true));
    }
    // Lists, deletes, bucket operations.
    const r = await forward(method, path, headers, method === 'GET' || method === 'HEAD' ? undefined : body);
    if (method === 'HEAD') {
      res.writeHead(r.status, clientHeaders(r.headers));
      res.end();
      return;
    }
    send(res, r.status, clientHeaders(r.headers), r.body);
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) s3Error(res, 500, 'InternalError', e instanceof Error ? e.message.replace(/[<&]/g, ' ') : 'error');
      else res.destroy();
    });
  };
  const server: Server = options.tls === undefined ? createServer(listener) : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    refusals,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
