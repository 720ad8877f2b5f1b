/**
 * Transcodes a plain Parquet stream into an encrypted Parquet file (Parquet Modular Encryption,
 * uniform encryption with an encrypted footer), in the exact layout DuckDB's reader expects.
 *
 * Compressed page bytes are not touched: each page header and each page body becomes one
 * AES-256-GCM module `len(u32 LE) ‖ nonce(12) ‖ ciphertext ‖ tag(16)`. The footer becomes
 * `FileCryptoMetaData ‖ GCM module(FileMetaData) ‖ len(u32 LE) ‖ "PARE"`. See
 * docs/encryption-at-rest.md for why, and for the nonce and threat analysis.
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AppError } from '../errors.ts';
import { ByteQueue } from './byte-queue.ts';
import {
  T,
  ThriftTruncated,
  asList,
  asStruct,
  decodeStruct,
  encodeStruct,
  getField,
  getInt,
  removeFields,
  requireInt,
  setField,
  setInt,
  struct,
  type TStruct,
} from './thrift.ts';

export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const PLAIN_MAGIC = Buffer.from('PAR1');
const ENC_MAGIC = Buffer.from('PARE');
/** A page header larger than this is not one (statistics included); stop treating it as a page. */
const MAX_PAGE_HEADER_BYTES = 16 * 1024 * 1024;
/** Output is written in batches of about this size. */
const WRITE_BATCH_BYTES = 4 * 1024 * 1024;

export interface EncryptResult {
  /** Size of the encrypted file in bytes. */
  readonly bytes: number;
  /** SHA-256 (hex) of the encrypted file, computed while writing. */
  readonly sha256: string;
}

// Parquet Thrift field ids (parquet.thrift).
const FMD = { rowGroups: 4, encryptionAlgorithm: 8, footerSigningKeyMetadata: 9 } as const;
const RG = { columns: 1, fileOffset: 5, totalCompressedSize: 6, ordinal: 7 } as const;
const CC = { fileOffset: 2, metaData: 3, offsetIndexOffset: 4, offsetIndexLength: 5, columnIndexOffset: 6, columnIndexLength: 7, cryptoMetadata: 8, encryptedColumnMetadata: 9 } as const;
const CMD = { totalCompressedSize: 7, dataPageOffset: 9, indexPageOffset: 10, dictionaryPageOffset: 11, bloomFilterOffset: 14, bloomFilterLength: 15 } as const;
const PH = { type: 1, uncompressedSize: 2, compressedSize: 3 } as const;

export function assertDataKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    throw new AppError('invalid', `Parquet data key must be ${KEY_BYTES} bytes (AES-256)`, {
      hint: 'pass the unwrapped per-dataset data key from the key service',
    });
  }
}

/** Fresh 96-bit nonces from the CSPRNG, drawn in batches to keep small pages cheap. */
class NonceSource {
  private pool = Buffer.alloc(0);
  private at = 0;

  next(): Buffer {
    if (this.at + NONCE_BYTES > this.pool.length) {
      this.pool = randomBytes(NONCE_BYTES * 4096);
      this.at = 0;
    }
    const n = Buffer.from(this.pool.subarray(this.at, this.at + NONCE_BYTES));
    // Never keep a used nonce around to be handed out twice.
    this.pool.fill(0, this.at, this.at + NONCE_BYTES);
    this.at += NONCE_BYTES;
    return n;
  }
}

/** Buffered, hashing writer onto `path + '.tmp'`, made durable and renamed on commit. */
class AtomicSink {
  private readonly hash = createHash('sha256');
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  bytes = 0;

  private readonly fh: FileHandle;
  private readonly tmpPath: string;
  private readonly finalPath: string;

  private constructor(fh: FileHandle, tmpPath: string, finalPath: string) {
    this.fh = fh;
    this.tmpPath = tmpPath;
    this.finalPath = finalPath;
  }

  static async open(finalPath: string): Promise<AtomicSink> {
    const tmpPath = `${finalPath}.tmp`;
    const fh = await open(tmpPath, 'w', 0o600);
    return new AtomicSink(fh, tmpPath, finalPath);
  }

