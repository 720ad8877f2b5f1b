/**
 * Where dataset files live. Keys are `/`-separated relative paths. The local directory store is
 * the default; an S3-compatible store implements the same port (migration issue).
 */
export interface StoreEntry {
  readonly key: string;
  readonly bytes: number;
}

export interface Store {
  /** A stable name for this location, e.g. `local:/srv/enclave/store`. */
  readonly id: string;
  /** The local file path of a key, for engines that read files (DuckDB); undefined for remote stores. */
  localPath(key: string): string | undefined;
  list(prefix: string): Promise<StoreEntry[]>;
  exists(key: string): Promise<boolean>;
  /** Moves a whole prefix in one step where the store allows it (a directory rename locally). */
  movePrefix(from: string, to: string): Promise<void>;
  removePrefix(prefix: string): Promise<void>;
}
