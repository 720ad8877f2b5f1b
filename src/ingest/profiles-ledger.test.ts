import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { synthesize } from '../synth/index.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { openTestPlatform } from '../../test/helpers/platform.ts';
import { parseProfile } from './profile.ts';

const actor = { kind: 'service', id: 'profiles-test' } as const;

/**
 * Each producer convention the generator speaks: `detect` infers the profile the generator
 * declares, and ingesting with it quarantines exactly the rows of the defect ledger, each blamed
 * on its column, as in the ISO delivery (src/ingest/scale.test.ts).
 */
for (const convention of ['cnam', 'hdh', 'community', 'sas'] as const) {
  test(`a ${convention} delivery is detected, then ingested with no edit: the report equals the defect ledger (${testDbKind})`, async () => {
    const p = await openTestPlatform();
    try {
      await p.catalog.importBuiltin(actor);
      const out = join(p.dir, 'delivery');
      const stats = await synthesize({ people: 800, startYear: 2021, endYear: 2022, seed: 11, out, defects: 0.003, parquet: false, profile: convention });
      const declared = parseProfile(JSON.parse(await readFile(join(out, 'profile.json'), 'utf8')));
      const ledger = (await readFile(join(out, 'defects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { file: string; line: number; column: string });
      assert.ok(ledger.length > 20);

      const d = await p.ingest.detect('snds', [join(out, 'csv')]);
      assert.deepEqual(d.unknownFiles, []);
      assert.deepEqual(d.files.filter((f) => f.missingRequired.length > 0 || f.unknownColumns.length > 0), []);
      assert.equal(d.profile.delimiter, declared.delimiter);
      assert.deepEqual(d.profile.dates, declared.dates);
      assert.deepEqual(d.profile.missing, declared.missing);
      assert.equal(d.profile.integerPointZero, declared.integerPointZero);
      assert.equal(d.profile.blankIsMissing, declared.blankIsMissing);
      assert.equal(d.profile.exponent, declared.exponent);
      if (convention === 'cnam') {
        assert.ok(d.files.every((f) => f.gzip && f.file.endsWith('.csv.gz')));
        // DCIR files by year of FLX_DIS_DTD, as project extractions ship them, each mapped to its table.
        assert.deepEqual(d.files.filter((f) => f.file.startsWith('ER_PRS_F')).map((f) => [f.file, f.table]), [2021, 2022, 2023].map((y) => [`ER_PRS_F_${y}.csv.gz`, 'ER_PRS_F']));
      }
      if (convention === 'sas') {
        // DCIR files by month of FLX_DIS_DTD, each mapped to its table; every field quoted, lower-case SAS datetimes, space-only missing fields, exponents.
        const prs = d.files.filter((f) => f.file.startsWith('ER_PRS_F')).map((f) => [f.file, f.table]);
        assert.ok(prs.length >= 24, `${prs.length} monthly ER_PRS_F files`);
        assert.ok(prs.every(([f, t]) => /^ER_PRS_F_20(21|22|23)(0[1-9]|1[0-2])\.csv$/.test(f ?? '') && t === 'ER_PRS_F'), JSON.stringify(prs.slice(0, 3)));
        const text = await readFile(join(out, 'csv', prs[0]?.[0] ?? ''), 'latin1');
        const [head = '', ...rows] = text.split('\n');
        assert.match(head, /^"DCT_ORD_NUM";"FLX_DIS_DTD";/);
        assert.match(rows.join('\n'), /"[0-9]{2}(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)20[0-9]{2}:00:00:00"/);
        assert.match(rows.join('\n'), /;" ";/);
        assert.match(rows.join('\n'), /"-?[1-9](\.[0-9]+)?e\+[0-9]+"/);
      }

      const r = await p.ingest.ingest({ dataset: 'snds', inputs: [join(out, 'csv')], actor, profile: d.profile });
      const total = Object.values(stats.files).reduce((a, b) => a + b, 0);
      assert.equal(r.rowsAccepted + r.rowsQuarantined, total);
      assert.equal(r.rowsQuarantined, ledger.length);
      const page = await p.ingest.runReport(r.runId, { limit: 10_000 });
      assert.equal(page.entries.length, page.storedEntries);
      const blamed = new Map<string, Set<string>>();
      for (const e of page.entries) blamed.set(`${e.file}:${e.line}`, (blamed.get(`${e.file}:${e.line}`) ?? new Set()).add(e.column));
      const expected = new Set(ledger.map((x) => `${basename(x.file)}:${x.line}`));
      assert.deepEqual([...blamed.keys()].filter((k) => !expected.has(k)), [], 'no good row quarantined');
      assert.deepEqual([...expected].filter((k) => !blamed.has(k)), [], 'every spoiled row quarantined');
      for (const x of ledger) assert.ok(blamed.get(`${basename(x.file)}:${x.line}`)?.has(x.column), `${x.file}:${x.line} blamed on ${x.column}`);
    } finally {
      await p.close();
    }
  });
}

test('the relations the generator breaks (the causes-of-death id defect) are exactly the relations ingestion reports broken', async () => {
  const p = await openTestPlatform();
  try {
    await p.catalog.importBuiltin(actor);
    const out = join(p.dir, 'delivery');
    const stats = await synthesize({ people: 600, startYear: 2021, endYear: 2022, seed: 3, out, parquet: false, brokenRelations: true });
    assert.deepEqual(stats.brokenRelations, ['KI_ECD_R(DCD_IDT_ENC) → KI_CCI_R(DCD_IDT_ENC)']);
    const r = await p.ingest.ingest({ dataset: 'snds', inputs: [join(out, 'csv')], actor, checkRelations: true });
    assert.equal(r.rowsQuarantined, 0, 'the rows themselves are valid');
    const relations = r.quarantine.relations ?? [];
    assert.ok(relations.length >= 8, relations.map((x) => x.relation).join('; '));
    // Only the certificate's encrypted id breaks: the person's id (BEN_IDT_ANO) still joins.
    assert.deepEqual(relations.filter((x) => x.orphans > 0).map((x) => [x.relation, x.matchesNothing, x.orphans]), [['KI_ECD_R(DCD_IDT_ENC) → KI_CCI_R(DCD_IDT_ENC)', true, stats.rows['KI_ECD_R']]]);
    assert.equal(relations.find((x) => x.relation === 'KI_ECD_R(BEN_IDT_ANO) → KI_CCI_R(BEN_IDT_ANO)')?.rowsChecked, stats.rows['KI_ECD_R']);
  } finally {
    await p.close();
  }
});

test(`the generated encrypted death ids (DCD_IDT_ENC, 64 characters as in the public schema) land; one character too few or too many is quarantined under the rule length (${testDbKind})`, async () => {
  const p = await openTestPlatform();
  try {
    await p.catalog.importBuiltin(actor);
    const out = join(p.dir, 'delivery');
    const stats = await synthesize({ people: 600, startYear: 2021, endYear: 2022, seed: 3, out, parquet: false });
    const csv = join(out, 'csv');
    const spoil = async (file: string, line: number, to: (v: string) => string): Promise<void> => {
      const lines = (await readFile(join(csv, file), 'utf8')).split('\n');
      const at = (lines[0] ?? '').split(';').indexOf('DCD_IDT_ENC');
      const values = (lines[line - 1] ?? '').split(';');
      assert.match(values[at] ?? '', /^[0-9A-F]{64}$/, `${file}:${line} as generated`);
      values[at] = to(values[at] ?? '');
      lines[line - 1] = values.join(';');
      await writeFile(join(csv, file), lines.join('\n'));
    };
    await spoil('KI_CCI_R.csv', 2, (v) => v.slice(0, 63));
    await spoil('KI_ECD_R.csv', 3, (v) => `${v}0`);
    const r = await p.ingest.ingest({ dataset: 'snds', inputs: [csv], actor });
    assert.equal(r.rowsAccepted + r.rowsQuarantined, Object.values(stats.files).reduce((a, b) => a + b, 0));
    assert.deepEqual(r.quarantine.entries.map((e) => `${e.file}:${e.line}:${e.column}:${e.rule}`), ['KI_CCI_R.csv:2:DCD_IDT_ENC:length', 'KI_ECD_R.csv:3:DCD_IDT_ENC:length']);
  } finally {
    await p.close();
  }
});

test(`SAS integers with an exponent land exactly; those that are no exact integer are quarantined at their line with the reason (${testDbKind})`, async () => {
  const p = await openTestPlatform();
  try {
    await p.catalog.importBuiltin(actor);
    const out = join(p.dir, 'delivery');
    const stats = await synthesize({ people: 300, startYear: 2021, endYear: 2021, seed: 5, out, parquet: false, profile: 'sas' });
    const csv = join(out, 'csv');
    const prs = (await readdir(csv)).filter((f) => f.startsWith('ER_PRS_F_')).sort()[0] ?? '';
    const lines = (await readFile(join(csv, prs), 'latin1')).split('\n');
    assert.match(lines[0] ?? '', /^"DCT_ORD_NUM";"FLX_DIS_DTD";"FLX_EMT_NUM";"FLX_EMT_ORD";/);
    assert.ok(lines.slice(1).some((l) => /^("[^"]*";){3}"[1-9](\.[0-9]+)?e\+[0-9]+";/.test(l)), 'the key FLX_EMT_ORD is written with an exponent');
    // The defect ledger of this test: three lines whose DCT_ORD_NUM is no exact integer.
    const spoiled: Record<number, readonly [string, string]> = { 2: ['1.2345678905e+8', 'integer_fraction'], 4: ['9.9e+19', 'integer_overflow'], 5: ['5.119e+16', 'integer_precision'] };
    for (const [line, [v]] of Object.entries(spoiled)) lines[Number(line) - 1] = (lines[Number(line) - 1] ?? '').replace(/^"[^"]*"/, `"${v}"`);
    await writeFile(join(csv, prs), Buffer.from(lines.join('\n'), 'latin1'));

    const d = await p.ingest.detect('snds', [csv]);
    assert.equal(d.profile.exponent, true);
    const dct = d.files.find((f) => f.file === prs)?.columns.find((c) => c.name === 'DCT_ORD_NUM');
    assert.match(dct?.inferred ?? '', /^integer written with an exponent/);
    const r = await p.ingest.ingest({ dataset: 'snds', inputs: [csv], actor, profile: d.profile });
    const total = Object.values(stats.files).reduce((a, b) => a + b, 0);
    assert.equal(r.rowsAccepted + r.rowsQuarantined, total);
    assert.deepEqual(r.quarantine.entries.map((e) => `${e.file}:${e.line}:${e.column}:${e.rule}`), Object.entries(spoiled).map(([line, [, rule]]) => `${prs}:${line}:DCT_ORD_NUM:${rule}`));
    // The satellites still join ER_PRS_F on the 9 DCIR keys: exponents were read as the same integers.
    const v = await p.ingest.version('snds');
    const s = await p.engine.session();
    try {
      await p.datasets.attachVersion(s, v);
      const keys = ['FLX_DIS_DTD', 'FLX_TRT_DTD', 'FLX_EMT_TYP', 'FLX_EMT_NUM', 'FLX_EMT_ORD', 'ORG_CLE_NUM', 'DCT_ORD_NUM', 'PRS_ORD_NUM', 'REM_TYP_AFF'];
      const got = await s.all<{ n: bigint; joined: bigint; big: bigint }>(`SELECT count(*) AS n, count(p.DCT_ORD_NUM) AS joined, count(*) FILTER (c.FLX_EMT_ORD >= 100) AS big
        FROM ds.ER_PHA_F c LEFT JOIN (SELECT DISTINCT ${keys.join(', ')} FROM ds.ER_PRS_F) p USING (${keys.join(', ')})`);
      assert.ok((got[0]?.big ?? 0n) > 0n);
      assert.ok((got[0]?.n ?? 0n) - (got[0]?.joined ?? 0n) <= 3n, `${String(got[0]?.joined)} of ${String(got[0]?.n)} pharmacy rows join their care sheet`);
    } finally {
      s.close();
    }
  } finally {
    await p.close();
  }
});
