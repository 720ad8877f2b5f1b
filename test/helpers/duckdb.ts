/** A DuckDB engine and one session for the duration of a test's function, both closed after it. */
import { openDuckDb } from '../../src/engine/duckdb.ts';

export type DuckSession = Awaited<ReturnType<Awaited<ReturnType<typeof openDuckDb>>['session']>>;

/** Runs `fn` with a session of a new in-memory engine (one thread unless told). */
export async function withDuckSession(fn: (s: DuckSession) => Promise<void>, threads = 1): Promise<void> {
  const engine = await openDuckDb({ threads });
  const s = await engine.session();
  try {
    await fn(s);
  } finally {
    s.close();
    await engine.close();
  }
}
