import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from './config.ts';

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
