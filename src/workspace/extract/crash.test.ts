import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openPglite } from '../../db/pglite.ts';
import { openPostgres } from '../../db/postgres.ts';
import { permitSha256, type PermitDocument } from '../../governance/index.ts';
import { datasetVersionsFrom, extractCatalogFrom, extractKeysFrom, openDuckDbExtractBuilder } from '../../main.ts';
import { synthesize } from '../../synth/index.ts';
import { testDbKind } from '../../../test/helpers/db.ts';
import { buildServices, openTestPlatform } from '../../../test/helpers/platform.ts';
import { ExtractService } from './service.ts';
import type { ExtractManifest } from '../extract-contract.ts';

const actor = { kind: 'service', id: 'extract-crash-test' } as const;

test(`an extract build killed with SIGKILL after its first table resumes from its checkpoint and ends identical to a fresh build (${testDbKind})`, async () => {
  const p = await openTestPlatform({ pgliteDir: true });
  const pgliteDir = join(p.dir, 'metadata');
  try {
    await p.catalog.importBuiltin(actor);
    await synthesize({ people: 120, startYear: 2020, endYear: 2022, seed: 5, out: join(p.dir, 'synth'), parquet: false });
    await p.ingest.ingest({ dataset: 'snds', inputs: [join(p.dir, 'synth', 'csv')], actor });
    await p.audit.transaction({ actor, action: 'test.project.keys', target: 'project:pk' }, async (tx) => {
      await p.keys.ensureDataKey(tx, 'project', 'pk', 'encryption');
      await p.keys.ensureDataKey(tx, 'project', 'pk', 'pseudonymisation');
    });
    const document: PermitDocument = {
      schemaVersion: 1, projectId: 'pk', title: 'crash',
      datasets: [{ dataset: 'snds', tables: [{ table: 'IR_BEN_R', columns: ['BEN_NIR_PSA', 'BEN_SEX_COD'] }, { table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'PRS_NAT_REF', 'EXE_SOI_DTD'] }, { table: 'T_MCOaaC', columns: ['NIR_ANO_17', 'ENT_DAT'] }] }],
      years: { from: 2021, to: 2022 }, population: { description: 'all', criteria: [] },
      members: [{ personId: 'pi', role: 'principal_investigator' }], tools: ['web_sql'], disclosure: { minimumCellCount: 11 }, validFrom: '2026-01-01', validUntil: '2026-12-31',
    };
    const permit = { version: 1, sha256: permitSha256(document), document };
    const permitFile = join(p.dir, 'permit.json');
    await writeFile(permitFile, JSON.stringify(permit));
    // the child must own the database: the embedded PGlite allows one process at a time
    await p.engine.close();
    await p.t.db.close();

    const child = spawn(process.execPath, [new URL('./crash-child.ts', import.meta.url).pathname, p.dir, pgliteDir, p.t.url ?? '', permitFile, 'pk'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('TABLE ')) resolve();
      });
      child.on('exit', () => reject(new Error(`child exited before the kill: ${out}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    const db = p.t.url !== undefined ? openPostgres(p.t.url) : await openPglite(pgliteDir);
    const s = await buildServices(db, p.dir);
    const builder = await openDuckDbExtractBuilder({ threads: 2 });
    const built: string[] = [];
    const service = new ExtractService({
      db, audit: s.audit, store: s.store, builder, permits: { active: async () => permit },
      catalog: extractCatalogFrom(s.catalog), datasets: datasetVersionsFrom(s.ingest, s.keys, s.store), keys: extractKeysFrom(s.keys),
      afterTable: (t) => {
        built.push(t);
      },
    });
    try {
      assert.deepEqual(await service.progress('pk'), { generation: 1, percent: 33 }, 'the killed build is still building, one table of three checkpointed');
      assert.equal(await service.current('pk'), null);
      const [checkpoint] = await db.query<{ files: unknown }>("SELECT files FROM workspace_extract_tables WHERE project_id = 'pk' AND name = 'ir_ben_r'");
      await service.resumeAll();
      await service.idle();
      const resumed = (await service.current('pk')) as ExtractManifest;
      assert.equal(resumed.generation, 1);
      assert.deepEqual(built, ['er_prs_f', 't_mcoaac'], 'the checkpointed table is not built again');
      const cp = (typeof checkpoint?.files === 'string' ? JSON.parse(checkpoint.files) : checkpoint?.files) as { sha256: string }[];
      assert.equal(resumed.tables[0]?.files[0]?.sha256, cp[0]?.sha256);
      const events = await db.query<{ action: string }>("SELECT action FROM audit_events WHERE target = 'project:pk' AND action LIKE 'workspace.extract.%' ORDER BY seq");
      assert.deepEqual(events.map((e) => e.action), ['workspace.extract.start', 'workspace.extract.table', 'workspace.extract.resume', 'workspace.extract.table', 'workspace.extract.table', 'workspace.extract.commit']);

      // the resumed extract's contents equal a fresh build's (files differ only by their encryption nonces)
      const session = await s.engine.session();
      try {
        await s.keys.withDataKey('project', 'pk', 'encryption', (k) => session.addParquetKey('kpk', k));
        const contents = async (m: ExtractManifest): Promise<string[][]> => {
          const all: string[][] = [];
          for (const t of m.tables) {
            const rows = await session.all(`SELECT * FROM read_parquet([${t.files.map((f) => `'${s.store.localPath(f.path)}'`).join(', ')}], encryption_config = {footer_key: 'kpk'})`);
            all.push(rows.map((r) => JSON.stringify(Object.values(r), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).sort());
          }
          return all;
        };
        const first = await contents(resumed);
        const resumedTables = built.length;
        const fresh = (await service.materialise('pk', { force: true })) as ExtractManifest;
        assert.equal(fresh.generation, 2);
        assert.deepEqual(fresh.tables.map((t) => [t.name, t.rows]), resumed.tables.map((t) => [t.name, t.rows]));
        assert.deepEqual(await contents(fresh), first);
        console.log(`# killed after ${out.trim().split('\n').length} table; built ${resumedTables} more on resume; rows ${resumed.tables.map((t) => `${t.name} ${t.rows}`).join(', ')}: identical to a fresh build`);
      } finally {
        session.close();
      }
    } finally {
      await builder.close();
      await s.engine.close();
      await db.close();
    }
  } finally {
    await p.t.drop().catch(() => undefined);
    await rm(p.dir, { recursive: true, force: true });
  }
});
