/**
 * Who may do what to a release request: `assertCanX` throws AppError('forbidden' | 'conflict')
 * with the reason; `canX` is defined through it, so the portal and the API never disagree. "Who"
 * (role, membership, independence) is checked before "state" (the workflow table).
 */
import { AppError, isAppError } from '../errors.ts';
import type { Principal } from '../identity/index.ts';
import {
  EDITABLE_REQUEST_STATUSES, REQUEST_ACTIONS, REVIEWABLE_REQUEST_STATUSES, STATUS_ACTORS, type RequestActionName, type RequestActor, type RequestStatus,
} from './workflow.ts';

/** What the airlock knows of a project: who belongs to it (its author and team). */
export interface ProjectFacts {
  readonly id: string;
  readonly status: string;
  /** Person ids of the project's author and team members (principal investigator included). */
  readonly members: readonly string[];
}

/** What policy needs of a request. */
export interface RequestFacts {
  readonly id: string;
  readonly projectId: string;
  readonly status: RequestStatus;
  readonly createdBy: string;
}

function forbidden(message: string, hint: string, reason: string): AppError {
  return new AppError('forbidden', message, { hint, details: { reason } });
}

function asCan(assert: () => void): boolean {
  try {
    assert();
    return true;
  } catch (e) {
    if (isAppError(e)) return false;
    throw e;
  }
}

export function isProjectMember(p: Pick<Principal, 'personId'>, project: ProjectFacts): boolean {
  return project.members.includes(p.personId);
}

function assertInScope(p: Principal, projectId: string): void {
  if (p.projectScope !== null && p.projectScope !== projectId) throw forbidden('this API token is scoped to another project', 'use a token issued for this project', 'token_scope');
}

function assertMember(p: Principal, project: ProjectFacts, what: string): void {
  assertInScope(p, project.id);
  if (!isProjectMember(p, project)) throw forbidden(`only members of the project may ${what}`, 'ask the principal investigator to add you to the team (and the permit)', 'not_member');
}

function assertStatus(request: RequestFacts, action: RequestActionName): void {
  const spec = REQUEST_ACTIONS[action];
  if (!(spec.from as readonly RequestStatus[]).includes(request.status)) {
    throw new AppError('conflict', `cannot ${spec.summary} while the request is ${request.status.replace(/_/g, ' ')}`, {
      hint: `this applies to requests that are ${spec.from.join(' or ')}`, details: { action, status: request.status },
    });
  }
  // The table of who acts in which status, checked at run time too: an action of a role the
  // status does not list would be a mistake in REQUEST_ACTIONS.
  if (!(STATUS_ACTORS[request.status] as readonly RequestActor[]).includes(spec.by)) throw new AppError('internal', `${spec.by} may not act on a ${request.status} request`);
}

/** A project member files a request (access to the rows is the workspace's check, at each output). */
export function assertCanCreateRequest(p: Principal, project: ProjectFacts): void {
  assertMember(p, project, 'request a release of its outputs');
  if (project.status !== 'active') {
    throw new AppError('conflict', `no release request while the project is ${project.status.replace(/_/g, ' ')}`, { hint: 'outputs are requested while the permit is in force' });
  }
}
export const canCreateRequest = (p: Principal, project: ProjectFacts): boolean => asCan(() => assertCanCreateRequest(p, project));

/** Members change a request (its context, its outputs), submit it, withdraw it. */
export function assertCanAct(p: Principal, project: ProjectFacts, request: RequestFacts, action: Exclude<RequestActionName, 'review'>): void {
  assertMember(p, project, REQUEST_ACTIONS[action].summary);
  assertStatus(request, action);
}
export const canAct = (p: Principal, project: ProjectFacts, request: RequestFacts, action: Exclude<RequestActionName, 'review'>): boolean => asCan(() => assertCanAct(p, project, request, action));

/** Facts about a checker that policy cannot see in the request: read by the service in its transaction. */
export interface CheckerFacts {
  /**
   * The checker chose the checkers: proposed or approved a change of the output_checker role since
   * the request was submitted, or changed the role of another checker of this request (or theirs was changed by them).
   */
  readonly changedCheckers: boolean;
  /** Outputs (current versions) on which this checker already has a vote that stands. */
  readonly alreadyVoted: boolean;
}

/**
 * Two independent output checkers: the role, a browser session, never the requester, never a
 * member of the project, never someone who changed who the checkers are during the review, and
 * one vote per output version each.
 */
export function assertCanReview(p: Principal, project: ProjectFacts, request: RequestFacts, facts: CheckerFacts): void {
  if (!p.roles.has('output_checker')) throw forbidden('reviewing outputs needs the output_checker role', 'ask two admins for the role (four eyes on reviewing roles)', 'not_checker');
  if (p.via === 'token') throw forbidden('outputs are not reviewed with API tokens', 'log in through the browser', 'token');
  if (request.createdBy === p.personId) throw forbidden('four eyes: nobody reviews their own release request', 'leave it to two other output checkers', 'own_request');
  if (isProjectMember(p, project)) throw forbidden('independence: output checkers review outputs of projects they do not belong to', 'leave it to checkers outside the project', 'project_member');
  if (facts.changedCheckers) {
    throw forbidden('separation of duties: you changed who the output checkers are (the role granted or removed while this request was under review, or the role of its other checker, or they yours), so you do not vote on it', 'leave it to another checker', 'changed_checkers');
  }
  assertStatus(request, 'review');
  if (facts.alreadyVoted) {
    throw new AppError('conflict', 'four eyes: you have already voted on this request as it stands; the decision needs a second, different checker', { hint: 'ask another output checker to review it', details: { reason: 'already_voted' } });
  }
}
export const canReview = (p: Principal, project: ProjectFacts, request: RequestFacts, facts: CheckerFacts): boolean => asCan(() => assertCanReview(p, project, request, facts));

/** Members see their project's requests; checkers see requests once submitted (never drafts). */
export function assertCanViewRequest(p: Principal, project: ProjectFacts, request: RequestFacts): void {
  assertInScope(p, project.id);
  if (isProjectMember(p, project)) return;
  if (p.roles.has('output_checker') && p.projectScope === null && request.status !== 'draft') return;
  if (p.roles.has('auditor') && p.projectScope === null && request.status !== 'draft') return;
  throw forbidden('only the project\'s members, output checkers and auditors see a release request', 'ask the principal investigator to add you to the team', 'not_member');
}
export const canViewRequest = (p: Principal, project: ProjectFacts, request: RequestFacts): boolean => asCan(() => assertCanViewRequest(p, project, request));

/** Released outputs are downloaded by the project's members only, each download audited. */
export function assertCanDownload(p: Principal, project: ProjectFacts, request: RequestFacts): void {
  assertMember(p, project, 'download its released outputs');
  if (request.status !== 'released') {
    throw new AppError('conflict', `nothing to download: the request is ${request.status.replace(/_/g, ' ')}`, { hint: 'outputs are downloadable once two output checkers have approved every one of them' });
  }
}
export const canDownload = (p: Principal, project: ProjectFacts, request: RequestFacts): boolean => asCan(() => assertCanDownload(p, project, request));

export function isEditable(status: RequestStatus): boolean {
  return (EDITABLE_REQUEST_STATUSES as readonly RequestStatus[]).includes(status);
}

export function isReviewable(status: RequestStatus): boolean {
  return (REVIEWABLE_REQUEST_STATUSES as readonly RequestStatus[]).includes(status);
}
