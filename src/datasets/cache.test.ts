import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ReadCache } from './cache.ts';

let dir: string;
before(async () => { dir = await mkdtemp(join(tmpdir(), 'enclave-cache-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

const KB = 1024;
let fetches = 0;
/** Fetches a file of `n` KB, as the location resolver does after a verified download. */
const fill = (n: number) => async (tmp: string): Promise<void> => {
  fetches++;
  await writeFile(tmp, Buffer.alloc(n * KB, 7));
};
const files = async (d: string): Promise<string[]> => (await readdir(d)).filter((f) => !f.includes('.part-')).sort();

test('the cache is trimmed to its cap, least recently used first', async () => {
  const d = join(dir, 'lru');
  await mkdir(d);
  const c = new ReadCache({ dir: d, maxBytes: 30 * KB, holdMs: 0 });
  await c.get(join(d, 'a'), 10 * KB, fill(10));
  await c.get(join(d, 'b'), 10 * KB, fill(10));
  await c.get(join(d, 'c'), 10 * KB, fill(10));
  const before = fetches;
  await c.get(join(d, 'a'), 10 * KB, fill(10)); // a hit: a is now the most recent
  assert.equal(fetches, before, 'a hit does not fetch again');
  await c.get(join(d, 'd'), 10 * KB, fill(10));
  assert.deepEqual(await files(d), ['a', 'c', 'd'], 'b, the least recently used, was evicted');
  assert.deepEqual(await c.usage(), { bytes: 30 * KB, files: 3 });
});

test('files pinned by a lease are never evicted, the cache goes over its cap while they are held, and is trimmed when the lease ends', async () => {
  const d = join(dir, 'lease');
  await mkdir(d);
  const c = new ReadCache({ dir: d, maxBytes: 20 * KB, holdMs: 0 });
  await c.withLease(async () => {
    for (const n of ['a', 'b', 'c', 'd']) await c.get(join(d, n), 10 * KB, fill(10));
    assert.deepEqual(await files(d), ['a', 'b', 'c', 'd'], 'every file in use is kept');
    assert.equal((await c.usage()).bytes, 40 * KB);
  });
  assert.equal((await c.usage()).bytes, 20 * KB, 'trimmed to the cap once released');
  assert.deepEqual(await files(d), ['c', 'd']);
});

test('a file handed out without a lease counts as in use for the hold period', async () => {
  const d = join(dir, 'hold');
  await mkdir(d);
  const c = new ReadCache({ dir: d, maxBytes: 10 * KB, holdMs: 60_000 });
  await c.get(join(d, 'a'), 10 * KB, fill(10));
  await c.get(join(d, 'b'), 10 * KB, fill(10));
  assert.deepEqual(await files(d), ['a', 'b'], 'a was resolved less than holdMs ago: kept');
});

test('a cache reopened on the same directory indexes what it holds, removes stale temp files and trims to its cap', async () => {
  const d = join(dir, 'reopen');
  await mkdir(d);
  await writeFile(join(d, 'old'), Buffer.alloc(30 * KB));
  await writeFile(join(d, 'x.part-0123abcd'), Buffer.alloc(KB));
  const c = new ReadCache({ dir: d, maxBytes: 20 * KB, holdMs: 0 });
  assert.deepEqual(await c.usage(), { bytes: 30 * KB, files: 1 });
  await c.get(join(d, 'new'), 10 * KB, fill(10));
  assert.deepEqual(await files(d), ['new']);
});

test('a failed fetch leaves nothing in the cache', async () => {
  const d = join(dir, 'fail');
  await mkdir(d);
  const c = new ReadCache({ dir: d, maxBytes: 20 * KB, holdMs: 0 });
  await assert.rejects(c.get(join(d, 'a'), 10 * KB, async (tmp) => { await writeFile(tmp, 'partial'); throw new Error('hash mismatch'); }), /hash mismatch/);
  assert.deepEqual(await readdir(d), []);
  assert.deepEqual(await c.usage(), { bytes: 0, files: 0 });
});
