/**
 * Where dataset files live. Keys are `/`-separated relative paths. The local directory store is
 * the default; an S3-compatible object store (`S3Store`) implements the same port.
 */
import type { Readable } from 'node:stream';

export interface StoreEntry {
  readonly key: string;
  readonly bytes: number;
  /**
   * What the store says about this version of the object, changed by any rewrite: the ETag on
   * S3 (a checksum the store computed), inode and modification time on a local disk. Equal tags
   * mean "not rewritten since"; a different tag means "hash it again" (it may hold the same bytes).
   */
  readonly tag: string;
}

/** A part of a multipart upload, as acknowledged by the store. */
export interface UploadPart {
  readonly partNumber: number;
  readonly etag: string;
  readonly bytes: number;
  /** SHA-256 (hex) of the part's bytes. */
  readonly sha256: string;
}

/**
 * Where a store journals a multipart upload so that a killed writer can resume it (the migration
 * journal in the metadata database). Stores without multipart uploads ignore it.
 */
export interface UploadJournal {
  /** The upload an earlier, interrupted attempt left, with the parts it recorded. */
  load(): Promise<{ readonly uploadId: string; readonly partSize: number; readonly parts: readonly UploadPart[] } | undefined>;
  begin(uploadId: string, partSize: number): Promise<void>;
  part(p: UploadPart, resumed: boolean): Promise<void>;
  /** The upload was completed or aborted: forget it. */
  end(): Promise<void>;
}

export interface WriteOptions {
  /** Journal a multipart upload so that a later call with the same journal resumes it. */
  readonly journal?: UploadJournal | undefined;
  /**
   * false: the object need not be on stable storage when the write returns (a local file is not
   * fsynced); the caller makes it durable later with `sync`, before anything depends on it.
   * Default true.
   */
  readonly durable?: boolean | undefined;
}

export interface Store {
  /** A stable name for this location, e.g. `local:/srv/enclave/store`, `s3:https://host/bucket`. */
  readonly id: string;
  /** The local file path of a key, for engines that read files (DuckDB); undefined for remote stores. */
  localPath(key: string): string | undefined;
  list(prefix: string): Promise<StoreEntry[]>;
  exists(key: string): Promise<boolean>;
  /** Moves a whole prefix in one step where the store allows it (a directory rename locally). */
  movePrefix(from: string, to: string): Promise<void>;
  removePrefix(prefix: string): Promise<void>;
  /** Size of one object, or undefined when it does not exist. */
  size(key: string): Promise<number | undefined>;
  /** Size and tag of one object, or undefined when it does not exist. */
  stat(key: string): Promise<StoreEntry | undefined>;
  /** A stream of an object's bytes; fails with AppError not_found when absent. */
  read(key: string): Promise<Readable>;
  /**
   * Writes an object from a stream. The object appears whole or not at all: a temp file renamed
   * locally, a single PUT or a completed multipart upload on S3.
   */
  write(key: string, body: Readable, options?: WriteOptions): Promise<void>;
  remove(key: string): Promise<void>;
  /** Makes objects written with `durable: false` durable (fsync locally; nothing to do where a write is durable once acknowledged). */
  sync(keys: readonly string[]): Promise<void>;
  /** Checks that the store is reachable and writable (writes, reads back and removes a probe). */
  probe(): Promise<void>;
  /** Free bytes where the store can know it (a local file system), else undefined. */
  freeBytes(): Promise<number | undefined>;
}

/**
 * A store on this machine's disk: every key has a local path. Ingestion stages and writes its
 * files there (DuckDB writes only local files); `LocalStore` is the implementation main.ts picks.
 */
export interface LocalFileStore extends Store {
  localPath(key: string): string;
}
