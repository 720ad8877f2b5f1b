import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig, quickStartEnv } from './config.ts';

test('the embedded default needs no variable and is frozen', () => {
  const c = loadConfig({}, '/srv/enclave');
  assert.equal(c.dataDir, '/srv/enclave/data');
  assert.equal(c.databaseUrl, undefined);
  assert.equal(c.pgliteDir, '/srv/enclave/data/metadata');
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.audit));
  assert.throws(() => {
    (c as { port: number }).port = 1;
  });
});

test('every invalid variable is reported at once with a hint', () => {
  assert.throws(
    () => loadConfig({ DATABASE_URL: 'mysql://x', ENCLAVE_PORT: '70000', ENCLAVE_AUDIT_RETENTION_DAYS: '30' }),
    (e: Error) => {
      assert.match(e.message, /DATABASE_URL: must be a postgres/);
      assert.match(e.message, /ENCLAVE_PORT: .*\(a TCP port/);
      assert.match(e.message, /ENCLAVE_AUDIT_RETENTION_DAYS: the log must be kept at least six months/);
      return true;
    },
  );
});

test('unrelated environment variables are ignored', () => {
  const c = loadConfig({ PATH: '/bin', ENCLAVE_PORT: '9000' });
  assert.equal(c.port, 9000);
});

test('demo mode is off by default, and on only when asked', () => {
  assert.equal(loadConfig({}).demoMode, false);
  assert.equal(loadConfig({ ENCLAVE_DEMO_MODE: 'on' }).demoMode, true);
  assert.equal(loadConfig({ ENCLAVE_DEMO_MODE: 'on', ENCLAVE_HOST: '::1' }).demoMode, true);
  assert.throws(() => loadConfig({ ENCLAVE_DEMO_MODE: 'yes' }), /ENCLAVE_DEMO_MODE: .*on or off/s);
});

test('demo mode beyond loopback is refused unless the operator sets the second setting knowingly', () => {
  for (const env of [{ ENCLAVE_HOST: '0.0.0.0' }, { ENCLAVE_HOST: '10.1.2.3' }, { ENCLAVE_PUBLIC_URL: 'https://enclave.example.org' }]) {
    assert.throws(() => loadConfig({ ENCLAVE_DEMO_MODE: 'on', ...env }), (e: Error) => {
      assert.match(e.message, /ENCLAVE_DEMO_MODE: demo mode lists every demo account .* reachable beyond loopback/);
      assert.match((e as Error & { hint?: string }).hint ?? '', /ENCLAVE_DEMO_MODE_BEYOND_LOOPBACK=on/);
      return true;
    });
    assert.equal(loadConfig({ ENCLAVE_DEMO_MODE: 'on', ENCLAVE_DEMO_MODE_BEYOND_LOOPBACK: 'on', ...env }).demoMode, true);
    assert.equal(loadConfig({ ENCLAVE_DEMO_MODE_BEYOND_LOOPBACK: 'on', ...env }).demoMode, false, 'the second setting alone turns nothing on');
  }
  assert.throws(() => loadConfig({ ENCLAVE_DEMO_MODE: 'on', ENCLAVE_OIDC_ISSUER: 'https://idp.example.org', ENCLAVE_OIDC_CLIENT_ID: 'x', ENCLAVE_OIDC_CLIENT_SECRET: 'y' }), /demo people exist only in the embedded provider/);
});

test('the quick start turns demo mode on only on loopback, and never over an explicit choice', () => {
  const demo = (env: Record<string, string>): boolean => loadConfig(quickStartEnv(env)).demoMode;
  assert.equal(demo({}), true);
  assert.equal(demo({ ENCLAVE_HOST: 'localhost' }), true);
  assert.equal(demo({ ENCLAVE_DEMO_MODE: 'off' }), false);
  assert.equal(demo({ ENCLAVE_HOST: '0.0.0.0' }), false);
  assert.equal(demo({ ENCLAVE_PUBLIC_URL: 'https://enclave.example.org' }), false);
  assert.equal(demo({ ENCLAVE_OIDC_ISSUER: 'https://idp.example.org', ENCLAVE_OIDC_CLIENT_ID: 'x', ENCLAVE_OIDC_CLIENT_SECRET: 'y' }), false);
});

test('the embedded provider\'s logins must carry both the password and the second factor', () => {
  assert.deepEqual(loadConfig({}).oidc.requiredAmr, ['pwd', 'otp']);
});

test('ENCLAVE_ENGINE picks the workspace engine: DuckDB by default, Trino only with its URL and rules file', () => {
  assert.deepEqual(loadConfig({}, '/srv/enclave').workspaceEngine, { kind: 'duckdb' });
  assert.throws(() => loadConfig({ ENCLAVE_ENGINE: 'trino' }, '/srv/enclave'), (e: Error) => /ENCLAVE_TRINO_URL: required when ENCLAVE_ENGINE=trino/.test(e.message) && /ENCLAVE_TRINO_RULES_FILE: required/.test(e.message));
  assert.throws(() => loadConfig({ ENCLAVE_ENGINE: 'spark' }, '/srv/enclave'), /ENCLAVE_ENGINE/);
  assert.deepEqual(loadConfig({ ENCLAVE_ENGINE: 'trino', ENCLAVE_TRINO_URL: 'http://127.0.0.1:18080', ENCLAVE_TRINO_RULES_FILE: 'etc/rules.json' }, '/srv/enclave').workspaceEngine, { kind: 'trino', url: 'http://127.0.0.1:18080', rulesFile: '/srv/enclave/etc/rules.json', catalog: 'enclave' });
});

test('ENCLAVE_TRINO_URL beside the DuckDB default makes Trino a second engine, its rules file then required', () => {
  assert.deepEqual(loadConfig({}, '/srv/enclave').engines, ['duckdb']);
  assert.equal(loadConfig({}, '/srv/enclave').trino, undefined);
  assert.throws(() => loadConfig({ ENCLAVE_TRINO_URL: 'http://127.0.0.1:18080' }, '/srv/enclave'), (e: Error) => /ENCLAVE_TRINO_RULES_FILE: required when ENCLAVE_TRINO_URL is set/.test(e.message) && /unset ENCLAVE_TRINO_URL/.test((e as { hint?: string }).hint ?? ''));
  const c = loadConfig({ ENCLAVE_TRINO_URL: 'http://127.0.0.1:18080', ENCLAVE_TRINO_RULES_FILE: 'etc/rules.json', ENCLAVE_TRINO_WAREHOUSE: 'w' }, '/srv/enclave');
  assert.deepEqual(c.workspaceEngine, { kind: 'duckdb' });
  assert.deepEqual(c.engines, ['duckdb', 'trino']);
  assert.deepEqual(c.trino, { kind: 'trino', url: 'http://127.0.0.1:18080', rulesFile: '/srv/enclave/etc/rules.json', catalog: 'enclave', warehouse: '/srv/enclave/w' });
  const t = loadConfig({ ENCLAVE_ENGINE: 'trino', ENCLAVE_TRINO_URL: 'http://127.0.0.1:18080', ENCLAVE_TRINO_RULES_FILE: 'etc/rules.json' }, '/srv/enclave');
  assert.deepEqual(t.engines, ['duckdb', 'trino']);
  assert.equal(t.workspaceEngine, t.trino);
});

test('ENCLAVE_TRINO_S3_ENDPOINT keeps Trino\'s dataset versions on the SSE-C store, with the ENCLAVE_S3_* bucket and credentials, never beside a clear warehouse', () => {
  const trino = { ENCLAVE_ENGINE: 'trino', ENCLAVE_TRINO_URL: 'http://127.0.0.1:18080', ENCLAVE_TRINO_RULES_FILE: 'etc/rules.json', ENCLAVE_TRINO_S3_ENDPOINT: 'https://s3.example.test' };
  assert.throws(() => loadConfig(trino, '/srv/enclave'), (e: Error) => /ENCLAVE_S3_BUCKET: required when ENCLAVE_ENGINE=trino/.test(e.message) && /ENCLAVE_S3_SECRET_ACCESS_KEY/.test(e.message));
  const s3 = { ENCLAVE_S3_BUCKET: 'health-data', ENCLAVE_S3_ACCESS_KEY_ID: 'id', ENCLAVE_S3_SECRET_ACCESS_KEY: 'secret', ENCLAVE_S3_PREFIX: 'prod/' };
  assert.throws(() => loadConfig({ ...trino, ...s3, ENCLAVE_TRINO_WAREHOUSE: '/tmp/w' }, '/srv/enclave'), /give one/);
  const w = loadConfig({ ...trino, ...s3 }, '/srv/enclave').workspaceEngine;
  assert.ok(w.kind === 'trino');
  assert.deepEqual(w.s3, { endpoint: 'https://s3.example.test', bucket: 'health-data', region: 'us-east-1', prefix: 'prod/trino', accessKeyId: 'id', secretAccessKey: 'secret' });
});

test('ENCLAVE_TRINO_S3_CA_FILE names the CA of the https object store endpoint, and nothing else', () => {
  const trino = { ENCLAVE_ENGINE: 'trino', ENCLAVE_TRINO_URL: 'http://127.0.0.1:18080', ENCLAVE_TRINO_RULES_FILE: 'etc/rules.json', ENCLAVE_S3_BUCKET: 'health-data', ENCLAVE_S3_ACCESS_KEY_ID: 'id', ENCLAVE_S3_SECRET_ACCESS_KEY: 'secret' };
  const w = loadConfig({ ...trino, ENCLAVE_TRINO_S3_ENDPOINT: 'https://s3.example.test', ENCLAVE_TRINO_S3_CA_FILE: 'tls/s3-ca.pem' }, '/srv/enclave').workspaceEngine;
  assert.ok(w.kind === 'trino');
  assert.equal(w.s3?.caFile, '/srv/enclave/tls/s3-ca.pem');
  assert.throws(() => loadConfig({ ...trino, ENCLAVE_TRINO_S3_ENDPOINT: 'http://s3.example.test', ENCLAVE_TRINO_S3_CA_FILE: 'ca.pem' }, '/srv/enclave'), /ENCLAVE_TRINO_S3_CA_FILE: given, but ENCLAVE_TRINO_S3_ENDPOINT is not an https/);
  assert.throws(() => loadConfig({ ...trino, ENCLAVE_TRINO_S3_CA_FILE: 'ca.pem' }, '/srv/enclave'), /not an https/);
});

test('ENCLAVE_TRINO_S3_ENDPOINT over plain http is refused beyond loopback: SSE-C would send the keys in clear', () => {
  const trino = { ENCLAVE_ENGINE: 'trino', ENCLAVE_TRINO_URL: 'http://127.0.0.1:18080', ENCLAVE_TRINO_RULES_FILE: 'etc/rules.json', ENCLAVE_S3_BUCKET: 'health-data', ENCLAVE_S3_ACCESS_KEY_ID: 'id', ENCLAVE_S3_SECRET_ACCESS_KEY: 'secret' };
  for (const endpoint of ['http://s3.example.test', 'http://10.0.0.5:9000', 'http://[2001:db8::1]:9000']) {
    assert.throws(() => loadConfig({ ...trino, ENCLAVE_TRINO_S3_ENDPOINT: endpoint }, '/srv/enclave'), /ENCLAVE_TRINO_S3_ENDPOINT: http:\/\/\S+ is reached beyond this machine without TLS, and SSE-C would send the dataset keys in clear/, endpoint);
  }
  for (const endpoint of ['http://127.0.0.1:4568', 'http://localhost:4568', 'http://[::1]:4568', 'https://s3.example.test']) {
    const w = loadConfig({ ...trino, ENCLAVE_TRINO_S3_ENDPOINT: endpoint }, '/srv/enclave').workspaceEngine;
    assert.ok(w.kind === 'trino' && w.s3?.endpoint === endpoint, endpoint);
  }
});

test('the PostgreSQL endpoint is off unless its port is set, and plain TCP only on loopback', () => {
  assert.equal(loadConfig({}).pgwire, undefined);
  const local = loadConfig({ ENCLAVE_PGWIRE_PORT: '5433' }).pgwire;
  assert.deepEqual(local, { host: '127.0.0.1', port: 5433, recheckMs: 5000, tls: undefined });
  assert.throws(() => loadConfig({ ENCLAVE_PGWIRE_PORT: '5433', ENCLAVE_PGWIRE_HOST: '0.0.0.0' }), /ENCLAVE_PGWIRE_HOST: 0\.0\.0\.0 is reachable beyond this machine/);
  assert.throws(() => loadConfig({ ENCLAVE_PGWIRE_PORT: '5433', ENCLAVE_PGWIRE_TLS_CERT: '/tls/cert.pem' }), /give both/);
  const tls = loadConfig({ ENCLAVE_PGWIRE_PORT: '5433', ENCLAVE_PGWIRE_HOST: '0.0.0.0', ENCLAVE_PGWIRE_TLS_CERT: '/tls/cert.pem', ENCLAVE_PGWIRE_TLS_KEY: '/tls/key.pem' }).pgwire;
  assert.deepEqual(tls?.tls, { certPath: '/tls/cert.pem', keyPath: '/tls/key.pem' });
});
