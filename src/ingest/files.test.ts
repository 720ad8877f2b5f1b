import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { locateRows } from './files.ts';

test('locateRows finds rows by content: plain, quoted, CRLF, identical rows in file order, NULL as empty', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-locate-'));
  try {
    const path = join(dir, 'T.csv');
    await writeFile(path, ['A;B;C', '1;x;', '2;"y;z";3', '1;x;', '4;w;5\r', '2;"q";3', '1;x;'].join('\n') + '\n');
    const found = await locateRows(path, ';', [
      { id: 10, values: ['1', 'x', null] },
      { id: 11, values: ['1', 'x', null] },
      { id: 12, values: ['2', 'y;z', '3'] },
      { id: 13, values: ['4', 'w', '5'] },
      { id: 14, values: ['2', 'q', '3'] },
      { id: 15, values: ['9', 'nowhere', '9'] },
    ]);
    assert.deepEqual(Object.fromEntries(found), { 10: 2, 11: 4, 12: 3, 13: 5, 14: 6 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
