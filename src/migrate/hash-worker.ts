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
  const buf = Buffer.allocUnsafe(CHUNK);
  let bytes = 0;
  try {
    for (;;) {
      const { bytesRead } = await r.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
      for (let off = 0; w !== undefined && off < bytesRead;) off += (await w.write(buf, off, bytesRead - off)).bytesWritten;
      bytes += bytesRead;
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
