import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { synthesize, type SynthOptions } from '../synth/index.ts';
import { testDbKind } from '../../test/helpers/db.ts';
import { openTestPlatform } from '../../test/helpers/platform.ts';
import { parseProfile } from './profile.ts';

const actor = { kind: 'service', id: 'profile-combinations-test' } as const;

/**
 * Conventions combined with modifiers and options (`--profile sas+decimal-comma+gzip`,
 * `--gzip`, `--dcir-files`): each delivery is detected, ingested with the detected profile, and
 * its report equals the defect ledger. Small deliveries (150 people, one year, the eleven sample
 * tables); reading files does not involve the metadata database, so the PGlite pass only.
 */
const COMBINATIONS: readonly (Pick<SynthOptions, 'profile' | 'gzip' | 'decimalComma' | 'dcirFiles'> & { readonly name: string })[] = [
  // DCIR files by month are the cnam case below (and the sas convention's own test): one file per table here keeps the test short.
  { name: 'sas+decimal-comma+gzip --dcir-files single', profile: 'sas+decimal-comma+gzip', dcirFiles: 'single' },
  { name: 'community+decimal-comma (fields holding a comma are quoted)', profile: 'community+decimal-comma' },
  { name: 'hdh --gzip --dcir-files yearly', profile: 'hdh', gzip: true, dcirFiles: 'yearly' },
  { name: 'cnam+true-false --dcir-files monthly', profile: 'cnam+true-false', dcirFiles: 'monthly' },
];

for (const c of COMBINATIONS) {
  test(`the combined convention ${c.name} is detected and ingested; the report equals the defect ledger (${testDbKind})`, { skip: testDbKind === 'postgres' ? 'read once, on the PGlite pass' : false }, async () => {
    const p = await openTestPlatform();
    try {
      await p.catalog.importBuiltin(actor);
      const out = join(p.dir, 'delivery');
      const { name: _name, ...opts } = c;
      const stats = await synthesize({ people: 150, startYear: 2022, endYear: 2022, seed: 21, out, defects: 0.01, parquet: false, ...opts });
      const ledger = (await readFile(join(out, 'defects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { file: string; line: number; column: string });
      assert.ok(ledger.length > 10, `${ledger.length} defects`);
      const declared = parseProfile(JSON.parse(await readFile(join(out, 'profile.json'), 'utf8')));
      const files = Object.keys(stats.files);
      if (c.gzip === true || c.profile?.includes('gzip') === true) assert.ok(files.every((f) => f.endsWith('.csv.gz')), files.join(' '));
      if (c.dcirFiles === 'monthly') assert.ok(files.some((f) => /^ER_PRS_F_2022(0[1-9]|1[0-2])\.csv/.test(f)), files.join(' '));
      if (c.dcirFiles === 'yearly') assert.ok(files.some((f) => /^ER_PRS_F_2022\.csv/.test(f)), files.join(' '));

      const d = await p.ingest.detect('snds', [join(out, 'csv')]);
      assert.deepEqual(d.unknownFiles, []);
      assert.deepEqual(d.files.filter((f) => f.missingRequired.length > 0 || f.unknownColumns.length > 0).map((f) => f.file), []);
      // (The encoding is not compared: a small delivery may hold ASCII only, which reads the same in both.)
      assert.deepEqual([d.profile.delimiter, d.profile.dates, d.profile.missing, d.profile.blankIsMissing, d.profile.exponent], [declared.delimiter, declared.dates, declared.missing, declared.blankIsMissing, declared.exponent]);

      const r = await p.ingest.ingest({ dataset: 'snds', inputs: [join(out, 'csv')], actor, profile: d.profile });
      assert.equal(r.rowsAccepted + r.rowsQuarantined, Object.values(stats.files).reduce((a, b) => a + b, 0));
      assert.equal(r.rowsQuarantined, ledger.length);
      const page = await p.ingest.runReport(r.runId, { limit: 10_000 });
      const blamed = new Map<string, Set<string>>();
      for (const e of page.entries) blamed.set(`${e.file}:${e.line}`, (blamed.get(`${e.file}:${e.line}`) ?? new Set()).add(e.column));
      const expected = new Set(ledger.map((x) => `${basename(x.file)}:${x.line}`));
      assert.deepEqual([...blamed.keys()].filter((k) => !expected.has(k)), [], 'no good row quarantined');
      for (const x of ledger) assert.ok(blamed.get(`${basename(x.file)}:${x.line}`)?.has(x.column), `${x.file}:${x.line} blamed on ${x.column}`);
    } finally {
      await p.close();
    }
  });
}
