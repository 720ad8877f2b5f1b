import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, test } from 'node:test';
import { startS3Server, type S3Server } from '../../test/helpers/s3.ts';
import { isAppError } from '../errors.ts';

// Server: s3rver (npm), a real S3-protocol server process on loopback (test/helpers/s3.ts).
let s3: S3Server;
before(async () => { s3 = await startS3Server(['store-test']); });
after(async () => { await s3.close(); });

test('an object written to the S3 store reads back byte for byte and is listed under its prefix', async () => {
  const st = s3.store('store-test');
  await st.write('a/b/one.bin', Readable.from([Buffer.from('hello '), Buffer.from('world')]));
  assert.equal((await buffer(await st.read('a/b/one.bin'))).toString(), 'hello world');
  assert.deepEqual((await st.list('a')).map(({ key, bytes }) => ({ key, bytes })), [{ key: 'a/b/one.bin', bytes: 11 }]);
  const [listed] = await st.list('a');
  assert.equal(listed?.tag, (await st.stat('a/b/one.bin'))?.tag, 'the tag of a listing and of a HEAD agree');
  assert.equal(await st.size('a/b/one.bin'), 11);
  assert.equal(await st.size('a/b/none.bin'), undefined);
});

test('an object larger than the part size goes up as a multipart upload and arrives intact', async () => {
  const st = s3.store('store-test', { partSize: 5 * 1024 * 1024 });
  const data = randomBytes(12 * 1024 * 1024 + 17);
  await st.write('big/x.bin', Readable.from((function* () { for (let i = 0; i < data.length; i += 1 << 20) yield data.subarray(i, i + (1 << 20)); })()));
  const back = await buffer(await st.read('big/x.bin'));
  assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(data).digest('hex'));
});

test('removePrefix and movePrefix work on objects', async () => {
  const st = s3.store('store-test');
  await st.write('m/1', Readable.from([Buffer.from('1')]));
  await st.write('m/2', Readable.from([Buffer.from('2')]));
  await st.movePrefix('m', 'n');
  assert.deepEqual((await st.list('n')).map((e) => e.key), ['n/1', 'n/2']);
  assert.deepEqual(await st.list('m'), []);
  await st.removePrefix('n');
  assert.deepEqual(await st.list('n'), []);
});

test('probe passes on a writable bucket and fails with a clear unavailable error when the server is down', async () => {
  await s3.store('store-test').probe();
  await assert.rejects(s3.store('no-such-bucket').probe(), (e) => isAppError(e) && e.code === 'unavailable' && /no-such-bucket/.test(e.message));
  await s3.stop();
  try {
    await assert.rejects(s3.store('store-test').probe(), (e) => isAppError(e) && e.code === 'unavailable' && e.hint !== undefined);
  } finally {
    await s3.start();
  }
  await s3.store('store-test').probe();
});

test('reading a missing object is not_found', async () => {
  await assert.rejects(s3.store('store-test').read('missing/key'), (e) => isAppError(e) && e.code === 'not_found');
});
