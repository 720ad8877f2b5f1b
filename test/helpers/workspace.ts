/**
 * Workspace fixtures: the real governance services (test/helpers/governance.ts), a real small
 * encrypted extract (src/engine/spec/fixture.ts: Parquet written by the platform's writer), the
 * real DuckDB sandbox, and a small `ExtractSource` over that extract, so that the service's
 * tests choose the extract's content exactly (the extract service has its own tests, and the
 * portal's workspace journey runs on the real one).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkspaceEngine, WorkspaceLimits } from '../../src/engine/index.ts';
import { openDuckDb } from '../../src/engine/duckdb.ts';
import { openDuckDbSandbox } from '../../src/engine/duckdb-sandbox/sandbox.ts';
import { copyQueryToEncryptedParquet } from '../../src/parquet-crypto/index.ts';
import { defaultLimits, makeExtract, type Fixture } from '../../src/engine/spec/fixture.ts';
import { WorkspaceService, type ExtractManifest, type ExtractSource } from '../../src/workspace/index.ts';
import type { EscapeTargets } from './workspace-escapes.ts';
import { openGovFixture, type GovFixture } from './governance.ts';

/** The extract of the engine fixture, described as the extract service would. */
export function fixtureManifest(ex: Fixture, projectId: string, generation = 1): ExtractManifest {
  return {
    projectId, permitId: 'permit-test', permitVersion: generation, generation, state: 'ready', keyId: 'dk_test', rekeyKeyId: 'dk_test_rekey',
    datasetVersions: [{ dataset: 'snds', version: 1 }], years: { from: 2019, to: 2023 },
    tables: [
      {
        name: 'persons', dataset: 'snds', table: 'IR_BEN_R', rows: 1000,
        columns: [
          { name: 'person_id', type: 'INTEGER', source: 'BEN_NIR_PSA', rekeyed: true },
          { name: 'birth_year', type: 'INTEGER', source: 'BEN_NAI_ANN', rekeyed: false },
          { name: 'sex', type: 'INTEGER', source: 'BEN_SEX_COD', rekeyed: false },
          { name: 'dept', type: 'VARCHAR', source: 'BEN_RES_DPT', rekeyed: false },
        ],
        files: [{ path: 'extracts/persons.parquet', bytes: 0, rows: 1000, sha256: '0'.repeat(64) }],
      },
      {
        name: 'events', dataset: 'snds', table: 'ER_PRS_F', rows: 6000,
        columns: [
          { name: 'person_id', type: 'INTEGER', source: 'BEN_NIR_PSA', rekeyed: true },
          { name: 'drug', type: 'VARCHAR', source: 'PRS_NAT_REF', rekeyed: false },
          { name: 'amount', type: 'INTEGER', source: 'PRS_ACT_QTE', rekeyed: false },
          { name: 'event_date', type: 'DATE', source: 'EXE_SOI_DTD', rekeyed: false },
        ],
        files: [0, 1].map((n) => ({ path: `extracts/events-${n}.parquet`, bytes: 0, rows: 3000, sha256: '0'.repeat(64) })),
      },
    ],
    createdAt: '2026-03-01T10:00:00.000Z', completedAt: '2026-03-01T10:00:01.000Z', error: null,
  };
}

/** An ExtractSource over the fixture's files: projects marked ready have that extract. */
export class FixtureExtracts implements ExtractSource {
  readonly ready = new Set<string>();
  readonly destroyed: string[] = [];
  /** Materialisations per project (1 unless a test says a new one was built). */
  readonly generations = new Map<string, number>();
  readonly #ex: Fixture;

  constructor(ex: Fixture) {
    this.#ex = ex;
  }

