import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IngestResult } from '../../ingest/index.ts';
import { profileFromArgs, renderIngestResult } from './ingest.ts';

const result: IngestResult = {
  dataset: 'snds', version: 3, deliveryId: 'a'.repeat(64), alreadyIngested: false, rowsRead: 1070, rowsAccepted: 1000, rowsQuarantined: 70, bytesRead: 50_000, seconds: 1.2,
  tables: [{ table: 'IR_BEN_R', year: 0, rows: 1000 }],
  quarantine: {
    total: 70, byRule: { type: 70 }, byFile: { 'ER_PHA_F.csv': 50, 'IR_BEN_R.csv': 20 },
    byTable: {
      ER_PHA_F: { table: 'ER_PHA_F', files: ['ER_PHA_F.csv'], rowsDelivered: 50, rowsLanded: 0, rowsQuarantined: 50, violations: { EXE_SOI_DTD: { type: 50 } } },
      IR_BEN_R: { table: 'IR_BEN_R', files: ['IR_BEN_R.csv'], rowsDelivered: 1020, rowsLanded: 1000, rowsQuarantined: 20, violations: { BEN_NAI_ANN: { type: 20 } } },
      ER_UCD_F: { table: 'ER_UCD_F', files: ['ER_UCD_F.csv'], rowsDelivered: 0, rowsLanded: 0, rowsQuarantined: 0, violations: {} },
    },
    entries: [{ file: 'ER_PHA_F.csv', line: 2, column: 'EXE_SOI_DTD', rule: 'type', value: '99/99/9999' }], storedEntries: 70, reportFiles: [],
  },
  merkleRoot: 'b'.repeat(64), runId: 'run_1',
};

test('the ingest summary lists every delivered table, those that landed nothing first, with their main reasons', () => {
  const text = renderIngestResult(result);
  const lines = text.slice(text.indexOf('Delivered tables:')).split('\n');
  const at = (t: string): number => lines.findIndex((l) => l.startsWith(t) && /\d/.test(l));
  const pha = lines[at('ER_PHA_F')] ?? '';
  assert.match(pha, /^ER_PHA_F\s+1\s+50\s+0\s+50\s+EXE_SOI_DTD type ×50/);
  assert.ok(at('ER_UCD_F') > 0, 'an empty file is listed too');
  assert.ok(at('ER_PHA_F') < at('IR_BEN_R'), 'the table that landed nothing comes first');
  assert.match(text, /Complete report \(70 entries\): enclave ingest-report run_1/);
});

test('--flags True/False gives the profile its flag words; a malformed value is refused with the field', async () => {
  assert.deepEqual((await profileFromArgs({ flags: 'True/False', dateFormat: 'dd/MM/yyyy' }))?.flags, { true: 'True', false: 'False' });
  await assert.rejects(profileFromArgs({ flags: 'True' }), /delivery profile: flags must give two different non-empty spellings/);
  await assert.rejects(profileFromArgs({ flags: 'A/B/C' }), /delivery profile: flags/);
});
