/**
 * The engine spec's extract on Trino: the same rows as `fixture.ts` (a pure function of their
 * index), materialised with Trino SQL into the workspace's schema by the admin user, as the Trino
 * extract builder would. Trino cannot read the DuckDB fixture's Parquet Modular Encryption files,
 * so the rows are generated in place rather than copied.
 *
 * Tests run on Trino only where `ENCLAVE_TRINO_URL` and `ENCLAVE_TRINO_RULES_FILE` are set
 * (`scripts/trino.sh start` prints the first; the second is `<its home>/etc/rules.json`).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TrinoClient } from '../trino/client.ts';
import { trinoIdent, workspaceSchema } from '../trino/engine.ts';
import { ADMIN_USER } from '../trino/rules.ts';
import { EVENTS, PERSONS } from './fixture.ts';

export interface TrinoTarget {
  readonly url: string;
  readonly rulesFile: string;
}

/** The Trino this run may use, or why there is none (printed by the caller: never skipped silently). */
export function trinoTarget(env: Readonly<Record<string, string | undefined>>): TrinoTarget | { readonly skip: string } {
  const url = env.ENCLAVE_TRINO_URL;
  const rulesFile = env.ENCLAVE_TRINO_RULES_FILE;
  if (url === undefined || url === '') return { skip: 'ENCLAVE_TRINO_URL is not set (start one with `scripts/trino.sh start` and export the URL it prints)' };
  if (rulesFile === undefined || rulesFile === '') return { skip: 'ENCLAVE_TRINO_RULES_FILE is not set (the rules.json the coordinator reads: `$(scripts/trino.sh home)/etc/rules.json`)' };
  return { url, rulesFile };
}

/** Checks the server answers and has started; returns why not otherwise. */
export async function trinoReachable(t: TrinoTarget): Promise<string | undefined> {
  return (await new TrinoClient({ url: t.url }).started()) ? undefined : `Trino at ${t.url} does not answer /v1/info with starting=false`;
}

/** (Re)creates the workspace schema with `persons` and `events`, replacing any earlier content. */
export async function materialiseTrinoFixture(t: TrinoTarget, workspaceId: string): Promise<void> {
  const c = new TrinoClient({ url: t.url });
  const schema = trinoIdent(workspaceSchema(workspaceId));
  const as = { user: ADMIN_USER, catalog: 'enclave' };
  const existing = await c.query(`SELECT table_name, table_type FROM enclave.information_schema.tables WHERE table_schema = '${workspaceSchema(workspaceId)}'`, as);
  for (const [name, type] of existing.rows) await c.query(`DROP ${type === 'VIEW' ? 'VIEW' : 'TABLE'} ${schema}.${trinoIdent(String(name))}`, as);
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`, as);
  // sequence() is capped at 10 000 elements: both tables fit.
  await c.query(`CREATE TABLE ${schema}.persons WITH (format = 'PARQUET') AS SELECT CAST(i AS INTEGER) AS person_id, CAST(1940 + i % 60 AS INTEGER) AS birth_year, CAST(1 + i % 2 AS INTEGER) AS sex, CAST(element_at(ARRAY['75', '13', '69', '33'], CAST(i % 4 + 1 AS INTEGER)) AS VARCHAR) AS dept FROM UNNEST(sequence(0, ${PERSONS - 1})) AS t(i)`, as);
  await c.query(`CREATE TABLE ${schema}.events WITH (format = 'PARQUET') AS SELECT CAST((j * 7) % ${PERSONS} AS INTEGER) AS person_id, CAST('D' || CAST(j % 5 AS VARCHAR) AS VARCHAR) AS drug, CAST(j % 100 AS INTEGER) AS amount, date_add('day', j % 365, DATE '2020-01-01') AS event_date FROM UNNEST(sequence(0, ${EVENTS - 1})) AS t(j)`, as);
}

/**
 * Holds the development Trino for one test file until the returned function is called. The test
 * files that register dataset versions share the `enclave` catalog's dataset schemas
 * (`snds_v1`, …) and the rules file, and the runner runs two files at once: they take turns.
 * A lock whose holder process is gone is taken over.
 */
export async function trinoExclusive(t: TrinoTarget, timeoutMs = 20 * 60_000): Promise<() => Promise<void>> {
  const dir = join(tmpdir(), `enclave-trino-lock-${createHash('sha256').update(t.url).digest('hex').slice(0, 12)}`);
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, 'pid'), String(process.pid));
      return () => rm(dir, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => '0'));
    let alive = holder === 0; // the holder has not written its pid yet: wait
    if (holder > 0) {
      try {
        process.kill(holder, 0);
        alive = true;
      } catch {
        alive = false;
      }
    }
    if (!alive) await rm(dir, { recursive: true, force: true });
    if (Date.now() > end) throw new Error(`another test file held the Trino at ${t.url} for more than ${timeoutMs / 60_000} minutes (lock ${dir})`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
