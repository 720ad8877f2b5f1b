/**
 * The one error handler and the security headers of the HTTP adapter, on a real Hono app and the
 * suite's metadata database: errors keep what they say, unknown ones say nothing, HSTS follows
 * the public URL's scheme.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { openTestDb, type TestDb } from '../../test/helpers/db.ts';
import { AppError } from '../errors.ts';
import { createHttpApp, HSTS, type HttpDeps } from './app.ts';

describe('the error handler keeps what errors say', () => {
  let t: TestDb;
  let app: ReturnType<typeof createHttpApp>;
  const logged: unknown[] = [];
  before(async () => {
    t = await openTestDb();
    const r = new Hono();
    r.get('/three-identifiers', () => {
      throw new AppError('invalid', 'the permit grants 3 potential identifiers of ER_PRS_F; at most 2 may be combined', {
        hint: 'drop one of BEN_NAI_ANN, BEN_RES_COM, EXE_SOI_DTD or ask for an exemption', details: { table: 'ER_PRS_F', count: 3 },
      });
    });
    r.get('/framework', () => {
      throw new HTTPException(400, { message: 'Malformed FormData request.' });
    });
    r.get('/unknown', () => {
      throw new Error('password=hunter2 at /srv/secret/path');
    });
    r.get('/nul-in-db', async (c) => c.json(await t.db.query('SELECT $1::text AS v', ['a\u0000b'])));
    r.get('/nul-in-jsonb', async (c) => c.json(await t.db.query('SELECT $1::jsonb AS v', ['{"a":"\\u0000"}'])));
    app = createHttpApp({ version: 't', health: async () => ({}), routes: [{ prefix: 'x', app: r }], openApiPaths: [], logError: (_id, e) => logged.push(e) });
  });
  after(async () => {
    await t.drop();
  });

  test('a validation error of the product keeps its message, hint and details (not "malformed request")', async () => {
    const res = await app.request('/api/v1/x/three-identifiers');
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    const p = await res.json() as Record<string, unknown>;
    assert.equal(p['code'], 'invalid');
    assert.match(String(p['detail']), /3 potential identifiers/);
    assert.match(String(p['hint']), /drop one of/);
    assert.deepEqual(p['details'], { table: 'ER_PRS_F', count: 3 });
    assert.equal(typeof p['requestId'], 'string');
  });

  test('a framework 400 keeps its message', async () => {
    const p = await (await app.request('/api/v1/x/framework')).json() as Record<string, unknown>;
    assert.equal(p['status'], 400);
    assert.equal(p['detail'], 'Malformed FormData request.');
  });

  test('an unknown error is a generic 500 with the request id, never its message', async () => {
    const res = await app.request('/api/v1/x/unknown', { headers: { 'X-Request-Id': 'req-42' } });
    assert.equal(res.status, 500);
    const text = await res.text();
    assert.doesNotMatch(text, /hunter2|secret/);
    assert.equal((JSON.parse(text) as Record<string, unknown>)['requestId'], 'req-42');
    assert.ok(logged.length > 0);
  });

  test('the database refusing NUL in text or jsonb is a 400, not a 500 (backstop behind the validation layer)', async () => {
    for (const path of ['/api/v1/x/nul-in-db', '/api/v1/x/nul-in-jsonb']) {
      const res = await app.request(path);
      const p = await res.json() as Record<string, unknown>;
      assert.equal(res.status, 400, JSON.stringify(p));
      assert.equal(p['code'], 'invalid');
      assert.match(String(p['detail']), /NUL/);
    }
  });
});

describe('HSTS follows the public URL', () => {
  const deps = (https: boolean): HttpDeps => ({ version: 't', health: async () => ({}), routes: [], openApiPaths: [], https });

  test('https public URL: every answer, errors included, carries Strict-Transport-Security', async () => {
    const app = createHttpApp(deps(true));
    for (const path of ['/healthz', '/api/v1/openapi.json', '/api/v1/nowhere']) {
      assert.equal((await app.request(path)).headers.get('strict-transport-security'), HSTS, path);
    }
  });

  test('http public URL: no Strict-Transport-Security (it would lock browsers out of a plain-http deployment)', async () => {
    const app = createHttpApp(deps(false));
    for (const path of ['/healthz', '/api/v1/nowhere']) assert.equal((await app.request(path)).headers.get('strict-transport-security'), null, path);
  });
});

describe('a route that takes larger bodies has its own explicit limit', () => {
  const stream = (bytes: number): ReadableStream<Uint8Array> => {
    let left = bytes;
    return new ReadableStream({
      pull(ctl) {
        if (left <= 0) {
          ctl.close();
          return;
        }
        const n = Math.min(64 * 1024, left);
        left -= n;
        ctl.enqueue(new Uint8Array(n).fill(97));
      },
    });
  };
  const r = new Hono();
  r.post('/upload', async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }));
  r.post('/other', async (c) => c.json({ bytes: (await c.req.arrayBuffer()).byteLength }));
  const app = createHttpApp({
    version: 't', health: async () => ({}), openApiPaths: [], routes: [{ prefix: 'x', app: r }],
    maxBodyBytes: 1024 * 1024, bodyLimits: [{ prefix: '/api/v1/x/upload', maxBytes: 4 * 1024 * 1024 }],
  });
  const post = (path: string, bytes: number) => app.request(path, { method: 'POST', body: stream(bytes), headers: { 'content-type': 'application/octet-stream' }, duplex: 'half' });

  test('2 MiB streamed: accepted on the upload route, 413 elsewhere; past 4 MiB the upload route refuses too', async () => {
    const ok = await post('/api/v1/x/upload', 2 * 1024 * 1024);
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { bytes: 2 * 1024 * 1024 });
    const other = await post('/api/v1/x/other', 2 * 1024 * 1024);
    assert.equal(other.status, 413);
    assert.equal(((await other.json()) as { details: { limitBytes: number } }).details.limitBytes, 1024 * 1024);
    const big = await post('/api/v1/x/upload', 5 * 1024 * 1024);
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { details: { limitBytes: number } }).details.limitBytes, 4 * 1024 * 1024);
  });
});
