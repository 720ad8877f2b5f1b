/**
 * A small extract for engine tests: encrypted Parquet written with the platform's own writer
 * (`copyQueryToEncryptedParquet`, the one ingestion uses), in a fresh temporary directory.
 * Rows are a pure function of their index, so tests compute expected answers in TypeScript.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDuckDb } from '../duckdb.ts';
import { copyQueryToEncryptedParquet } from '../../parquet-crypto/index.ts';
import type { WorkspaceLimits, WorkspaceSpec } from '../workspace-port.ts';

export const PERSONS = 1000;
export const EVENTS = 6000;
export const DEPTS = ['75', '13', '69', '33'] as const;

export interface Person { readonly person_id: number; readonly birth_year: number; readonly sex: number; readonly dept: string }
export interface Event { readonly person_id: number; readonly drug: string; readonly amount: number; readonly day: number }

export function person(i: number): Person {
  return { person_id: i, birth_year: 1940 + (i % 60), sex: 1 + (i % 2), dept: DEPTS[i % 4] as string };
}

export function event(j: number): Event {
  return { person_id: (j * 7) % PERSONS, drug: `D${j % 5}`, amount: j % 100, day: j % 365 };
}

export const defaultLimits: WorkspaceLimits = {
  memoryBytes: 256 * 1024 * 1024,
  threads: 1,
  tempDiskBytes: 0,
  statementTimeoutMs: 2000,
  rowCap: 100_000,
};

export interface Fixture {
  readonly dir: string;
  readonly key: Buffer;
  /** A workspace spec over the extract, with a fresh scratch directory unless one is given. */
  spec(overrides?: { readonly limits?: Partial<WorkspaceLimits>; readonly scratchDir?: string; readonly quotaBytes?: number; readonly workspaceId?: string }): WorkspaceSpec;
  cleanup(): Promise<void>;
}

/** Writes `persons` (one file) and `events` (two files) encrypted under a fresh project key. */
export async function makeExtract(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-ws-'));
  const key = randomBytes(32);
  const duck = await openDuckDb({ threads: 1 });
  const s = await duck.session();
  try {
    await copyQueryToEncryptedParquet(s, `SELECT range::INTEGER AS person_id, (1940 + range % 60)::INTEGER AS birth_year, (1 + range % 2)::INTEGER AS sex, (['75','13','69','33'])[range % 4 + 1] AS dept FROM range(${PERSONS})`, join(dir, 'persons.parquet'), key);
    const half = EVENTS / 2;
    for (const [n, from] of [[0, 0], [1, half]] as const) {
      await copyQueryToEncryptedParquet(s, `SELECT ((range * 7) % ${PERSONS})::INTEGER AS person_id, 'D' || (range % 5) AS drug, (range % 100)::INTEGER AS amount, DATE '2020-01-01' + (range % 365)::INTEGER AS event_date FROM range(${from}, ${from + half})`, join(dir, `events-${n}.parquet`), key);
    }
  } finally {
    s.close();
    await duck.close();
  }
  let scratchN = 0;
  return {
    dir,
    key,
    spec(o = {}) {
      return {
        workspaceId: o.workspaceId ?? 'test-project',
        extract: [
          { name: 'persons', files: [join(dir, 'persons.parquet')], key },
          { name: 'events', files: [join(dir, 'events-0.parquet'), join(dir, 'events-1.parquet')], key },
        ],
        scratch: { dir: o.scratchDir ?? join(dir, `scratch-${++scratchN}`), key, quotaBytes: o.quotaBytes ?? 64 * 1024 * 1024 },
        limits: { ...defaultLimits, ...o.limits },
      };
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}
