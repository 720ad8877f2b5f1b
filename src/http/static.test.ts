import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { createHttpApp } from './app.ts';
import { staticPortal } from './static.ts';

const INDEX = '<!doctype html><html lang="fr"><head><meta name="enclave-language" content="fr" /><script type="module" src="/assets/app-abc123.js"></script></head><body><div id="root"></div></body></html>';

describe('the web portal served under /', () => {
  let dir: string;
  let app: Hono<{ Variables: { requestId: string } }>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enclave-static-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), INDEX);
    await writeFile(join(dir, 'assets', 'app-abc123.js'), 'console.log(1)');
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

  test('a path that tries to climb out of the build is just the app', async () => {
    const res = await app.request('/../../etc/passwd');
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<div id="root">/);
  });

  test('without a build, the server says how to build the portal', async () => {
    const bare = createHttpApp({ version: 't', health: async () => ({}), routes: [], openApiPaths: [], portal: staticPortal({ dir: join(dir, 'none'), language: 'fr' }) });
    const res = await bare.request('/');
    assert.equal(res.status, 503);
    assert.match(await res.text(), /npm run web:build/);
  });
});
