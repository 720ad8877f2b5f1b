/**
 * Worker thread of `FileHasher`: hashes a local file with SHA-256, copying it on the way when
 * given a destination, or hashes a stream whose chunks the main thread posts to it. Node hashes
 * on the thread that calls it, so hashing in workers is what lets copies and verifications use
 * every core, and leaves the main thread to the network (S3) and the metadata database.
 */
import { createHash, type Hash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';

interface FileJob {
  readonly op?: undefined;
  readonly id: number;
  readonly src: string;
  readonly dst?: string;
  readonly durable?: boolean;
}

/** A stream hashed chunk by chunk: begin, update (each acknowledged), then digest or abort. */
type StreamJob =
  | { readonly op: 'begin'; readonly id: number }
  | { readonly op: 'update'; readonly id: number; readonly chunk: ArrayBuffer }
  | { readonly op: 'digest'; readonly id: number }
  | { readonly op: 'abort'; readonly id: number };

const CHUNK = 4 << 20;

async function run(job: FileJob): Promise<{ sha256: string; bytes: number }> {
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
      // The bytes hashed are the bytes written: one read of the source for both.
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

const streams = new Map<number, { hash: Hash; bytes: number }>();

function stream(job: StreamJob): void {
  switch (job.op) {
    case 'begin':
      streams.set(job.id, { hash: createHash('sha256'), bytes: 0 });
      return;
    case 'update': {
      const s = streams.get(job.id);
      if (s === undefined) return;
      s.hash.update(new Uint8Array(job.chunk));
      s.bytes += job.chunk.byteLength;
      parentPort?.postMessage({ id: job.id, ack: job.chunk.byteLength });
      return;
    }
    case 'digest': {
      const s = streams.get(job.id);
      streams.delete(job.id);
      if (s === undefined) parentPort?.postMessage({ id: job.id, error: { code: 'EINVAL', message: 'no such hash stream' } });
      else parentPort?.postMessage({ id: job.id, sha256: s.hash.digest('hex'), bytes: s.bytes });
      return;
    }
    case 'abort':
      streams.delete(job.id);
      return;
  }
}

parentPort?.on('message', (job: FileJob | StreamJob) => {
  if (job.op !== undefined) {
    stream(job);
    return;
  }
  run(job).then(
    (r) => parentPort?.postMessage({ id: job.id, ...r }),
    (e: unknown) => parentPort?.postMessage({ id: job.id, error: { code: (e as NodeJS.ErrnoException).code ?? 'EIO', message: e instanceof Error ? e.message : String(e) } }),
  );
});
