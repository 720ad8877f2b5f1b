import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { HAND_TUNED_TABLES, SSR_STAY, Rng, catalogueTableOf, expectedDeaths, expectedVolumes, mainBaseParents, mainBaseTables, synthesize, type SynthStats } from './index.ts';
import { clockOf, codeListGaps, stayTimes } from './main-base.ts';
import { patternSampler } from './pattern.ts';
import { NomenclatureSet, catalogueSchemas } from './schema.ts';
import { sndsNomenclaturesDir } from '../../test/helpers/snds-schema.ts';

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

test('psychiatric stays carry their times of day: T_RIPaaC datetimes are rarely midnight, exit after entry, on the days of ENT_DAT and SOR_DAT, in every convention', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-main-base-times-'));
  try {
    const rows = async (profile?: string): Promise<Record<string, string>[]> => {
      const out = join(dir, profile ?? 'iso');
      await synthesize({ people: 300, startYear: 2022, endYear: 2022, seed: 7, out, parquet: false, scope: 'main', ...(profile === undefined ? {} : { profile }) });
      const [head = '', ...lines] = readFileSync(join(out, 'csv', 'T_RIP22C.csv'), 'latin1').split('\n').filter((l) => l !== '');
      const sep = profile === 'community' ? ',' : ';';
      const names = head.split(sep).map((x) => x.replace(/"/g, ''));
      return lines.map((l) => Object.fromEntries(l.split(sep).map((v, i) => [names[i] ?? '', v.replace(/"/g, '')])));
    };
    const iso = await rows();
    assert.ok(iso.length >= 2, `${iso.length} stays`);
    const dmy = (d: string): string => `${d.slice(4)}-${d.slice(2, 4)}-${d.slice(0, 2)}`;
    for (const r of iso) {
      const [dtd = '', dtf = ''] = [r['EXE_SOI_DTD'], r['EXE_SOI_DTF']];
      assert.match(dtd, /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      assert.equal(dtd.slice(0, 10), dmy(r['ENT_DAT'] ?? ''), 'entry on ENT_DAT');
      assert.equal(dtf.slice(0, 10), dmy(r['SOR_DAT'] ?? ''), 'exit on SOR_DAT');
      assert.ok(dtf > dtd, `exit ${dtf} after entry ${dtd}`);
    }
    const midnight = iso.filter((r) => r['EXE_SOI_DTD']?.endsWith(' 00:00:00') === true || r['EXE_SOI_DTF']?.endsWith(' 00:00:00') === true);
    assert.ok(midnight.length <= iso.length / 20, `${midnight.length} of ${iso.length} stays at midnight`);
    // Each convention spells the same moments (the draws do not depend on the convention).
    const spelled = { sas: /^\d{2}[a-z]{3}\d{4}:(\d{2}:\d{2}:\d{2})$/, hdh: /^\d{2}[A-Z]{3}\d{4}:(\d{2}:\d{2}:\d{2})$/, community: /^\d{4}-\d{2}-\d{2}T(\d{2}:\d{2}:\d{2})Z$/ };
    for (const [profile, re] of Object.entries(spelled)) {
      const got = await rows(profile);
      assert.deepEqual(got.map((r) => re.exec(r['EXE_SOI_DTD'] ?? '')?.[1]), iso.map((r) => r['EXE_SOI_DTD']?.slice(11)), profile);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stay times: admissions by day and some at night, discharges by day, a same-day stay leaves after it came, never at midnight by construction', () => {
  const rng = new Rng('stay-times');
  let night = 0;
  for (let i = 0; i < 10_000; i++) {
    const [ent, sor] = stayTimes(rng, false);
    assert.ok(ent >= 0 && ent < 86_400 && sor >= 9 * 3600 && sor < 19 * 3600, `${ent} ${sor}`);
    if (ent < 8 * 3600 || ent >= 20 * 3600) night++;
    const [e1, s1] = stayTimes(rng, true);
    assert.ok(e1 >= 7 * 3600 && s1 > e1 && s1 < 86_400, `same day ${e1} ${s1}`);
  }
  // One admission in five is drawn over the whole day: about 0.2 × 12/24 of them fall at night.
  assert.ok(night > 700 && night < 1300, `${night} night admissions in 10,000`);
  assert.deepEqual([clockOf(0), clockOf(13 * 3600 + 4 * 60 + 59), clockOf(86_399)], ['00:00:00', '13:04:59', '23:59:59']);
});

test('every column --scope main draws from a code list gets codes that fit it, with the product\'s lists and with the public ones kept as test vectors', () => {
  assert.deepEqual(codeListGaps(new NomenclatureSet()), []);
  assert.deepEqual(codeListGaps(new NomenclatureSet(sndsNomenclaturesDir)), []);
});

test('an operator list with no code that fits a column leaves it blank, listed with the reason in codeListGaps and stats.json; a list with some codes that fit gives only those', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'enclave-main-base-gaps-'));
  try {
    const run = async (name: string, codes: readonly string[]): Promise<{ stats: SynthStats; values: Set<string> }> => {
      const noms = join(dir, name, 'nomenclatures');
      mkdirSync(noms, { recursive: true });
      // TYP_ART (record type, one character in every PMSI F* table) is linked to MS_ENR_V, a list the product does not ship.
      writeFileSync(join(noms, 'MS_ENR_V.csv'), `ENR_COD;ENR_LIB\n${codes.map((c) => `${c};type ${c}`).join('\n')}\n`);
      const out = join(dir, name, 'delivery');
      const stats = await synthesize({ people: 20, startYear: 2022, endYear: 2022, seed: 3, out, parquet: false, scope: 'main', nomenclatures: noms });
      const values = new Set<string>();
      for (const file of readdirSync(join(out, 'csv'))) {
        const [head = '', ...rows] = readFileSync(join(out, 'csv', file), 'utf8').split('\n').filter((l) => l !== '');
        const at = head.split(';').indexOf('TYP_ART');
        if (at >= 0) for (const r of rows) values.add(r.split(';')[at] ?? '');
      }
      return { stats, values };
    };
    const none = await run('none-fits', ['01', '02']);
    const gaps = codeListGaps(new NomenclatureSet(join(dir, 'none-fits', 'nomenclatures')));
    assert.ok(gaps.length >= 20, `${gaps.length} gaps`);
    for (const g of gaps) assert.deepEqual([g.column, g.nomenclature, g.reason], ['TYP_ART', 'MS_ENR_V', 'no code of MS_ENR_V fits a string column of length 1 (2 codes: 2 longer than 1 characters)'], g.table);
    assert.deepEqual(none.stats.codeListGaps, gaps.map((g) => `${g.table}.${g.column}: ${g.reason}`));
    assert.deepEqual([...none.values], [''], 'TYP_ART is blank in every row');
    const some = await run('some-fit', ['A', 'B', 'HH']);
    assert.equal(some.stats.codeListGaps, undefined);
    assert.deepEqual([...some.values].filter((v) => v !== '').sort(), ['A', 'B'], 'only the codes that fit are drawn');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
