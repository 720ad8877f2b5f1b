import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { HAND_TUNED_TABLES, catalogueTableOf, mainBaseTables, synthesize, type SynthStats } from '../synth/index.ts';
import type { TableReport } from './index.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { openTestPlatform } from '../../test/helpers/platform.ts';
import { parseProfile } from './profile.ts';

const actor = { kind: 'service', id: 'main-base-test' } as const;
const PEOPLE = 400;

/**
 * `enclave synth --scope main` in each producer convention, ingested with the real ingestion:
 * every table of the main base lands rows, landed + quarantined = delivered per table, and the
 * report equals the defect ledger. The metadata database plays no part in reading files: the
 * conventions other than ISO run on the first pass only (PGlite), which keeps the suite's time.
 */
for (const convention of ['cnam', 'hdh', 'dmy', 'community', 'sas'] as const) {
  test(`the main base in the ${convention} convention lands every table and the report equals the defect ledger (${testDbKind})`, { skip: testDbKind === 'postgres' ? 'read once, on the PGlite pass' : false }, async () => {
    const p = await openTestPlatform();
    try {
      await p.catalog.importBuiltin(actor);
      const out = join(p.dir, 'delivery');
      const stats = await synthesize({ people: PEOPLE, startYear: 2022, endYear: 2022, seed: 5, out, defects: 0.004, parquet: false, profile: convention, scope: 'main', brokenRelations: true });
      const ledger = (await readFile(join(out, 'defects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { file: string; line: number; column: string });
      assert.ok(ledger.length > 50, `${ledger.length} defects`);
      assert.ok(ledger.some((x) => !HAND_TUNED_TABLES.has(catalogueTableOf(basename(x.file)) ?? '')), 'defects in the catalogue-generated tables too');
      const profile = parseProfile(JSON.parse(await readFile(join(out, 'profile.json'), 'utf8')));

      const r = await p.ingest.ingest({ dataset: 'snds', inputs: [join(out, 'csv')], actor, profile, checkRelations: true, acceptShortTables: true });
      assertEveryTableLands(stats, r.quarantine.byTable);
      const page = await p.ingest.runReport(r.runId, { limit: 10_000 });
      const blamed = new Map<string, Set<string>>();
      for (const e of page.entries) blamed.set(`${e.file}:${e.line}`, (blamed.get(`${e.file}:${e.line}`) ?? new Set()).add(e.column));
      const expected = new Set(ledger.map((x) => `${basename(x.file)}:${x.line}`));
      assert.deepEqual([...blamed.keys()].filter((k) => !expected.has(k)).slice(0, 10), [], 'no good row quarantined');
      assert.deepEqual([...expected].filter((k) => !blamed.has(k)), [], 'every spoiled row quarantined');
      for (const x of ledger) assert.ok(blamed.get(`${basename(x.file)}:${x.line}`)?.has(x.column), `${x.file}:${x.line} blamed on ${x.column}`);
      assert.equal(r.rowsQuarantined, ledger.length);
      // Quarantined rows leave orphans behind them; the death-id relations match nothing at all.
      const relations = r.quarantine.relations ?? [];
      for (const b of stats.brokenRelations) assert.equal(relations.find((x) => x.relation === b)?.matchesNothing, true, b);
    } finally {
      await p.close();
    }
  });
}

test(`the clean main base joins: satellites to their central tables, chaining to IR_BEN_R; only the death-id relation (DCD_IDT_ENC) is broken (${testDbKind})`, async () => {
  const p = await openTestPlatform();
  try {
    await p.catalog.importBuiltin(actor);
    const out = join(p.dir, 'delivery');
    const stats = await synthesize({ people: PEOPLE, startYear: 2022, endYear: 2022, seed: 5, out, parquet: false, scope: 'main', brokenRelations: true });
    assert.deepEqual(Object.keys(stats.rows).sort(), mainBaseTables().filter((t) => HAND_TUNED_TABLES.has(t) || stats.parents?.[t] !== undefined || /^(IR_IBA_R|IR_IMB_R|T_[A-Z]{3}aa(E|B|FB|FASTC|R3A))$/.test(t)).sort());
    const r = await p.ingest.ingest({ dataset: 'snds', inputs: [join(out, 'csv')], actor, checkRelations: true });
    assert.equal(r.rowsQuarantined, 0);
    assertEveryTableLands(stats, r.quarantine.byTable);
    const relations = r.quarantine.relations ?? [];
    assert.ok(relations.length > 150, `${relations.length} relations checked`);
    assert.deepEqual(relations.filter((x) => x.orphans > 0).map((x) => x.relation).sort(), [...stats.brokenRelations].sort());
    // The death-id defect breaks the certificate's encrypted id only: the person's id still joins.
    assert.deepEqual(stats.brokenRelations, ['KI_ECD_R(DCD_IDT_ENC) → KI_CCI_R(DCD_IDT_ENC)']);
    assert.equal(relations.find((x) => x.relation === stats.brokenRelations[0])?.matchesNothing, true);
    for (const joined of ['KI_ECD_R(BEN_IDT_ANO) → KI_CCI_R(BEN_IDT_ANO)', 'KI_ECD_R(BEN_IDT_ANO) → IR_IBA_R(BEN_IDT_ANO)']) {
      assert.equal(relations.find((x) => x.relation === joined)?.rowsChecked, stats.rows['KI_ECD_R'], joined);
    }
    // Every generated satellite is checked against the table it hangs from (its key is filled, not blank).
    for (const t of Object.keys(stats.parents ?? {})) assert.ok(relations.some((x) => x.relation.startsWith(`${t}(`) && x.rowsChecked > 0), `${t} joins`);
    for (const chaining of ['T_MCOaaC', 'T_SSRaaC', 'T_HADaaC', 'T_RIPaaC', 'T_MCOaaCSTC']) {
      const rel = relations.find((x) => x.relation === `${chaining}(NIR_ANO_17) → IR_BEN_R(BEN_NIR_PSA)`);
      assert.ok(rel !== undefined && rel.rowsChecked === stats.rows[chaining] && rel.orphans === 0, `${chaining}.NIR_ANO_17 = BEN_NIR_PSA`);
    }
    // Psychiatric stays land with their times of day (a datetime column, not a day at midnight).
    const v = await p.ingest.version('snds');
    const s = await p.engine.session();
    try {
      await p.datasets.attachVersion(s, v);
      const [t] = await s.all<{ n: bigint; at_midnight: bigint }>(`SELECT count(*) AS n, count(*) FILTER (WHERE CAST(EXE_SOI_DTD AS TIME) = TIME '00:00:00') AS at_midnight FROM ds."T_RIPaaC"`);
      assert.ok(Number(t?.n) === stats.rows['T_RIPaaC'] && Number(t?.at_midnight) === 0, `T_RIPaaC: ${t?.at_midnight} of ${t?.n} entries at midnight`);
    } finally {
      s.close();
    }
  } finally {
    await p.close();
  }
});

function assertEveryTableLands(stats: SynthStats, byTable: Readonly<Record<string, TableReport>>): void {
  for (const [t, n] of Object.entries(stats.rows)) {
    const rep = byTable[t];
    assert.equal(rep?.rowsDelivered, n, `${t} delivered`);
    assert.equal(rep.rowsLanded + rep.rowsQuarantined, n, `${t}: landed + quarantined = delivered`);
    assert.ok(rep.rowsLanded > 0, `${t} lands rows`);
  }
}
