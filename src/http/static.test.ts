import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { createHttpApp } from './app.ts';
import { staticPortal } from './static.ts';

const INDEX = '<!doctype html><html lang="fr"><head><meta name="enclave-language" content="fr" /><script type="module" src="/assets/app-abc123.js"></script></head><body><div id="root"></div></body></html>';

const BIG = Array.from({ length: 400 }, (_, i) => `export const message${i} = 'the portal says ${i}';`).join('\n');

describe('the web portal served under /', () => {
  let dir: string;
  let app: Hono<{ Variables: { requestId: string } }>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enclave-static-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), INDEX);
    await writeFile(join(dir, 'assets', 'app-abc123.js'), 'console.log(1)');
    await writeFile(join(dir, 'assets', 'big-def456.js'), BIG);
    await writeFile(join(dir, 'routes.json'), JSON.stringify(['/', '/datasets/:dataset/tables/:table', '/projects/new']));
    const api = new Hono();
    api.get('/things', (c) => c.json({ things: [] }));
    app = createHttpApp({ version: 't', health: async () => ({}), routes: [{ prefix: 'x', app: api }], openApiPaths: [], portal: staticPortal({ dir, language: 'en' }) });
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  test('any non-API path gets index.html with the configured language and the strict CSP', async () => {
    const res = await app.request('/datasets/snds/tables/ER_PRS_F');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'; style-src 'self'/);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const body = await res.text();
    assert.match(body, /<html lang="en"/);
    assert.match(body, /content="en"/);
  });

  test('hashed assets are served with their type and cached for good; a revalidation gets 304', async () => {
    const res = await app.request('/assets/app-abc123.js');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/javascript/);
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
    const etag = res.headers.get('etag') ?? '';
    const again = await app.request('/assets/app-abc123.js', { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
  });

  test('a missing asset, an unknown API path and a POST stay problem+json 404s', async () => {
    for (const [path, init] of [['/assets/old-999.js', {}], ['/api/v1/nope', {}], ['/api/v1/x/nope', {}], ['/somewhere', { method: 'POST' }]] as const) {
      const res = await app.request(path, init);
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type') ?? '', /problem\+json/, path);
    }
    assert.equal((await app.request('/api/v1/x/things')).status, 200);
  });

  test('a path that tries to climb out of the build is just the app (saying not found)', async () => {
    const res = await app.request('/../../etc/passwd');
    assert.equal(res.status, 404);
    assert.match(await res.text(), /<div id="root">/);
  });

  test('a path the portal has no page for is the app with status 404; a page it has is 200', async () => {
    for (const path of ['/no/such/page', '/datasets', '/datasets/snds/tables', '/projects/new/extra']) {
      const res = await app.request(path);
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/, path);
      assert.match(await res.text(), /<div id="root">/, path);
    }
    for (const path of ['/', '/datasets/snds/tables/ER_PRS_F', '/projects/new']) assert.equal((await app.request(path)).status, 200, path);
    // a 404 page is never answered 304 (a cached 200 must not stand for it)
    const etag = (await app.request('/')).headers.get('etag') ?? '';
    assert.equal((await app.request('/no/such/page', { headers: { 'If-None-Match': etag } })).status, 404);
  });

  test('text assets are sent brotli- or gzip-compressed to browsers that accept it, each with its own ETag', async () => {
    const plain = await app.request('/assets/big-def456.js');
    assert.equal(plain.headers.get('content-encoding'), null);
    assert.equal(await plain.text(), BIG);
    const br = await app.request('/assets/big-def456.js', { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
    assert.equal(br.headers.get('content-encoding'), 'br');
    assert.equal(br.headers.get('vary'), 'Accept-Encoding');
    const brBody = Buffer.from(await br.arrayBuffer());
    assert.ok(brBody.byteLength < BIG.length / 4, `brotli ${brBody.byteLength} of ${BIG.length} bytes`);
    assert.equal(brotliDecompressSync(brBody).toString('utf8'), BIG);
    const gz = await app.request('/assets/big-def456.js', { headers: { 'Accept-Encoding': 'gzip, br;q=0' } });
    assert.equal(gz.headers.get('content-encoding'), 'gzip');
    assert.equal(gunzipSync(Buffer.from(await gz.arrayBuffer())).toString('utf8'), BIG);
    assert.notEqual(gz.headers.get('etag'), br.headers.get('etag'));
    assert.notEqual(plain.headers.get('etag'), br.headers.get('etag'));
    // a tiny file is not worth compressing
    assert.equal((await app.request('/assets/app-abc123.js', { headers: { 'Accept-Encoding': 'br' } })).headers.get('content-encoding'), null);
  });

  test('without a build, the server says how to build the portal', async () => {
    const bare = createHttpApp({ version: 't', health: async () => ({}), routes: [], openApiPaths: [], portal: staticPortal({ dir: join(dir, 'none'), language: 'fr' }) });
    const res = await bare.request('/');
    assert.equal(res.status, 503);
    assert.match(await res.text(), /npm run web:build/);
  });
});
