/**
 * Test-only child process for crash.test.ts: reopens the test's platform and builds a project's
 * extract, announcing each checkpointed table on stdout, then stalls after the first so the
 * parent can SIGKILL it mid-build.
 */
import { readFile } from 'node:fs/promises';
import { openPglite } from '../../db/pglite.ts';
import { openPostgres } from '../../db/postgres.ts';
import { datasetVersionsFrom, extractCatalogFrom, extractKeysFrom, openDuckDbExtractBuilder } from '../../main.ts';
import { buildServices } from '../../../test/helpers/platform.ts';
import { ExtractService } from './service.ts';

const [dir = '', pgliteDir = '', pgUrl = '', permitFile = '', projectId = ''] = process.argv.slice(2);
const db = pgUrl !== '' ? openPostgres(pgUrl) : await openPglite(pgliteDir);
const s = await buildServices(db, dir);
const permit = JSON.parse(await readFile(permitFile, 'utf8')) as { version: number; sha256: string; document: never };
const builder = await openDuckDbExtractBuilder({ threads: 1 });
const service = new ExtractService({
  db, audit: s.audit, store: s.store, builder, permits: { active: async () => permit },
  catalog: extractCatalogFrom(s.catalog), datasets: datasetVersionsFrom(s.ingest, s.keys, s.store), keys: extractKeysFrom(s.keys),
  afterTable: async (table) => {
    process.stdout.write(`TABLE ${table}\n`);
    await new Promise((r) => setTimeout(r, 120_000));
  },
});
await service.materialise(projectId);
process.stdout.write('DONE\n');
