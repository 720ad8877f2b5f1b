import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { HAND_TUNED_TABLES, mainBaseTables, synthesize } from '../synth/index.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { openTestPlatform } from '../../test/helpers/platform.ts';
import { parseProfile } from './profile.ts';

const actor = { kind: 'service', id: 'main-base-test' } as const;
const PEOPLE = 400;

/**
 * `enclave synth --scope main` in each producer convention, ingested with the real ingestion:
 * every row accounted for, the report equal to the defect ledger, every table of the main base
 * landing rows, every relation between delivered tables whole except the death-id defect.
 */
for (const convention of (process.env['MAIN_ONLY'] ?? 'iso,cnam,hdh,dmy,community').split(',')) {
  test(`the main base in the ${convention} convention lands every table; the report equals the ledger; only the death-id relation is broken (${testDbKind})`, async () => {
    const p = await openTestPlatform();
    try {
      await p.catalog.importBuiltin(actor);
      const out = join(p.dir, 'delivery');
      const stats = await synthesize({ people: PEOPLE, startYear: 2022, endYear: 2022, seed: 5, out, defects: 0.004, parquet: false, profile: convention, scope: 'main', brokenRelations: true });
      const ledger = (await readFile(join(out, 'defects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { file: string; line: number; column: string });
      const profile = parseProfile(JSON.parse(await readFile(join(out, 'profile.json'), 'utf8')));
      assert.deepEqual(Object.keys(stats.rows).sort(), mainBaseTables().filter((t) => HAND_TUNED_TABLES.has(t) || stats.parents?.[t] !== undefined || /^(IR_IBA_R|IR_IMB_R|T_[A-Z]{3}aa(E|B|FB|FASTC|R3A))$/.test(t)).sort());

      const r = await p.ingest.ingest({ dataset: 'snds', inputs: [join(out, 'csv')], actor, profile, checkRelations: true, acceptShortTables: true });
      const total = Object.values(stats.files).reduce((a, b) => a + b, 0);
      assert.equal(r.rowsAccepted + r.rowsQuarantined, total);
      const page = await p.ingest.runReport(r.runId, { limit: 10_000 });
      const blamed = new Map<string, Set<string>>();
      for (const e of page.entries) blamed.set(`${e.file}:${e.line}`, (blamed.get(`${e.file}:${e.line}`) ?? new Set()).add(e.column));
      const expected = new Set(ledger.map((x) => `${basename(x.file)}:${x.line}`));
      assert.deepEqual([...blamed.keys()].filter((k) => !expected.has(k)).slice(0, 10), [], 'no good row quarantined');
      assert.deepEqual([...expected].filter((k) => !blamed.has(k)), [], 'every spoiled row quarantined');
      for (const x of ledger) assert.ok(blamed.get(`${basename(x.file)}:${x.line}`)?.has(x.column), `${x.file}:${x.line} blamed on ${x.column}`);
      assert.equal(r.rowsQuarantined, ledger.length);

      for (const [t, n] of Object.entries(stats.rows)) {
        const rep = r.quarantine.byTable[t];
        assert.equal(rep?.rowsDelivered, n, `${t} delivered`);
        assert.equal(rep.rowsLanded + rep.rowsQuarantined, n, `${t}: landed + quarantined = delivered`);
        assert.ok(rep.rowsLanded > 0, `${t} lands rows`);
      }
      const relations = r.quarantine.relations ?? [];
      assert.ok(relations.length > 100, `${relations.length} relations checked`);
      assert.deepEqual(relations.filter((x) => x.orphans > 0).map((x) => x.relation).sort(), [...stats.brokenRelations].sort());
      for (const rel of relations) if (/^(ER_[A-Z]{3}_F\(DCT_ORD_NUM|T_[A-Z]{3}aa\w+\((ETA_NUM|NIR_ANO_17))/.test(rel.relation)) assert.ok(rel.rowsChecked > 0 || rel.orphans === 0, rel.relation);
    } finally {
      await p.close();
    }
  });
}
