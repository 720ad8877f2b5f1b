import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openPglite } from '../db/pglite.ts';
import { openPostgres } from '../db/postgres.ts';
import { synthesize } from '../synth/index.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { buildServices, openTestPlatform } from '../../test/helpers/platform.ts';

const actor = { kind: 'service', id: 'crash-test' } as const;

test(`a delivery killed with SIGKILL mid-way leaves the previous version readable and the rerun completes (${testDbKind})`, async () => {
  const p = await openTestPlatform({ pgliteDir: true });
  const pgliteDir = join(p.dir, 'metadata');
  try {
    await p.catalog.importBuiltin(actor);
    await synthesize({ people: 300, startYear: 2020, endYear: 2021, seed: 1, out: join(p.dir, 'a'), parquet: false });
    await synthesize({ people: 400, startYear: 2020, endYear: 2021, seed: 2, out: join(p.dir, 'b'), parquet: false });
    const first = await p.ingest.ingest({ dataset: 'snds', inputs: [join(p.dir, 'a', 'csv')], actor });
    assert.equal(first.version, 1);
    // The child must own the database: the embedded PGlite allows one process at a time.
    await p.engine.close();
    await p.t.db.close();

    const child = spawn(process.execPath, [new URL('./crash-child.ts', import.meta.url).pathname, p.dir, join(p.dir, 'b', 'csv'), pgliteDir, p.t.url ?? ''], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if ((out.match(/^FILE /gm) ?? []).length >= 3) resolve();
      });
      child.on('exit', () => reject(new Error(`child exited before the kill: ${out}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const db = p.t.url !== undefined ? openPostgres(p.t.url) : await openPglite(pgliteDir);
    const s = await buildServices(db, p.dir);
    try {
      assert.deepEqual((await s.ingest.versions('snds')).map((v) => v.version), [1], 'the killed delivery is not visible');
      const v1 = await s.ingest.version('snds', 1);
      const session = await s.engine.session();
      try {
        await s.datasets.attachVersion(session, v1);
        const rows = await session.all<{ n: bigint }>('SELECT count(*) AS n FROM ds.ER_PRS_F');
        assert.equal(Number(rows[0]?.n), v1.manifest.files.filter((f) => f.table === 'ER_PRS_F').reduce((a, f) => a + f.rows, 0));
      } finally {
        session.close();
      }
      const staging = await readdir(join(p.dir, 'store', 'datasets', 'snds', '.staging'));
      assert.equal(staging.length, 1, 'the killed run left its staging directory');

      const rerun = await s.ingest.ingest({ dataset: 'snds', inputs: [join(p.dir, 'b', 'csv')], actor });
      assert.equal(rerun.version, 2);
      assert.equal(rerun.alreadyIngested, false);
      assert.deepEqual(await readdir(join(p.dir, 'store', 'datasets', 'snds', '.staging')), [], 'the dead run was cleaned up');
      const runs = await db.query<{ status: string }>("SELECT status FROM ingest_runs WHERE dataset = 'snds' ORDER BY started_at");
      assert.deepEqual(runs.map((r) => r.status), ['committed', 'abandoned', 'committed']);
    } finally {
      await s.engine.close();
      await db.close();
    }
  } finally {
    await p.t.drop().catch(() => undefined);
    const { rm } = await import('node:fs/promises');
    await rm(p.dir, { recursive: true, force: true });
  }
});
