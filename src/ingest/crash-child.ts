/**
 * Test-only child process for crash.test.ts: reopens the platform of a test and ingests a
 * delivery, announcing each finished file on stdout, then stalls so the parent can SIGKILL it
 * mid-delivery.
 */
import { openPglite } from '../db/pglite.ts';
import { openPostgres } from '../db/postgres.ts';
import { buildServices } from '../../test/helpers/platform.ts';

const [dir = '', delivery = '', pgliteDir = '', pgUrl = ''] = process.argv.slice(2);
const db = pgUrl !== '' ? openPostgres(pgUrl) : await openPglite(pgliteDir);
const s = await buildServices(db, dir);
let files = 0;
await s.ingest.ingest({
  dataset: 'snds',
  inputs: [delivery],
  actor: { kind: 'service', id: 'crash-child' },
  afterFile: async (file) => {
    files++;
    process.stdout.write(`FILE ${file}\n`);
    if (files === 3) await new Promise((r) => setTimeout(r, 120_000));
  },
});
process.stdout.write('DONE\n');
