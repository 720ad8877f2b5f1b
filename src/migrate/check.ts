import { isAppError } from '../errors.ts';
import { hashObject } from '../datasets/index.ts';
import type { Store, StoreEntry } from '../store/index.ts';

/** A file a store must hold: its planned size and SHA-256, and the tag last seen with those bytes. */
export interface ExpectedFile {
  readonly key: string;
  readonly dataset: string;
  readonly version: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly tag?: string | undefined;
}

export interface StoreProblem {
  readonly dataset: string;
  readonly version: number;
  readonly where: string;
  readonly problem: string;
}

export interface StoreCheck {
  readonly problems: readonly StoreProblem[];
  /** Objects under the datasets' folders that no planned file names. */
  readonly unexpected: readonly StoreProblem[];
  /** Tag of each file found as expected (as listed before it was hashed, if it was). */
  readonly tags: Readonly<Record<string, string>>;
  readonly filesHashed: number;
  readonly bytesHashed: number;
  /** SHA-256 read back, for each file hashed. */
  readonly hashed: ReadonlyMap<string, string>;
}

/**
 * Checks what a store holds now against the files it must hold. Every dataset folder is listed
 * once: a file absent or of another size is a problem at once. A file is hashed again when
 * `hash` is 'always', or when its tag differs from the one recorded with its verified bytes
 * ('changed': the cheap check of a cutover or rollback, which still hashes anything rewritten).
 * Objects under the dataset folders that no planned file names are reported apart, except
 * ingestion's staging area and the folders of versions outside the plan (`ignorePrefixes`).
 */
export async function checkStore(
  store: Store,
  files: readonly ExpectedFile[],
  o: {
    /** Dataset folders to list (`datasetRoot` of each version's prefix), with their dataset. */
    readonly roots: ReadonlyMap<string, string>;
    readonly hash: 'always' | 'changed';
    readonly ignorePrefixes?: readonly string[];
    readonly concurrency?: number;
  },
): Promise<StoreCheck> {
  const listed = new Map<string, StoreEntry>();
  const where = new Map<string, string>();
  for (const [root, dataset] of o.roots) {
    for (const e of await store.list(root)) {
      listed.set(e.key, e);
      where.set(e.key, dataset);
    }
  }
  const planned = new Set(files.map((f) => f.key));
  const ignore = [...(o.ignorePrefixes ?? [])];
  const unexpected: StoreProblem[] = [];
  for (const [key, e] of listed) {
    if (planned.has(key)) continue;
    // Ingestion's staging area and a local write in flight are not part of any version.
    if (key.split('/').includes('.staging') || /\.part-[0-9a-f]{8}$/.test(key)) continue;
    if (ignore.some((p) => key.startsWith(`${p}/`))) continue;
    unexpected.push({ dataset: where.get(key) ?? '?', version: 0, where: key, problem: `${e.bytes} bytes in ${store.id} that the plan's manifests do not name` });
  }
  const problems: StoreProblem[] = [];
  const tags: Record<string, string> = {};
  const hashed = new Map<string, string>();
  let filesHashed = 0;
  let bytesHashed = 0;
  const todo: Array<{ f: ExpectedFile; e: StoreEntry }> = [];
  for (const f of files) {
    const e = listed.get(f.key);
    if (e === undefined) problems.push({ dataset: f.dataset, version: f.version, where: f.key, problem: `missing in ${store.id}` });
    else if (e.bytes !== f.bytes) problems.push({ dataset: f.dataset, version: f.version, where: f.key, problem: `size ${e.bytes} bytes, expected ${f.bytes}` });
    else if (o.hash === 'changed' && f.tag !== undefined && f.tag === e.tag) tags[f.key] = e.tag;
    else todo.push({ f, e });
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let t = todo[next++]; t !== undefined; t = todo[next++]) {
      const { f, e } = t;
      const got = await hashObject(store, f.key).catch((err: unknown) => {
        if (isAppError(err) && err.code === 'unavailable') throw err;
        problems.push({ dataset: f.dataset, version: f.version, where: f.key, problem: isAppError(err) && err.code === 'not_found' ? `missing in ${store.id}` : `unreadable: ${isAppError(err) ? err.message : 'read error'}` });
        return undefined;
      });
      if (got === undefined) continue;
      filesHashed++;
      bytesHashed += got.bytes;
      hashed.set(f.key, got.sha256);
      if (got.bytes !== f.bytes) problems.push({ dataset: f.dataset, version: f.version, where: f.key, problem: `size ${got.bytes} bytes, expected ${f.bytes}` });
      else if (got.sha256 !== f.sha256) problems.push({ dataset: f.dataset, version: f.version, where: f.key, problem: `SHA-256 ${got.sha256.slice(0, 16)}…, expected ${f.sha256.slice(0, 16)}…` });
      else tags[f.key] = e.tag;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency ?? 4) }, worker));
  return { problems, unexpected, tags, filesHashed, bytesHashed, hashed };
}