  async current(projectId: string): Promise<ExtractManifest | null> {
    return this.ready.has(projectId) ? fixtureManifest(this.#ex, projectId, this.generations.get(projectId) ?? 1) : null;
  }

  async openForEngine(projectId: string) {
    const manifest = await this.current(projectId);
    if (manifest === null) throw new Error(`no extract for ${projectId}`);
    const dir = this.#ex.dir;
    return {
      manifest,
      tables: [
        { name: 'persons', files: [join(dir, 'persons.parquet')], key: this.#ex.key },
        { name: 'events', files: [join(dir, 'events-0.parquet'), join(dir, 'events-1.parquet')], key: this.#ex.key },
      ],
    };
  }

  async destroy(projectId: string): Promise<void> {
    this.ready.delete(projectId);
    this.destroyed.push(projectId);
  }
}

export interface WorkspaceFixture {
  readonly f: GovFixture;
  readonly ex: Fixture;
  readonly engine: WorkspaceEngine;
  readonly extracts: FixtureExtracts;
  readonly ws: WorkspaceService;
  readonly scratchRoot: string;
  /** A project driven to active (applicant PI, member in the permit) with its extract ready. */
  activeProject(): Promise<string>;
  close(): Promise<void>;
}

export async function openWorkspaceFixture(o: { readonly limits?: Partial<WorkspaceLimits>; readonly quotaBytes?: number; readonly killGraceMs?: number; readonly idleMs?: number } = {}): Promise<WorkspaceFixture> {
  const f = await openGovFixture();
  const ex = await makeExtract();
  const scratchRoot = await mkdtemp(join(tmpdir(), 'enclave-scratch-'));
  const engine = openDuckDbSandbox({ killGraceMs: o.killGraceMs ?? 2000 });
  const extracts = new FixtureExtracts(ex);
  const ws = new WorkspaceService({
    db: f.t.db, audit: f.audit, governance: f.gov, keys: f.keys, engine, extracts, scratchRoot,
    limits: { ...defaultLimits, statementTimeoutMs: 10_000, ...o.limits }, quotaBytes: o.quotaBytes ?? 64 * 1024 * 1024,
    catalogue: (d, t) => f.catalog.getTable(d, t),
    ...(o.idleMs === undefined ? {} : { idleMs: o.idleMs }),
  });
  return {
    f, ex, engine, extracts, ws, scratchRoot,
    async activeProject() {
      const id = await f.projectAt('active');
      extracts.ready.add(id);
      return id;
    },
    async close() {
      await ws.close();
      await engine.close();
      await f.close();
      await ex.cleanup();
      await rm(scratchRoot, { recursive: true, force: true });
    },
  };
}

/** What the escape corpus tries to reach, written beside the extract, with a canary to detect leaks. */
export interface EscapeSetup extends EscapeTargets {
  readonly canary: string;
  /** True when the text holds the canary or a path the statement itself did not name. */
  leaks(text: string, sql: string): boolean;
}

export async function makeEscapeTargets(ex: Fixture): Promise<EscapeSetup> {
  const canary = `CANARY-${randomBytes(6).toString('hex')}`;
  const secret = join(ex.dir, 'secret.csv');
  await writeFile(secret, `name\n${canary}\n`);
  const keyring = join(ex.dir, 'keyring.json');
  await writeFile(keyring, JSON.stringify({ master: canary }));
  await mkdir(join(ex.dir, 'other-project'), { recursive: true });
  const other = join(ex.dir, 'other-project', 'persons.parquet');
  const duck = await openDuckDb({ threads: 1 });
  const s = await duck.session();
  try {
    await copyQueryToEncryptedParquet(s, `SELECT '${canary}' AS name`, other, ex.key);
  } finally {
    s.close();
    await duck.close();
  }
  const extractFile = join(ex.dir, 'persons.parquet');
  return {
    dir: ex.dir, secret, keyring, other, extractFile, canary,
    leaks(text, sql) {
      if (text.includes(canary)) return true;
      return [ex.dir, extractFile, join(ex.dir, 'events-0.parquet')].some((p) => text.includes(p) && !sql.includes(p));
    },
  };
}
