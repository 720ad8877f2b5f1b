import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

interface Pending {
  readonly worker: Worker;
  readonly resolve: (r: { sha256: string; bytes: number }) => void;
  readonly reject: (e: NodeJS.ErrnoException) => void;
}

interface Reply {
  readonly id: number;
  readonly sha256?: string;
  readonly bytes?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/**
 * SHA-256 of local files (and local-to-local copies hashed on the way) in worker threads, one
 * per core: Node hashes on the calling thread, so on the main thread every copy and every
 * verification of a migration would share one core. Workers start on first use and do not keep
 * the process alive.
 */
export class FileHasher {
  readonly #size: number;
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  #next = 0;
  #turn = 0;

  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    this.#size = size;
  }

  /** SHA-256 and size of `src`; with `dst`, `src` is also copied to `dst` (created, must not exist), fsynced if `durable`. */
  hash(src: string, o: { readonly dst?: string; readonly durable?: boolean } = {}): Promise<{ sha256: string; bytes: number }> {
    const id = this.#next++;
    const worker = this.#worker();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { worker, resolve, reject });
      // Kept alive while it works for someone, not when idle.
      worker.ref();
      worker.postMessage({ id, src, ...o });
    });
  }

  #settled(w: Worker): void {
    if (![...this.#pending.values()].some((p) => p.worker === w)) w.unref();
  }

  #worker(): Worker {
    if (this.#workers.length < this.#size) {
      const w = new Worker(new URL('./hash-worker.ts', import.meta.url));
      w.unref();
      w.on('message', (m: Reply) => {
        const p = this.#pending.get(m.id);
        if (p === undefined) return;
        this.#pending.delete(m.id);
        this.#settled(w);
        if (m.error !== undefined) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
        else p.resolve({ sha256: m.sha256 ?? '', bytes: m.bytes ?? 0 });
      });
      const fail = (e: Error): void => {
        // A worker that dies fails what it was doing; the next call starts another.
        for (const [id, p] of this.#pending) {
          if (p.worker !== w) continue;
          this.#pending.delete(id);
          p.reject(e);
        }
        const i = this.#workers.indexOf(w);
        if (i >= 0) this.#workers.splice(i, 1);
      };
      w.on('error', fail);
      w.on('exit', (code) => fail(new Error(`hash worker exited with code ${code}`)));
      this.#workers.push(w);
      return w;
    }
    const w = this.#workers[this.#turn++ % this.#workers.length];
    if (w === undefined) throw new Error('no hash worker');
    return w;
  }
}

/** The process's pool: workers are shared by every store and every migration. */
export const fileHasher = new FileHasher();
