/**
 * Worker thread for `hashFiles`: SHA-256 of the files it is sent, one at a time, with progress.
 * Messages in: `{ index, path }` or `null` (stop). Out: `{ index, bytes }` while reading, then
 * `{ index, sha256 }`.
 */
import { parentPort } from 'node:worker_threads';
import { hashFile } from './files.ts';

const port = parentPort;
if (port !== null) {
  port.on('message', (m: { index: number; path: string } | null) => {
    if (m === null) {
      port.close();
      return;
    }
    hashFile(m.path, (bytes) => port.postMessage({ index: m.index, bytes }))
      .then((sha256) => port.postMessage({ index: m.index, sha256 }))
      .catch((e: unknown) => port.postMessage({ index: m.index, error: e instanceof Error ? e.message : String(e) }));
  });
}
