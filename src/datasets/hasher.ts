import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

interface Pending {
  readonly worker: Worker;
  readonly resolve: (r: { sha256: string; bytes: number }) => void;
  readonly reject: (e: NodeJS.ErrnoException) => void;
  /** A stream: bytes the worker has hashed, acknowledged chunk by chunk. */
  readonly ack?: (n: number) => void;
}

interface Reply {
  readonly id: number;
  readonly ack?: number;
  readonly sha256?: string;
  readonly bytes?: number;
  readonly error?: { readonly code: string; readonly message: string };
}

/** Bytes a stream may have posted to its worker and not yet seen hashed, before `update` waits. */
const STREAM_WINDOW = 32 << 20;

/**
 * SHA-256 of a stream computed in a worker thread: `update` posts a copy of each chunk (a
 * memory copy costs a few percent of a hash), `digest` returns the hash of every byte given.
 * Call `digest` or `abort` exactly once; `update` resolves at once unless the worker is
 * STREAM_WINDOW behind.
 */
export interface StreamHash {
  update(chunk: Uint8Array): Promise<void> | undefined;
  digest(): Promise<{ sha256: string; bytes: number }>;
  abort(): void;
}

/**
 * SHA-256 of local files (and local-to-local copies hashed on the way) and of streams, in
 * worker threads, one per core: Node hashes on the calling thread, so on the main thread every
 * copy and every verification of a migration would share one core with the network and the
 * metadata database. Workers start on first use and do not keep the process alive.
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

  /**
   * A SHA-256 computed in a worker over chunks given one by one (a download, an upload's body).
   *
   * @example
   * const h = fileHasher.stream();
   * try { for await (const c of body) await h.update(c); } catch (e) { h.abort(); throw e; }
   * const { sha256, bytes } = await h.digest();
   */
  stream(): StreamHash {
    const id = this.#next++;
    const worker = this.#worker();
    let inflight = 0;
    let wake: (() => void) | undefined;
    let failed: Error | undefined;
    let done = false;
    const result = new Promise<{ sha256: string; bytes: number }>((resolve, reject) => {
      this.#pending.set(id, {
        worker,
        resolve,
        reject: (e) => {
          failed = e;
          wake?.();
          reject(e);
        },
        ack: (n) => {
          inflight -= n;
          if (inflight <= STREAM_WINDOW / 2) wake?.();
        },
      });
    });
    // Awaited by digest; a stream aborted, or whose worker died unawaited, must not crash the process.
    result.catch(() => undefined);
    worker.ref();
    worker.postMessage({ op: 'begin', id });
    return {
      update: (chunk) => {
        if (failed !== undefined) return Promise.reject(failed);
        if (done) throw new Error('hash stream already finished');
        if (chunk.length === 0) return undefined;
        const copy = new ArrayBuffer(chunk.length);
        new Uint8Array(copy).set(chunk);
        inflight += chunk.length;
        worker.postMessage({ op: 'update', id, chunk: copy }, [copy]);
        if (inflight <= STREAM_WINDOW) return undefined;
        return new Promise<void>((resolve, reject) => {
          wake = () => {
            wake = undefined;
            if (failed !== undefined) reject(failed);
            else resolve();
          };
        });
      },
      digest: () => {
        if (done) throw new Error('hash stream already finished');
        done = true;
        worker.postMessage({ op: 'digest', id });
        return result;
      },
      abort: () => {
        if (done) return;
        done = true;
        worker.postMessage({ op: 'abort', id });
        if (this.#pending.delete(id)) this.#settled(worker);
      },
    };
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
        if (m.ack !== undefined) {
          p.ack?.(m.ack);
          return;
        }
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
