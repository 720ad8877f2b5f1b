import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { AppError } from '../errors.ts';
import type { Store, StoreEntry } from './port.ts';

/** A directory on local disk (or a mounted volume). Directory renames give atomic publication. */
export class LocalStore implements Store {
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
        else if (e.isFile()) out.push({ key: relative(this.root, p).split(sep).join('/'), bytes: (await stat(p)).size });
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
}
