import { randomBytes } from 'node:crypto';
import { createWriteStream, type BigIntStats } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AppError } from '../errors.ts';
import type { LocalFileStore, StoreEntry, WriteOptions } from './port.ts';

/** A directory on local disk (or a mounted volume). Directory renames give atomic publication. */
export class LocalStore implements LocalFileStore {
  readonly root: string;
  readonly id: string;

  constructor(root: string) {
    this.root = resolve(root);
    this.id = `local:${this.root}`;
  }

  localPath(key: string): string {
    const p = resolve(this.root, key);
    if (p !== this.root && !p.startsWith(this.root + sep)) {
      throw new AppError('invalid', `store key ${JSON.stringify(key)} escapes the store`, { hint: 'keys are relative paths without ..' });
    }
    return p;
  }

  async list(prefix: string): Promise<StoreEntry[]> {
    const base = this.localPath(prefix);
    const out: StoreEntry[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw e;
      }
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) {
          const st = await stat(p, { bigint: true });
          out.push({ key: relative(this.root, p).split(sep).join('/'), bytes: Number(st.size), tag: localTag(st) });
        }
      }
    };
    await walk(base);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await stat(this.localPath(key));
      return true;
    } catch {
      return false;
    }
  }

  async movePrefix(from: string, to: string): Promise<void> {
    const dst = this.localPath(to);
    await mkdir(dirname(dst), { recursive: true });
    await rename(this.localPath(from), dst);
  }

  async removePrefix(prefix: string): Promise<void> {
    await rm(this.localPath(prefix), { recursive: true, force: true });
  }

  async size(key: string): Promise<number | undefined> {
    try {
      const st = await stat(this.localPath(key));
      return st.isFile() ? st.size : undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async stat(key: string): Promise<StoreEntry | undefined> {
    try {
      const st = await stat(this.localPath(key), { bigint: true });
      return st.isFile() ? { key, bytes: Number(st.size), tag: localTag(st) } : undefined;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async read(key: string): Promise<Readable> {
    const p = this.localPath(key);
    // Open first so a missing file fails here, not later inside a pipeline.
    const fh = await open(p, 'r').catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('not_found', `${key} is not in store ${this.id}`, { hint: 'the file was removed or never copied' });
      throw e;
    });
    return fh.createReadStream({ autoClose: true, highWaterMark: 1 << 20 });
  }

  async write(key: string, body: Readable, options: WriteOptions = {}): Promise<void> {
    const p = this.localPath(key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.part-${randomBytes(4).toString('hex')}`;
    try {
      await pipeline(body, createWriteStream(tmp, { highWaterMark: 1 << 20 }));
      if (options.durable !== false) {
        const fh = await open(tmp, 'r+');
        await fh.sync().finally(() => fh.close());
      }
      await rename(tmp, p);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  async remove(key: string): Promise<void> {
    await rm(this.localPath(key), { force: true });
  }

  async sync(keys: readonly string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const p = this.localPath(key);
      const fh = await open(p, 'r');
      await fh.sync().finally(() => fh.close());
      dirs.add(dirname(p));
    }
    // The renames that made them visible live in their directories.
    for (const d of dirs) {
      const fh = await open(d, 'r');
      await fh.sync().finally(() => fh.close());
    }
  }

  async probe(): Promise<void> {
    const key = `.probe/${randomBytes(6).toString('hex')}`;
    const p = this.localPath(key);
    try {
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, 'probe');
      if ((await readFile(p, 'utf8')) !== 'probe') throw new AppError('unavailable', `store ${this.id} does not read back what it wrote`);
    } catch (e) {
      throw new AppError('unavailable', `store ${this.id} is not writable: ${(e as Error).message}`, { hint: 'check the directory exists and its permissions', cause: e });
    } finally {
      await rm(p, { force: true });
    }
  }

  async freeBytes(): Promise<number | undefined> {
    await mkdir(this.root, { recursive: true });
    const s = await statfs(this.root);
    return s.bavail * s.bsize;
  }
}

/** Writes go to a temp file renamed into place, so a rewrite changes the inode; an edit in place changes the mtime. */
function localTag(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.mtimeNs}:${st.size}`;
}
