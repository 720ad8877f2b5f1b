/**
 * What a server runs beside its requests (startBackgroundJobs, used by both `enclave serve` and
 * `npm start`): permits past their end date are marked expired at start and then on schedule,
 * each expiry audited; the register never keeps showing them as active.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openGovFixture, type GovFixture } from '../test/helpers/governance.ts';
import { startBackgroundJobs } from './main.ts';

const statusOf = async (f: GovFixture, id: string): Promise<string | undefined> => (await f.gov.register()).find((e) => e.projectId === id)?.status;
const expiries = async (f: GovFixture, id: string): Promise<Array<{ actor_kind: string; actor_id: string }>> =>
  f.t.db.query("SELECT actor_kind, actor_id FROM audit_events WHERE action = 'governance.project.expire' AND target = $1", [`project:${id}`]);

describe('background jobs of the server', () => {
  let f: GovFixture;
  before(async () => {
    f = await openGovFixture();
  });
  after(async () => {
    await f.close();
  });

  test('permits past their end date are expired at start and on schedule, audited, and the register says so', async () => {
    const ending = await f.projectAt('active'); // permit until 2027-02-28
    const later = await f.gov.createProject(f.who.applicant, f.application());
    for (const [k, a] of [['applicant', 'submit'], ['committee1', 'accept_complete'], ['ethics', 'ethics_favourable'], ['legal', 'legal_approve']] as const) await f.gov.take(f.who[k], later.id, a);
    await f.gov.proposePermit(f.who.committee1, later.id, await f.permitFor(later.id, { validUntil: '2027-06-30' }));
    await f.gov.take(f.who.committee1, later.id, 'committee_approve');
    await f.gov.take(f.who.committee2, later.id, 'committee_approve');
    assert.equal(await statusOf(f, ending), 'active');

    f.setNow(new Date('2027-03-01T08:00:00Z'));
    const errors: unknown[] = [];
    const jobs = await startBackgroundJobs({ audit: f.audit, governance: f.gov }, { checkpointMs: 0, expiryMs: 50, onError: (_w, e) => errors.push(e) });
    try {
      // At start, before the server answers anything.
      assert.equal(await statusOf(f, ending), 'expired');
      assert.equal(await statusOf(f, later.id), 'active');
      assert.deepEqual(await expiries(f, ending), [{ actor_kind: 'service', actor_id: 'governance' }]);

      f.setNow(new Date('2027-07-01T00:00:00Z'));
      const deadline = Date.now() + 10_000;
      while ((await statusOf(f, later.id)) !== 'expired' && Date.now() < deadline) await sleep(50);
      assert.equal(await statusOf(f, later.id), 'expired', 'the schedule expires a permit that ends while the server runs');
      assert.equal((await expiries(f, later.id)).length, 1);
      assert.equal((await expiries(f, ending)).length, 1, 'an expired project is not expired again');
    } finally {
      await jobs.stop();
    }
    assert.deepEqual(errors, []);
  });

  test('the checkpoint schedule signs checkpoints while the server runs', async () => {
    const before = (await f.audit.checkpoints()).length;
    await f.audit.record({ actor: { kind: 'service', id: 'test' }, action: 'test.event', target: 'test:1' });
    const jobs = await startBackgroundJobs({ audit: f.audit, governance: f.gov }, { checkpointMs: 50, onError: () => undefined });
    try {
      const deadline = Date.now() + 10_000;
      while ((await f.audit.checkpoints()).length === before && Date.now() < deadline) await sleep(50);
    } finally {
      await jobs.stop();
    }
    assert.ok((await f.audit.checkpoints()).length > before);
  });
});
