/**
 * The release request's tables and policy, as pure functions: every status is covered, each
 * action starts where its actor may act and goes where the table allows, and nobody reviews their
 * own request, whatever the status and whatever roles they hold.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AppError } from '../errors.ts';
import type { Principal, Role } from '../identity/index.ts';
import { assertCanAct, assertCanDownload, assertCanReview, canReview, canViewRequest, type ProjectFacts, type RequestFacts } from './policy.ts';
import {
  FINAL_REQUEST_STATUSES, REQUEST_ACTION_NAMES, REQUEST_ACTIONS, REQUEST_STATUSES, REQUEST_TRANSITIONS, STATUS_ACTORS, canMoveRequest, requestActionsFrom, statusAfterVotes,
  type RequestActor, type RequestStatus,
} from './workflow.ts';

const who = (id: string, roles: readonly Role[] = [], via: Principal['via'] = 'session'): Principal => ({ personId: id, roles: new Set(roles), via, projectScope: null });
const project: ProjectFacts = { id: 'p1', status: 'active', members: ['pi', 'member'] };
const req = (status: RequestStatus, createdBy = 'member'): RequestFacts => ({ id: 'r1', projectId: 'p1', status, createdBy });
const code = (f: () => void): string | null => {
  try {
    f();
    return null;
  } catch (e) {
    assert.ok(e instanceof AppError, String(e));
    return `${e.code}:${String(e.details?.['reason'] ?? '')}`;
  }
};
const free = { changedCheckers: false, alreadyVoted: false };

describe('airlock workflow tables', () => {
  test('every status has its successors and its actors, and nothing else is listed', () => {
    assert.deepEqual(Object.keys(REQUEST_TRANSITIONS).sort(), [...REQUEST_STATUSES].sort());
    assert.deepEqual(Object.keys(STATUS_ACTORS).sort(), [...REQUEST_STATUSES].sort());
    for (const [from, tos] of Object.entries(REQUEST_TRANSITIONS)) for (const to of tos) assert.ok((REQUEST_STATUSES as readonly string[]).includes(to), `${from} → ${to}`);
  });

  test('final statuses lead nowhere and nobody acts in them; every other status is reachable from draft', () => {
    for (const s of FINAL_REQUEST_STATUSES) {
      assert.deepEqual(REQUEST_TRANSITIONS[s], []);
      assert.deepEqual(STATUS_ACTORS[s], []);
      assert.deepEqual(requestActionsFrom(s), []);
    }
    const seen = new Set<RequestStatus>(['draft']);
    const todo: RequestStatus[] = ['draft'];
    while (todo.length > 0) {
      const s = todo.pop() as RequestStatus;
      for (const t of REQUEST_TRANSITIONS[s]) if (!seen.has(t)) { seen.add(t); todo.push(t); }
    }
    assert.deepEqual([...seen].sort(), [...REQUEST_STATUSES].sort());
  });

  test('each action starts only where its actor may act, and goes only where the table allows', () => {
    for (const a of REQUEST_ACTION_NAMES) {
      const spec = REQUEST_ACTIONS[a];
      assert.ok(spec.from.length > 0, a);
      for (const from of spec.from) {
        assert.ok((STATUS_ACTORS[from] as readonly RequestActor[]).includes(spec.by), `${a} from ${from} by ${spec.by}`);
        for (const to of spec.to) assert.ok(canMoveRequest(from, to), `${a}: ${from} → ${to}`);
      }
    }
    // every transition is taken by some action (or by the vote count of a review)
    for (const s of REQUEST_STATUSES) for (const t of REQUEST_TRANSITIONS[s]) {
      assert.ok(REQUEST_ACTION_NAMES.some((a) => (REQUEST_ACTIONS[a].from as readonly string[]).includes(s) && ((REQUEST_ACTIONS[a].to as readonly string[]).includes(t) || (a === 'review' && t === 'in_review'))), `${s} → ${t}`);
    }
  });

  test('votes decide: any refusal rejects, any return returns, two distinct approvals of every output release', () => {
    const v = (checkerId: string, decision: 'approve' | 'return' | 'reject') => ({ checkerId, decision });
    assert.equal(statusAfterVotes([{ votes: [v('a', 'approve')] }], 2), 'in_review');
    assert.equal(statusAfterVotes([{ votes: [v('a', 'approve'), v('a', 'approve')] }], 2), 'in_review', 'the same checker twice is one approval');
    assert.equal(statusAfterVotes([{ votes: [v('a', 'approve'), v('b', 'approve')] }], 2), 'released');
    assert.equal(statusAfterVotes([{ votes: [v('a', 'approve'), v('b', 'approve')] }, { votes: [v('a', 'approve')] }], 2), 'in_review');
    assert.equal(statusAfterVotes([{ votes: [v('a', 'approve'), v('b', 'approve')] }], 1), 'released');
    assert.equal(statusAfterVotes([{ votes: [v('a', 'approve')] }], 1), 'in_review', 'never fewer than two checkers, whatever a permit says');
    assert.equal(statusAfterVotes([{ votes: [v('a', 'approve'), v('b', 'return')] }], 2), 'returned');
    assert.equal(statusAfterVotes([{ votes: [v('a', 'return'), v('b', 'reject')] }], 2), 'rejected');
    assert.equal(statusAfterVotes([], 2), 'in_review');
  });
});

describe('airlock policy', () => {
  test('nobody reviews their own request, in any status, whatever roles they hold', () => {
    const self = who('member', ['output_checker', 'admin', 'access_committee']);
    for (const s of REQUEST_STATUSES) {
      assert.equal(code(() => assertCanReview(self, { ...project, members: ['pi'] }, req(s, 'member'), free)), 'forbidden:own_request', s);
      assert.equal(canReview(self, project, req(s), free), false);
    }
  });

  test('a checker who belongs to the project, holds no checker role, uses a token or changed the checkers is refused; a second vote is a conflict', () => {
    assert.equal(code(() => assertCanReview(who('pi', ['output_checker']), project, req('submitted'), free)), 'forbidden:project_member');
    assert.equal(code(() => assertCanReview(who('c1', ['access_committee']), project, req('submitted'), free)), 'forbidden:not_checker');
    assert.equal(code(() => assertCanReview(who('c1', ['output_checker'], 'token'), project, req('submitted'), free)), 'forbidden:token');
    assert.equal(code(() => assertCanReview(who('c1', ['output_checker']), project, req('submitted'), { changedCheckers: true, alreadyVoted: false })), 'forbidden:changed_checkers');
    assert.equal(code(() => assertCanReview(who('c1', ['output_checker']), project, req('in_review'), { changedCheckers: false, alreadyVoted: true })), 'conflict:already_voted');
    assert.equal(code(() => assertCanReview(who('c1', ['output_checker']), project, req('submitted'), free)), null);
    for (const s of ['draft', 'returned', 'released', 'rejected', 'withdrawn'] as const) assert.match(code(() => assertCanReview(who('c1', ['output_checker']), project, req(s), free)) ?? '', /^conflict/, s);
  });

  test('members act on their request where the table lets them; outsiders never; downloads need a release', () => {
    assert.equal(code(() => assertCanAct(who('pi'), project, req('draft'), 'submit')), null);
    assert.equal(code(() => assertCanAct(who('pi'), project, req('returned'), 'edit')), null);
    assert.match(code(() => assertCanAct(who('pi'), project, req('submitted'), 'edit')) ?? '', /^conflict/);
    assert.equal(code(() => assertCanAct(who('outsider', ['output_checker']), project, req('draft'), 'withdraw')), 'forbidden:not_member');
    assert.equal(code(() => assertCanDownload(who('outsider', ['admin', 'output_checker']), project, req('released'))), 'forbidden:not_member');
    assert.match(code(() => assertCanDownload(who('member'), project, req('in_review'))) ?? '', /^conflict/);
    assert.equal(code(() => assertCanDownload(who('member'), project, req('released'))), null);
    assert.equal(code(() => assertCanDownload({ ...who('member'), projectScope: 'other' }, project, req('released'))), 'forbidden:token_scope');
  });

  test('checkers see requests once submitted, never drafts; outsiders see none', () => {
    assert.equal(canViewRequest(who('c1', ['output_checker']), project, req('draft')), false);
    assert.equal(canViewRequest(who('c1', ['output_checker']), project, req('submitted')), true);
    assert.equal(canViewRequest(who('x', ['operator']), project, req('released')), false);
    assert.equal(canViewRequest(who('member'), project, req('draft')), true);
  });
});
