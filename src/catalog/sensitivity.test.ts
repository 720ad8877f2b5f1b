import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { sndsCommuneColumns, writeSndsSchemas } from '../../test/helpers/snds-schema.ts';
import { loadSensitivityMapping, parseSensitivityMapping, readSchemaDirectory, SensitivityClassifier, type SchemaDirectory } from './index.ts';

/**
 * Name tokens that mean a date or a commune in SNDS naming (DTE/DAT/DTD/DTF: dates, DSD/DSF:
 * start/end dates, AMD/AMF: year-month start/end, MOI: month, COM: commune). Year-only columns
 * (ANN) are left out: a year alone does not single anyone out. Names ending in _CTL/_RET are
 * quality return codes about a field, whose values are status codes, not dates.
 */
const DATE_OR_COMMUNE_TOKENS = new Set(['DTE', 'DAT', 'DTD', 'DTF', 'DT', 'DSD', 'DSF', 'AMD', 'AMF', 'MOI', 'MOIS', 'COM']);

/** `communeInDescription`: columns whose upstream description names a commune (kept as a list, not the prose). */
function looksLikeDateOrCommune(table: string, c: { name: string; type: string }, communeInDescription: Set<string>): boolean {
  const name = c.name.toUpperCase();
  if (/_(CTL|RET)$/.test(name)) return false;
  return (
    ['date', 'datetime', 'yearmonth', 'time'].includes(c.type) ||
    name.split('_').some((t) => DATE_OR_COMMUNE_TOKENS.has(t)) ||
    communeInDescription.has(`${table}.${c.name}`)
  );
}

describe('SNDS sensitivity mapping', () => {
  let classifier: SensitivityClassifier;
  let schema: SchemaDirectory;
  let communes: Set<string>;
  let dir: string;
  before(async () => {
    classifier = await loadSensitivityMapping();
    dir = await writeSndsSchemas();
    schema = await readSchemaDirectory(dir);
    communes = await sndsCommuneColumns();
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const of = (table: string, name: string) => {
    const t = schema.tables.find((x) => x.name === table);
    const c = t?.columns.find((x) => x.name === name);
    assert.ok(c, `${table}.${name} exists in the shared schema`);
    return classifier.classify(table, c).sensitivity;
  };

  test('no date-like or commune-like column of the shared schema is left other without an explicit reviewed entry', () => {
    const unreviewed: string[] = [];
    let checked = 0;
    for (const t of schema.tables) {
      for (const c of t.columns) {
        if (!looksLikeDateOrCommune(t.name, c, communes)) continue;
        checked++;
        if (classifier.classify(t.name, c).sensitivity === 'other' && !classifier.hasExplicitEntry(t.name, c.name)) {
          unreviewed.push(`${t.name}.${c.name}`);
        }
      }
    }
    assert.ok(checked > 400, `checked ${checked} columns`);
    assert.equal(communes.size, 9, 'the list of columns described as a commune was read');
    assert.deepEqual(unreviewed, []);
  });

  test('person keys are pseudonyms', () => {
    assert.equal(of('ER_PRS_F', 'BEN_NIR_PSA'), 'pseudonym');
    assert.equal(of('T_MCOaaC', 'NIR_ANO_17'), 'pseudonym');
    assert.equal(of('KI_CCI_R', 'BEN_NIR_ANO'), 'pseudonym');
  });

  test('the raw NIR column and names of people are direct identifiers', () => {
    assert.equal(of('EB_PRS_F', 'BEN_NIR_IDT'), 'direct_identifier');
    assert.equal(of('ER_TRS_F', 'TRS_CDR_NOM'), 'direct_identifier');
  });

  test('birth, residence, death and exact care dates are potential identifiers', () => {
    for (const [t, c] of [
      ['IR_BEN_R', 'BEN_NAI_ANN'],
      ['IR_BEN_R', 'BEN_NAI_MOI'],
      ['IR_BEN_R', 'BEN_RES_COM'],
      ['IR_BEN_R', 'BEN_DCD_DTE'],
      ['KI_CCI_R', 'DCD_COM_COD'],
      ['ER_PRS_F', 'EXE_SOI_DTD'],
      ['ER_PRS_F', 'EXE_SOI_DTF'],
      ['T_MCOaaC', 'ENT_DAT'],
      ['T_MCOaaC', 'SOR_DAT'],
    ] as const) {
      assert.equal(of(t, c), 'potential_identifier', `${t}.${c}`);
    }
  });

  test('diagnoses, long-term conditions, drug, act and lab codes are sensitive', () => {
    for (const [t, c] of [
      ['T_MCOaaB', 'DGN_PAL'],
      ['T_MCOaaD', 'ASS_DGN'],
      ['IR_IMB_R', 'IMB_ALD_NUM'],
      ['ER_PHA_F', 'PHA_PRS_C13'],
      ['ER_CAM_F', 'CAM_PRS_IDE'],
      ['ER_BIO_F', 'BIO_PRS_IDE'],
      ['KI_ECD_R', 'ECD_CIM_COD'],
    ] as const) {
      assert.equal(of(t, c), 'sensitive', `${t}.${c}`);
    }
  });

  test('column names match case-insensitively', () => {
    assert.equal(of('CT_IDE_AAAA_GN', 'ben_nir_psa'), 'pseudonym');
  });

  test('every entry of the mapping has a one-line reason', () => {
    const m = classifier.mapping;
    for (const e of [...Object.values(m.columns), ...Object.values(m.tables), ...m.patterns, m.default]) {
      assert.ok(e.reason.length > 5 && !e.reason.includes('\n'));
    }
  });

  test('a mapping entry with an unknown sensitivity is refused naming its path', () => {
    assert.throws(
      () => parseSensitivityMapping({ default: { sensitivity: 'other', reason: 'x' }, columns: { A: { sensitivity: 'secret', reason: 'x' } } }, 'm.json'),
      /m\.json at columns\.A\.sensitivity/,
    );
  });

  test('a mapping entry without a reason is refused', () => {
    assert.throws(
      () => parseSensitivityMapping({ default: { sensitivity: 'other', reason: 'x' }, columns: { A: { sensitivity: 'other' } } }, 'm.json'),
      /columns\.A\.reason/,
    );
  });

  test('the explicit column entry beats a pattern', () => {
    const m = parseSensitivityMapping(
      {
        default: { sensitivity: 'other', reason: 'default' },
        columns: { ENT_DAT: { sensitivity: 'sensitive', reason: 'explicit' } },
        patterns: [{ id: 'dates', types: ['date'], sensitivity: 'potential_identifier', reason: 'pattern' }],
      },
      'm.json',
    );
    const c = new SensitivityClassifier(m);
    const decision = c.classify('T', { name: 'ENT_DAT', type: 'date', format: null, nomenclature: null });
    assert.deepEqual(decision, { sensitivity: 'sensitive', reason: 'explicit', rule: 'column:ENT_DAT' });
  });
});
