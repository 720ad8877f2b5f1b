/**
 * The demo logins switch (issue 15, item 4): an admin turns the embedded provider's demo people
 * off at once (their sessions end, their tokens are revoked); turning them back on widens access,
 * so one admin proposes and a second approves. The provider's refusal of a demo login is in
 * test/e2e/admin-demo.test.ts, the route permissions in src/http/routes/governance.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openGovFixture, type GovFixture } from '../../test/helpers/governance.ts';
import { AppError } from '../errors.ts';
import { EMBEDDED_ISSUER_ID, seedDemoPeople, type Principal } from './index.ts';

const rejectsWith = async (p: Promise<unknown>, code: string, pattern: RegExp): Promise<void> => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof AppError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  });
};

describe('demo logins switch', () => {
  let f: GovFixture;
  let admin2: Principal;
  before(async () => {
    f = await openGovFixture();
    const id = await f.identity.ensurePerson({ kind: 'service', id: 'test' }, { issuer: 'https://idp.test', subject: 'admin2', displayName: 'admin2', email: null, organisation: 'test' });
    await f.identity.seedRoles({ kind: 'service', id: 'test' }, id, ['admin']);
    admin2 = await f.identity.principalOf(id, 'session');
  });
  after(async () => {
    await f.close();
  });

  const actions = async (prefix: string): Promise<string[]> => {
    const out: string[] = [];
    for await (const l of f.audit.lines()) if (l.event?.action.startsWith(prefix) === true) out.push(`${l.event.action}:${l.event.outcome}`);
    return out;
  };

  test('demo logins are on until an admin turns them off; turning off ends demo sessions at once and keeps other sessions', async () => {
    assert.deepEqual(await f.identity.demoLogins(), { enabled: true, pending: null });
    await seedDemoPeople(f.t.db, f.audit, f.identity, { kind: 'service', id: 'test' });
    const demo = await f.identity.login({ issuer: EMBEDDED_ISSUER_ID, subject: 'applicant', displayName: 'Alice', email: null, organisation: 'demo', acr: 'eidas2', amr: ['pwd', 'otp'] });
    const real = await f.identity.login({ issuer: 'https://idp.test', subject: 'real-person', displayName: 'Real', email: null, organisation: 'x', acr: 'eidas2', amr: ['pwd', 'otp'] });
    assert.notEqual(await f.identity.resolveSession(demo.cookieValue), null);

    const c = await f.identity.setDemoLogins(f.who.admin, false);
    assert.equal(c.state, 'applied');
    assert.deepEqual(await f.identity.demoLogins(), { enabled: false, pending: null });
    assert.equal(await f.identity.resolveSession(demo.cookieValue), null, 'the demo session ended');
    assert.notEqual(await f.identity.resolveSession(real.cookieValue), null, 'other sessions stay');
    await rejectsWith(f.identity.setDemoLogins(f.who.admin, false), 'conflict', /already off/);
    assert.ok((await actions('identity.demo_logins')).includes('identity.demo_logins.disable:success'));
  });

  test('turning demo logins on takes a second admin; the proposer may withdraw but not approve', async () => {
    const p = await f.identity.setDemoLogins(f.who.admin, true);
    assert.equal(p.state, 'pending');
    assert.equal((await f.identity.demoLogins()).enabled, false, 'still off while pending');
    await rejectsWith(f.identity.setDemoLogins(admin2, true), 'conflict', /already waiting/);
    await rejectsWith(f.identity.decideDemoLogins(f.who.admin, p.id, 'approve'), 'forbidden', /four eyes/);
    const approved = await f.identity.decideDemoLogins(admin2, p.id, 'approve');
    assert.equal(approved.state, 'applied');
    assert.deepEqual(await f.identity.demoLogins(), { enabled: true, pending: null });
    await rejectsWith(f.identity.decideDemoLogins(admin2, p.id, 'reject'), 'conflict', /already applied/);

    await f.identity.setDemoLogins(admin2, false);
    const again = await f.identity.setDemoLogins(admin2, true);
    const withdrawn = await f.identity.decideDemoLogins(admin2, again.id, 'reject');
    assert.equal(withdrawn.state, 'rejected');
    assert.equal((await f.identity.demoLogins()).enabled, false);
    const log = await actions('identity.demo_logins');
    for (const a of ['propose:success', 'approve:denied', 'approve:success', 'reject:success']) assert.ok(log.includes(`identity.demo_logins.${a}`), a);
  });

  test('only an admin touches the switch', async () => {
    await rejectsWith(f.identity.setDemoLogins(f.who.committee1, true), 'forbidden', /only an admin/);
    await rejectsWith(f.identity.setDemoLogins(f.who.auditor, false), 'forbidden', /only an admin/);
  });
});
