/**
 * The embedded provider's storage on the metadata database, against oidc-provider's adapter
 * contract (example/my_adapter.js), and the TOTP step bookkeeping; on PGlite and PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openTestDb, type TestDb } from '../../test/helpers/db.ts';
import { acceptTotpStep } from './idp-accounts.ts';
import { OIDC_STORE_PRUNE_INTERVAL_MS, oidcStoreAdapter, PendingLogins } from './oidc-store.ts';

describe('oidc-provider adapter on the metadata database', () => {
  let t: TestDb;
  let clock = new Date('2026-03-01T10:00:00Z');
  const now = (): Date => clock;
  const tick = (ms: number): void => {
    clock = new Date(clock.getTime() + ms);
  };
  let adapter: ReturnType<typeof oidcStoreAdapter>;
  before(async () => {
    t = await openTestDb();
    adapter = oidcStoreAdapter(t.db, { now });
  });
  after(async () => {
    await t.drop();
  });

  test('upsert then find returns the payload as stored; another model with the same id is another row', async () => {
    const codes = adapter('AuthorizationCode');
    const payload = { jti: 'c1', kind: 'AuthorizationCode', grantId: 'g1', clientId: 'enclave-portal', accountId: 'ethics', scope: 'openid', exp: 1 };
    await codes.upsert('c1', payload, 60);
    assert.deepEqual(await codes.find('c1'), payload);
    assert.equal(await adapter('AccessToken').find('c1'), undefined);
    assert.equal(await codes.find('nope'), undefined);
    // upsert replaces
    await codes.upsert('c1', { ...payload, scope: 'openid profile' }, 60);
    assert.equal((await codes.find('c1'))?.scope, 'openid profile');
  });

  test('consume marks the row (consumed, epoch seconds) and a second consume is refused with invalid_grant', async () => {
    const codes = adapter('AuthorizationCode');
    await codes.upsert('c2', { jti: 'c2', grantId: 'g2' }, 60);
    await codes.consume('c2');
    const found = await codes.find('c2');
    assert.equal(found?.consumed, Math.floor(clock.getTime() / 1000));
    // two redemptions that both passed the provider's `consumed` check: the second loses
    await assert.rejects(codes.consume('c2'), (e: unknown) => (e as { error?: string }).error === 'invalid_grant');
    // a re-save keeps the mark
    await codes.upsert('c2', { jti: 'c2', grantId: 'g2' }, 60);
    assert.ok((await codes.find('c2'))?.consumed);
  });

  test('concurrent consumes of one code: exactly one wins', async () => {
    const codes = adapter('AuthorizationCode');
    await codes.upsert('c3', { jti: 'c3', grantId: 'g3' }, 60);
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => codes.consume('c3')));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  });

  test('destroy removes; findByUid (Session) and findByUserCode (DeviceCode) find by their index', async () => {
    const sessions = adapter('Session');
    await sessions.upsert('s1', { jti: 's1', uid: 'u1', kind: 'Session', accountId: 'ethics' }, 3600);
    assert.equal((await sessions.findByUid('u1'))?.jti, 's1');
    assert.equal(await adapter('Interaction').findByUid('u1'), undefined, 'the uid index is per model');
    await sessions.destroy('s1');
    assert.equal(await sessions.find('s1'), undefined);
    assert.equal(await sessions.findByUid('u1'), undefined);
    const devices = adapter('DeviceCode');
    await devices.upsert('d1', { jti: 'd1', userCode: 'ABCD-EFGH', grantId: 'g4' }, 600);
    assert.equal((await devices.findByUserCode('ABCD-EFGH'))?.jti, 'd1');
  });

  test('revokeByGrantId removes that model\'s rows of the grant only', async () => {
    const [codes, tokens] = [adapter('AuthorizationCode'), adapter('AccessToken')];
    await codes.upsert('c5', { jti: 'c5', grantId: 'g5' }, 60);
    await tokens.upsert('a5', { jti: 'a5', grantId: 'g5' }, 600);
    await tokens.upsert('a6', { jti: 'a6', grantId: 'g6' }, 600);
    await tokens.revokeByGrantId('g5');
    assert.equal(await tokens.find('a5'), undefined);
    assert.ok(await tokens.find('a6'), 'another grant is untouched');
    assert.ok(await codes.find('c5'), 'the provider revokes each model in turn');
    await codes.revokeByGrantId('g5');
    assert.equal(await codes.find('c5'), undefined);
  });

  test('an expired row is absent at once and pruned at the next write after the prune interval', async () => {
    const interactions = adapter('Interaction');
    await interactions.upsert('i1', { jti: 'i1', kind: 'Interaction' }, 600);
    await adapter('Grant').upsert('forever', { jti: 'forever' });
    tick(601_000);
    assert.equal(await interactions.find('i1'), undefined);
    assert.ok(await adapter('Grant').find('forever'), 'no expiresIn: kept');
    const rows = async (): Promise<number> => Number((await t.db.query<{ n: string }>("SELECT count(*)::text AS n FROM identity_oidc_store WHERE model = 'Interaction' AND id = 'i1'"))[0]?.n);
    assert.equal(await rows(), 1, 'still stored until a prune');
    tick(OIDC_STORE_PRUNE_INTERVAL_MS);
    await interactions.upsert('i2', { jti: 'i2' }, 600);
    assert.equal(await rows(), 0);
  });

  test('login steps awaiting the second factor: kept, read, deleted', async () => {
    const steps = new PendingLogins(t.db, 60_000);
    await steps.put('uid-1', { username: 'ethics', methods: ['pwd'] });
    assert.deepEqual(await steps.get('uid-1'), { username: 'ethics', methods: ['pwd'] });
    await steps.delete('uid-1');
    assert.equal(await steps.get('uid-1'), undefined);
    const expired = new PendingLogins(t.db, -1);
    await expired.put('uid-2', { username: 'ethics', methods: [] });
    assert.equal(await expired.get('uid-2'), undefined);
  });
});

describe('TOTP time step bookkeeping', () => {
  let t: TestDb;
  before(async () => {
    t = await openTestDb();
    await t.db.query("INSERT INTO identity_idp_accounts (username, subject, password_hash, totp_secret, display_name) VALUES ('alice', 'alice', 'x', 'JBSWY3DPEHPK3PXP', 'Alice')");
  });
  after(async () => {
    await t.drop();
  });

  test('a step is accepted once; an earlier one never; a later one once', async () => {
    const step = 59_000_000;
    assert.equal(await acceptTotpStep(t.db, 'alice', step), true);
    assert.equal(await acceptTotpStep(t.db, 'alice', step), false, 'the same code again');
    assert.equal(await acceptTotpStep(t.db, 'alice', step - 1), false, 'the previous step, still in the drift window');
    assert.equal(await acceptTotpStep(t.db, 'alice', step + 1), true);
    assert.equal(await acceptTotpStep(t.db, 'alice', step + 1), false);
    assert.equal(await acceptTotpStep(t.db, 'nobody', step + 5), false);
  });

  test('20 concurrent submissions of one code: exactly one accepted', async () => {
    const step = 59_000_100;
    const results = await Promise.all(Array.from({ length: 20 }, () => acceptTotpStep(t.db, 'alice', step)));
    assert.equal(results.filter(Boolean).length, 1, `on ${t.db.kind}`);
  });
});
