/**
 * Worker thread of `FileHasher`: hashes a local file with SHA-256, copying it on the way when
 * given a destination. Node hashes on the thread that calls it, so hashing in workers is what
 * lets copies and verifications use every core.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';

interface Job {
  readonly id: number;
  readonly src: string;
  readonly dst?: string;
  readonly durable?: boolean;
}

const CHUNK = 4 << 20;

async function run(job: Job): Promise<{ sha256: string; bytes: number }> {
  const r = await open(job.src, 'r');
  const w = job.dst === undefined ? undefined : await open(job.dst, 'wx');
  const hash = createHash('sha256');
  // Two buffers: the next chunk is read while this one is hashed and written.
  let cur = Buffer.allocUnsafe(CHUNK);
  let nxt = Buffer.allocUnsafe(CHUNK);
  let bytes = 0;
  try {
    let n = (await r.read(cur, 0, CHUNK, null)).bytesRead;
    while (n > 0) {
      const reading = r.read(nxt, 0, CHUNK, null);
      // Handled here too: a failed write leaves it pending when the file is closed.
      reading.catch(() => undefined);
      hash.update(cur.subarray(0, n));
      for (let off = 0; w !== undefined && off < n;) off += (await w.write(cur, off, n - off)).bytesWritten;
      bytes += n;
      n = (await reading).bytesRead;
      [cur, nxt] = [nxt, cur];
    }
    if (w !== undefined && job.durable === true) await w.sync();
  } finally {
    await r.close();
    await w?.close();
  }
  return { sha256: hash.digest('hex'), bytes };
}

parentPort?.on('message', (job: Job) => {
  run(job).then(
    (r) => parentPort?.postMessage({ id: job.id, ...r }),
    (e: unknown) => parentPort?.postMessage({ id: job.id, error: { code: (e as NodeJS.ErrnoException).code ?? 'EIO', message: e instanceof Error ? e.message : String(e) } }),
  );
});