  async write(...parts: Buffer[]): Promise<void> {
    for (const p of parts) {
      if (p.length === 0) continue;
      this.hash.update(p);
      this.pending.push(p);
      this.pendingBytes += p.length;
      this.bytes += p.length;
    }
    if (this.pendingBytes >= WRITE_BATCH_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    let parts = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    while (parts.length > 0) {
      const { bytesWritten } = await this.fh.writev(parts);
      parts = dropBytes(parts, bytesWritten);
    }
  }

  async commit(): Promise<EncryptResult> {
    await this.flush();
    await this.fh.sync();
    await this.fh.close();
    await rename(this.tmpPath, this.finalPath);
    await fsyncDir(dirname(this.finalPath));
    return { bytes: this.bytes, sha256: this.hash.digest('hex') };
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await unlink(this.tmpPath).catch(() => undefined);
  }
}

function dropBytes(parts: Buffer[], n: number): Buffer[] {
  let left = n;
  const out: Buffer[] = [];
  for (const p of parts) {
    if (left >= p.length) left -= p.length;
    else {
      out.push(left > 0 ? p.subarray(left) : p);
      left = 0;
    }
  }
  return out;
}

async function fsyncDir(dir: string): Promise<void> {
  // Makes the rename itself durable; some file systems refuse fsync on a directory.
  const fh = await open(dir, 'r').catch(() => undefined);
  if (fh === undefined) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}

/**
 * Encrypts one module: `len ‖ nonce ‖ AES-256-GCM(parts) ‖ tag`, with no AAD: DuckDB 1.5's
 * reader fails filtered scans of files carrying PME module AADs (see the design doc).
 */
function encryptModule(key: Uint8Array, nonces: NonceSource, parts: readonly Buffer[]): Buffer[] {
  const nonce = nonces.next();
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  const out: Buffer[] = [Buffer.alloc(4), nonce];
  let ctLen = 0;
  for (const p of parts) {
    const c = cipher.update(p);
    ctLen += c.length;
    out.push(c);
  }
  const last = cipher.final();
  ctLen += last.length;
  out.push(last, cipher.getAuthTag());
  const len = NONCE_BYTES + ctLen + TAG_BYTES;
  if (len > 0xffffffff) throw new AppError('invalid', 'Parquet page too large to encrypt as one module');
  (out[0] as Buffer).writeUInt32LE(len, 0);
  return out;
}

function moduleLength(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** A PageHeader has i32 type (0..3), uncompressed and compressed sizes as fields 1, 2, 3. */
function isPageHeader(s: TStruct): boolean {
  const f1 = getField(s, PH.type);
  const f2 = getField(s, PH.uncompressedSize);
  const f3 = getField(s, PH.compressedSize);
  return (
    f1?.type === T.I32 && f2?.type === T.I32 && f3?.type === T.I32 &&
    typeof f1.value === 'number' && f1.value >= 0 && f1.value <= 3 &&
    typeof f3.value === 'number' && f3.value >= 0
  );
}

interface PageSpan {
  readonly oldStart: number;
  readonly oldEnd: number;
  readonly newStart: number;
  readonly newEnd: number;
  used: boolean;
}

/** Tries to parse a page header at the queue head; undefined means "not a page: the tail". */
async function nextPageHeader(q: ByteQueue): Promise<{ header: TStruct; length: number } | undefined> {
  for (;;) {
    try {
      const { struct: s, end } = decodeStruct(q.peek(q.available));
      return isPageHeader(s) ? { header: s, length: end } : undefined;
    } catch (e) {
      if (!(e instanceof ThriftTruncated)) {
        if (e instanceof AppError) return undefined;
        throw e;
      }
      if (q.available > MAX_PAGE_HEADER_BYTES || !(await q.pull())) return undefined;
    }
  }
}

function integrity(message: string): AppError {
  return new AppError('integrity', `plain Parquet input is inconsistent: ${message}`, {
    hint: 'the input must be one complete Parquet file as written by DuckDB',
  });
}

/**
 * Rewrites the footer's offsets and sizes for the encrypted layout, and checks that the
 * column chunks cover exactly the pages seen in the stream (so a misparsed stream cannot
 * yield a file that reads differently from its source).
 */
function rewriteFooter(md: TStruct, pages: PageSpan[]): void {
  const byStart = new Map<number, number>();
  pages.forEach((p, i) => byStart.set(p.oldStart, i));
  const mapStart = (off: number, what: string): number => {
    const i = byStart.get(off);
    const p = i === undefined ? undefined : pages[i];
    if (p === undefined) throw integrity(`${what} does not point at a page`);
    return p.newStart;
  };

  let rowGroup = 0;
  for (const rgV of asList(getField(md, FMD.rowGroups)?.value).items) {
    const rg = asStruct(rgV);
    let rgStart: number | undefined;
    let rgSize = 0;
    for (const ccV of asList(getField(rg, RG.columns)?.value).items) {
      const cc = asStruct(ccV);
      if (getField(cc, 1) !== undefined) throw integrity('column chunks in other files are not supported');
      const meta = asStruct(getField(cc, CC.metaData)?.value);
      const dataOff = requireInt(meta, CMD.dataPageOffset, 'data_page_offset');
      const dictOff = getInt(meta, CMD.dictionaryPageOffset);
      const idxOff = getInt(meta, CMD.indexPageOffset);
      const size = requireInt(meta, CMD.totalCompressedSize, 'total_compressed_size');
      // Some writers put dictionary_page_offset = 0 to mean "none".
      const hasDict = dictOff !== undefined && dictOff > 0;
      const start = hasDict ? Math.min(dictOff, dataOff) : dataOff;
      const first = byStart.get(start);
      if (first === undefined) throw integrity('a column chunk does not start at a page');
      let i = first;
      let last = -1;
      for (; i < pages.length; i++) {
        const p = pages[i] as PageSpan;
        if (p.oldEnd > start + size) break;
        if (p.used) throw integrity('two column chunks share a page');
        p.used = true;
        last = i;
        if (p.oldEnd === start + size) break;
      }
      const lastPage = pages[last];
      const firstPage = pages[first] as PageSpan;
      if (lastPage === undefined || lastPage.oldEnd !== start + size) {
        throw integrity('a column chunk does not end at a page boundary');
      }
      setInt(meta, CMD.dataPageOffset, mapStart(dataOff, 'data_page_offset'));
      if (hasDict) setInt(meta, CMD.dictionaryPageOffset, mapStart(dictOff, 'dictionary_page_offset'));
      if (idxOff !== undefined && idxOff > 0) setInt(meta, CMD.indexPageOffset, mapStart(idxOff, 'index_page_offset'));
      const newSize = lastPage.newEnd - firstPage.newStart;
      setInt(meta, CMD.totalCompressedSize, newSize);
      // Bloom filters and page indexes are written outside the pages and are not carried over:
      // DuckDB cannot read them encrypted, and a bloom filter leaks value hashes.
      removeFields(meta, CMD.bloomFilterOffset, CMD.bloomFilterLength);
      removeFields(cc, CC.offsetIndexOffset, CC.offsetIndexLength, CC.columnIndexOffset, CC.columnIndexLength, CC.cryptoMetadata, CC.encryptedColumnMetadata);
      const fileOff = getInt(cc, CC.fileOffset);
      if (fileOff !== undefined && fileOff !== 0) {
        const j = byStart.get(fileOff);
        setInt(cc, CC.fileOffset, j === undefined ? 0 : (pages[j] as PageSpan).newStart);
      }
      rgStart ??= firstPage.newStart;
      rgSize += newSize;
    }
    if (getField(rg, RG.fileOffset) !== undefined && rgStart !== undefined) setInt(rg, RG.fileOffset, rgStart);
    if (getField(rg, RG.totalCompressedSize) !== undefined) setInt(rg, RG.totalCompressedSize, rgSize);
    // DuckDB's own encrypted writer sets the ordinal; PME readers use it for module AADs.
    setField(rg, RG.ordinal, T.I16, rowGroup);
    rowGroup++;
  }
  if (pages.some((p) => !p.used)) throw integrity('a page belongs to no column chunk');
  removeFields(md, FMD.encryptionAlgorithm, FMD.footerSigningKeyMetadata);
}

/**
 * FileCryptoMetaData { encryption_algorithm: AES_GCM_V1 {} }: no aad_file_unique, so readers
 * use no module AAD (as in files DuckDB encrypts itself).
 */
function fileCryptoMetaData(): Buffer {
  const aesGcmV1 = struct();
  const algorithm = struct({ id: 1, type: T.STRUCT, value: aesGcmV1 });
  return encodeStruct(struct({ id: 1, type: T.STRUCT, value: algorithm }));
}

/**
 * Encrypts a plain Parquet byte stream into `encPath` (via `encPath.tmp`, fsync, rename).
 * Only the encrypted bytes are written; the plain stream is consumed once, in order.
 *
 * @example
 *   const { sha256 } = await encryptParquetStream(createReadStream(plain), 'x.parquet', key);
 */
export async function encryptParquetStream(
  plain: AsyncIterable<Uint8Array>,
  encPath: string,
  key: Uint8Array,
): Promise<EncryptResult> {
  assertDataKey(key);
  const sink = await AtomicSink.open(encPath);
  try {
    await transcode(plain, sink, key);
    return await sink.commit();
  } catch (e) {
    await sink.abort();
    throw e;
  }
}

async function transcode(plain: AsyncIterable<Uint8Array>, sink: AtomicSink, key: Uint8Array): Promise<void> {
  const q = new ByteQueue(plain);
  const nonces = new NonceSource();
  if (!(await q.ensure(4)) || !q.peek(4).equals(PLAIN_MAGIC)) {
    throw new AppError('invalid', 'input is not a Parquet file (no PAR1 magic)');
  }
  q.take(4);
  await sink.write(ENC_MAGIC);

  const pages: PageSpan[] = [];
  for (;;) {
    if (!(await q.ensure(1))) throw new AppError('invalid', 'Parquet input ends before its footer');
    const h = await nextPageHeader(q);
    if (h === undefined) break;
    const bodyLen = requireInt(h.header, PH.compressedSize, 'compressed_page_size');
    if (!(await q.ensure(h.length + bodyLen))) break; // cannot be a page; the footer check decides
    const oldStart = q.position;
    const newStart = sink.bytes;
    const headerModule = encryptModule(key, nonces, q.take(h.length));
    const bodyModule = encryptModule(key, nonces, q.take(bodyLen));
    await sink.write(...headerModule, ...bodyModule);
    const newEnd = newStart + moduleLength(headerModule) + moduleLength(bodyModule);
    pages.push({ oldStart, oldEnd: q.position, newStart, newEnd, used: false });
  }

  const tail = await q.rest();
  if (tail.length < 8 || !tail.subarray(tail.length - 4).equals(PLAIN_MAGIC)) {
    throw new AppError('invalid', 'Parquet input has no valid footer');
  }
  const footerLen = tail.readUInt32LE(tail.length - 8);
  const footerStart = tail.length - 8 - footerLen;
  if (footerStart < 0) throw new AppError('invalid', 'Parquet footer length is out of range');
  const { struct: md, end } = decodeStructOrInvalid(tail.subarray(footerStart, tail.length - 8));
  if (end !== footerLen) throw new AppError('invalid', 'Parquet footer has trailing bytes');

  rewriteFooter(md, pages);

  const cryptoMd = fileCryptoMetaData();
  const footerModule = encryptModule(key, nonces, [encodeStruct(md)]);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(cryptoMd.length + moduleLength(footerModule), 0);
  await sink.write(cryptoMd, ...footerModule, len, ENC_MAGIC);
}

function decodeStructOrInvalid(buf: Uint8Array): { struct: TStruct; end: number } {
  try {
    return decodeStruct(buf);
  } catch (e) {
    if (e instanceof ThriftTruncated) throw new AppError('invalid', 'Parquet footer is truncated');
    throw e;
  }
}
