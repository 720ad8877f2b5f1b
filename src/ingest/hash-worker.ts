/**
 * Worker thread for `hashFiles`: SHA-256 of the files it is sent, one at a time, with progress.
 * Messages in: `{ index, path }` or `null` (stop). Out: `{ index, bytes }` while reading, then
 * `{ index, sha256 }`.
 *
 * The worker does nothing else, so it reads synchronously into one reused buffer: about twice
 * the speed of a read stream's fresh 4 MB chunks, for half the CPU (measured on a 510 MB file:
 * 0.38 s against 0.53-0.78 s). It imports node's modules only, so that it starts at once.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

const CHUNK = 1024 * 1024;
/** Progress is reported every this many bytes (and at the end). */
const REPORT_EVERY = 16 * 1024 * 1024;

function hashFileSync(path: string, onBytes: (n: number) => void): string {
  const h = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(path, 'r');
  let pending = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pending += n;
      if (pending >= REPORT_EVERY) {
        onBytes(pending);
        pending = 0;
      }
    }
  } finally {
    closeSync(fd);
  }
  if (pending > 0) onBytes(pending);
  return h.digest('hex');
}

const port = parentPort;
if (port !== null) {
  port.on('message', (m: { index: number; path: string } | null) => {
    if (m === null) {
      port.close();
      return;
    }
    try {
      const sha256 = hashFileSync(m.path, (bytes) => port.postMessage({ index: m.index, bytes }));
      port.postMessage({ index: m.index, sha256 });
    } catch (e) {
      port.postMessage({ index: m.index, error: e instanceof Error ? e.message : String(e) });
    }
  });
}
