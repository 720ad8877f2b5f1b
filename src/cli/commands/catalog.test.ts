import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { AuditLog, generateLogKey } from '../../audit/index.ts';
import { CatalogService } from '../../catalog/index.ts';
import { openTestDb, type TestDb } from '../../../test/helpers/db.ts';
import { writeSndsSchemas } from '../../../test/helpers/snds-schema.ts';
import { catalogImport, catalogLs, catalogSearch, catalogShow } from './catalog.ts';

// The community SNDS schema's structure (test/vectors/schema-snds, MPL-2.0), written to a temporary directory.
let SCHEMAS = '';
const actor = { kind: 'person', id: 'operator-1' } as const;

describe('enclave catalog commands', () => {
  let t: TestDb;
  let svc: CatalogService;
  const capture = () => {
    const chunks: string[] = [];
    return { out: { write: (s: string) => void chunks.push(s) }, text: () => chunks.join('') };
  };

  before(async () => {
    t = await openTestDb();
    SCHEMAS = await writeSndsSchemas();
    svc = new CatalogService({ db: t.db, audit: new AuditLog(t.db, generateLogKey('enclave.test/audit')) });
    await catalogImport(svc, `${SCHEMAS}/DCIR`, { dataset: 'snds', actor }, capture().out);
  });
  after(async () => {
    await t.drop();
    await rm(SCHEMAS, { recursive: true, force: true });
  });

  test('import prints counts, then says when nothing changed', async () => {
    const c = capture();
    await catalogImport(svc, `${SCHEMAS}/DCIR`, { dataset: 'snds', actor }, c.out);
    assert.match(c.text(), /snds\s+16\s/);
    assert.match(c.text(), /already up to date/);
  });

  test('ls prints one aligned line per dataset', async () => {
    const c = capture();
    await catalogLs(svc, c.out);
    assert.match(c.text().split('\n')[2] ?? '', /^snds\s+16\s+\d{3}\s/);
  });

  test('show of a table prints its keys and one line per column with sensitivity', async () => {
    const c = capture();
    await catalogShow(svc, 'snds.ER_PRS_F', c.out);
    assert.match(c.text(), /primary key {2}DCT_ORD_NUM, FLX_DIS_DTD/);
    assert.match(c.text(), /\(BEN_NIR_PSA, BEN_RNG_GEM\) → IR_BEN_R\(BEN_NIR_PSA, BEN_RNG_GEM\)/);
    assert.match(c.text(), /BEN_NIR_PSA\s+string\s+\S*\s*pseudonym/);
  });

  test('show of a column prints its sensitivity reason', async () => {
    const c = capture();
    await catalogShow(svc, 'snds.ER_PRS_F.BEN_NIR_PSA', c.out);
    assert.match(c.text(), /sensitivity\s+pseudonym/);
    assert.match(c.text(), /rule\s+column:BEN_NIR_PSA/);
  });

  test('show of an unknown column is not_found', async () => {
    await assert.rejects(catalogShow(svc, 'snds.ER_PRS_F.NOPE', capture().out), { code: 'not_found' });
  });

  test('show of a malformed reference is invalid', async () => {
    await assert.rejects(catalogShow(svc, 'snds..X', capture().out), { code: 'invalid' });
  });

  test('search prints matches with their full reference', async () => {
    const c = capture();
    await catalogSearch(svc, 'BEN_NIR_PSA', c.out);
    assert.match(c.text(), /column\s+snds\.ER_PRS_F\.BEN_NIR_PSA/);
  });
});
