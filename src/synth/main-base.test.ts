import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HAND_TUNED_TABLES, SSR_STAY, Rng, catalogueTableOf, expectedDeaths, expectedVolumes, mainBaseParents, mainBaseTables, synthesize, type SynthStats } from './index.ts';
import { patternSampler } from './pattern.ts';
import { catalogueSchemas } from './schema.ts';

/** Rows of a table per person-year, and of a satellite per row of its parent, follow src/synth/volumes.ts. */
test('the main base follows the volume model within sampling tolerance', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-main-base-'));
  try {
    const out = join(dir, 'delivery');
    const years = 2;
    const stats: SynthStats = await synthesize({ people: 3_000, startYear: 2021, endYear: 2022, seed: 9, out, parquet: false, scope: 'main' });
    const model = expectedVolumes(stats.people, years, new Map(Object.entries(stats.parents ?? {})));
    const sheets = new Set((await readFile(join(out, 'csv', 'ER_PRS_F.csv'), 'utf8')).split('\n').slice(1).filter((l) => l !== '').map((l) => l.split(';')[0]));
    const perPY = sheets.size / (stats.people * years);
    assert.ok(Math.abs(perPY - 17.9) / 17.9 < 0.15, `care sheets per person-year ${perPY.toFixed(1)} (published: 17.9)`);
    // Deaths from the life table (src/synth/population.ts): the count within 4 standard deviations of its expectation.
    const deaths = expectedDeaths(years).perPerson * stats.people;
    assert.ok(Math.abs((stats.rows['KI_CCI_R'] ?? 0) - deaths) <= 4 * Math.sqrt(deaths), `${stats.rows['KI_CCI_R']} deaths, ${deaths.toFixed(1)} expected`);
    const stays = (stats.rows['T_MCOaaB'] ?? 0) / (stats.people * years);
    assert.ok(Math.abs(stays - 0.28) / 0.28 < 0.2, `MCO stays per person-year ${stays.toFixed(3)} (published: 0.28)`);
    let compared = 0;
    for (const v of model) {
      if (v.per !== 'parent' || v.parent === undefined) continue;
      const parentRows = v.parent === SSR_STAY ? (stats.rows['T_SSRaaC'] ?? 0) : (stats.rows[v.parent] ?? 0);
      const want = parentRows * v.mean;
      if (want < 40) continue;
      const got = stats.rows[v.table] ?? 0;
      // Poisson draws (4 standard deviations) plus the one forced row per year of each table.
      assert.ok(Math.abs(got - want) <= 4 * Math.sqrt(want) + years, `${v.table}: ${got} rows for ${parentRows} ${v.parent} rows, model ${v.mean} each`);
      compared++;
    }
    assert.ok(compared >= 15, `${compared} satellites compared`);
    for (const root of ['T_SSRaaB', 'T_RIPaaR3A', 'T_MCOaaFASTC', 'IR_IBA_R']) assert.ok((stats.rows[root] ?? 0) > 0, root);
    const r3a = (stats.rows['T_RIPaaR3A'] ?? 0) / (stats.people * years);
    assert.ok(Math.abs(r3a - 0.3) / 0.3 < 0.15, `ambulatory psychiatric acts per person-year ${r3a.toFixed(3)} (model 0.3)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the volume model covers every table --scope main writes, each figure with its source', () => {
  const parents = new Map(Object.entries(mainBaseParents()));
  const model = expectedVolumes(67_000_000, 1, parents);
  const modelled = new Set(model.map((v) => v.table));
  const written = mainBaseTables().filter((t) => !/^T_[A-Z]{3}aaE$/.test(t) && (!t.startsWith('ER_') || HAND_TUNED_TABLES.has(t) || parents.has(t)));
  assert.deepEqual(written.filter((t) => !modelled.has(t)), []);
  for (const v of model) assert.ok(v.source.length > 10 && v.rows >= 0, v.table);
  const at = (t: string): number => model.find((v) => v.table === t)?.rows ?? 0;
  // France, one year: the published anchors.
  assert.equal(at('ER_PRS_F'), 25 * 67_000_000);
  assert.ok(Math.abs(at('T_MCOaaB') - 18_760_000) < 1);
  assert.equal(at('IR_IBA_R'), 67_000_000);
});

test('a small main base (20 people, one year) has rows in every table; its datetimes and patterned columns are filled and valid', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-main-base-small-'));
  try {
    const out = join(dir, 'delivery');
    const stats = await synthesize({ people: 20, startYear: 2022, endYear: 2022, seed: 3, out, parquet: false, scope: 'main' });
    assert.deepEqual(mainBaseTables().filter((t) => !((stats.rows[t] ?? 0) > 0)), [], 'tables without rows');
    const all = catalogueSchemas();
    const filled = new Map<string, number>();
    for (const file of readdirSync(join(out, 'csv'))) {
      const t = all.get(catalogueTableOf(file) ?? '');
      assert.ok(t !== undefined, file);
      const [head = '', ...rows] = readFileSync(join(out, 'csv', file), 'utf8').split('\n').filter((l) => l !== '');
      head.split(';').forEach((name, i) => {
        const f = t.fields.find((x) => x.name === name);
        const pattern = f?.constraints?.pattern;
        if (f === undefined || (f.type !== 'datetime' && pattern === undefined)) return;
        const check = f.type === 'datetime' ? /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/ : new RegExp(pattern ?? '');
        for (const r of rows) {
          const v = r.split(';')[i] ?? '';
          if (v === '') continue;
          assert.match(v, check, `${file} ${name}`);
          filled.set(`${t.name}.${name}`, (filled.get(`${t.name}.${name}`) ?? 0) + 1);
        }
      });
    }
    for (const c of ['T_RIPaaC.EXE_SOI_DTD', 'T_RIPaaC.EXE_SOI_DTF', 'KI_ECD_R.ECD_CIM_COD', 'T_MCOaaB.GRG_GHM', 'IR_BEN_R.BEN_RES_COM']) assert.ok((filled.get(c) ?? 0) > 0, `${c} filled`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('every pattern of the catalogue has a sampler whose values match it', () => {
  const rng = new Rng('patterns');
  const patterns = new Set([...catalogueSchemas().values()].flatMap((t) => t.fields.map((f) => f.constraints?.pattern).filter((p): p is string => p !== undefined)));
  assert.ok(patterns.size >= 10, `${patterns.size} patterns`);
  for (const p of [...patterns, '^(?:[0-9]{2}|2A|2B)[A-Z]?\\d+$', '^[A-F0-9]{64}$']) {
    const draw = patternSampler(p);
    assert.ok(draw !== undefined, p);
    const re = new RegExp(p);
    for (let i = 0; i < 50; i++) assert.match(draw(rng), re);
  }
  assert.equal(patternSampler('^(?!x)[a-z]$'), undefined, 'lookarounds are outside the subset');
});
