/**
 * Worker thread for the line scan of a large file (`lineCounts` in typed-reading.ts): runs a
 * compiled line automaton over the file it is sent and answers with the counts. One message in,
 * `{ path, automaton, limit? }`; one out, `{ counts }` or `{ error }`.
 */
import { parentPort } from 'node:worker_threads';
import { scanFile, type LineAutomaton } from './line-automaton.ts';

const port = parentPort;
if (port !== null) {
  port.once('message', (m: { path: string; automaton: LineAutomaton; limit?: number }) => {
    scanFile(m.path, m.automaton, m.limit).then(
      (counts) => port.postMessage({ counts }),
      (e: unknown) => port.postMessage({ error: e instanceof Error ? e.message : String(e) }),
    );
  });
}
