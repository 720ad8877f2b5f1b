import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashFiles, locateRows } from './files.ts';

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

test('locateRows compares bytes: same length and middle but other ends, multi-byte text, a last line without newline', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-locate-'));
  try {
    const path = join(dir, 'T.csv');
    const lines = ['A;B;C'];
    for (let i = 0; i < 5000; i++) lines.push(`${i % 10};mmmm;${i % 7}`);
    lines.push('Zé;mmmm;1', '1;mmmm;Z', 'é;ü;ß');
    await writeFile(path, lines.join('\n'));
    const found = await locateRows(path, ';', [
      { id: 1, values: ['1', 'mmmm', 'Z'] },
      { id: 2, values: ['Zé', 'mmmm', '1'] },
      { id: 3, values: ['é', 'ü', 'ß'] },
      { id: 4, values: ['3', 'mmmm', '3'] },
      { id: 5, values: ['1', 'mmmm', 'Y'] },
    ]);
    // Line 2 holds data row 0; "3;mmmm;3" is data row 3 (i % 10 = 3, i % 7 = 3), line 5.
    assert.deepEqual(Object.fromEntries(found), { 1: 5003, 2: 5002, 3: 5004, 4: 5 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('locateRows in a file where every field is quoted (a SAS export): doubled quotes, separators and spaces in fields, Latin-1, look-alike lines', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-locate-'));
  try {
    const path = join(dir, 'T.csv');
    const q = (fields: readonly string[]): string => fields.map((f) => `"${f.replace(/"/g, '""')}"`).join(';');
    const lines = [q(['A', 'B', 'C'])];
    for (let i = 0; i < 3000; i++) lines.push(q([String(i % 10), 'mm', String(i % 7)]));
    lines.push(q(['1', 'say "hi"', ' ']), q(['1', 'a;b', 'é']), q(['1', 'say hi', ' ']), '"1";"say ""hi""";" "');
    // Same text once quotes are removed, other fields: must not be taken for the sought row.
    lines.push('"1;a";"b";"é"');
    await writeFile(path, Buffer.from(lines.join('\n') + '\n', 'latin1'));
    const found = await locateRows(path, ';', [
      { id: 1, values: ['1', 'say "hi"', ' '] },
      { id: 2, values: ['1', 'say "hi"', ' '] },
      { id: 3, values: ['1', 'a;b', 'é'] },
      { id: 4, values: ['1', 'say hi', ' '] },
      { id: 5, values: ['3', 'mm', '3'] },
      { id: 6, values: ['1;a', 'b', 'x'] },
    ], 'latin-1');
    assert.deepEqual(Object.fromEntries(found), { 1: 3002, 2: 3005, 3: 3003, 4: 3004, 5: 5 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('hashFiles: worker threads give the same SHA-256 as a plain hash, report every byte, and name an unreadable file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-hash-'));
  try {
    const { createHash, randomBytes } = await import('node:crypto');
    // (40 MB: progress comes every 16 MB of a file, and its remainder at the end.)
    const contents = [randomBytes(3_000_000), randomBytes(10), Buffer.alloc(0), randomBytes(1_500_000), Buffer.alloc(40_000_000, 7)];
    const paths = contents.map((_c, i) => join(dir, `f${i}.csv`));
    for (const [i, c] of contents.entries()) await writeFile(paths[i] as string, c);
    let reported = 0;
    // a run's signal, which outlives each fingerprint: none of its listeners is left behind
    const run = new AbortController();
    const got = await hashFiles(paths, contents.map((c) => c.length), (n) => { reported += n; }, { threads: 2, minBytes: 0, signal: run.signal });
    assert.deepEqual(got, contents.map((c) => createHash('sha256').update(c).digest('hex')));
    assert.equal(getEventListeners(run.signal, 'abort').length, 0, 'no abort listener left on the run\'s signal');
    await assert.rejects(hashFiles([...paths, join(dir, 'missing.csv')], [...contents.map((c) => c.length), 10], undefined, { threads: 2, minBytes: 0, signal: run.signal }), /missing\.csv/);
    assert.equal(getEventListeners(run.signal, 'abort').length, 0, 'none after a failure either');
    assert.equal(reported, contents.reduce((a, c) => a + c.length, 0));
    await assert.rejects(hashFiles([...paths, join(dir, 'missing.csv')], [...contents.map((c) => c.length), 10], undefined, { threads: 2, minBytes: 0 }), /missing\.csv/);
    // Aborted (the delivery was refused while it was hashed): rejects with the reason, workers stopped.
    const stop = new AbortController();
    const events: number[] = [];
    await assert.rejects(hashFiles(paths, contents.map((c) => c.length), (n) => {
      events.push(n);
      stop.abort(new Error('refused meanwhile'));
    }, { threads: 2, minBytes: 0, signal: stop.signal }), /refused meanwhile/);
    assert.ok(events.length >= 1);
    await assert.rejects(hashFiles(paths, contents.map((c) => c.length), undefined, { threads: 2, minBytes: 0, signal: stop.signal }), /refused meanwhile/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
