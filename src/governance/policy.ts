/**
 * Who may do what to a project: `assertCanX` throws AppError('forbidden' | 'conflict') with
 * the reason; `canX` is defined through it, so the UI and the API never disagree. "Who" (role,
 * membership, four eyes) is checked before "state" (the workflow table).
 */
import { AppError, isAppError } from '../errors.ts';
import type { Principal, Role } from '../identity/index.ts';
import type { Amendment, Project } from './types.ts';
import {
  ACTIONS, AMENDABLE_PROJECT_STATUSES, AMENDMENT_ACTIONS, EDITABLE_STATUSES, isOpenAmendment, type ActionActor, type ActionName, type AmendmentActionName, type ProjectStatus,
} from './workflow.ts';

/** Roles that see every project (to review, to audit, to administer). */
export const OVERSIGHT_ROLES = ['ethics_reviewer', 'legal_reviewer', 'access_committee', 'auditor', 'admin'] as const satisfies readonly Role[];

function forbidden(message: string, hint: string): AppError {
  return new AppError('forbidden', message, { hint });
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

export function isMember(p: Principal, project: Project): boolean {
  return project.createdBy === p.personId || project.members.some((m) => m.personId === p.personId);
}

export function isPrincipalInvestigator(p: Principal, project: Project): boolean {
  return project.members.some((m) => m.personId === p.personId && m.role === 'principal_investigator');
}

/** An API token acts only on its own project. */
function assertInScope(p: Principal, project: Project): void {
  if (p.projectScope !== null && p.projectScope !== project.id) {
    throw forbidden('this API token is scoped to another project', 'use a token issued for this project');
  }
}

export function assertCanViewProject(p: Principal, project: Project): void {
  assertInScope(p, project);
  if (isMember(p, project)) return;
  if (OVERSIGHT_ROLES.some((r) => p.roles.has(r))) return;
  throw forbidden('only the project team, reviewers, auditors and admins see a project', 'ask the principal investigator to add you to the team');
}
export const canViewProject = (p: Principal, project: Project): boolean => asCan(() => assertCanViewProject(p, project));

export function assertCanCreateProject(p: Principal): void {
  if (p.via === 'token') throw forbidden('an API token cannot file projects', 'log in through the browser');
  if (!p.roles.has('applicant')) throw forbidden('filing a project needs the applicant role', 'ask an admin for the applicant role');
}
export const canCreateProject = (p: Principal): boolean => asCan(() => assertCanCreateProject(p));

export function assertCanEditApplication(p: Principal, project: Project): void {
  assertInScope(p, project);
  if (!isPrincipalInvestigator(p, project)) throw forbidden('only the principal investigator edits the application', 'ask your principal investigator');
  if (!(EDITABLE_STATUSES as readonly ProjectStatus[]).includes(project.status)) {
    throw new AppError('conflict', `the application cannot be edited while the project is ${project.status}`, { hint: 'an application is edited in draft, or after reviewers asked for changes' });
  }
}
export const canEditApplication = (p: Principal, project: Project): boolean => asCan(() => assertCanEditApplication(p, project));

/**
 * The principal investigator changes the team while the application is editable, and also while
 * the permit is in force (active or suspended): joining the team gives no access, only being
 * named in the permit does, so a newcomer (or a departure) reaches the data only through an
 * approved amendment.
 */
export function assertCanManageMembers(p: Principal, project: Project): void {
  assertInScope(p, project);
  if (!isPrincipalInvestigator(p, project)) throw forbidden('only the principal investigator changes the team', 'ask your principal investigator');
  const open: readonly ProjectStatus[] = [...EDITABLE_STATUSES, ...AMENDABLE_PROJECT_STATUSES];
  if (!open.includes(project.status)) {
    throw new AppError('conflict', `the team cannot be changed while the project is ${project.status}`, { hint: 'the team changes in draft, after reviewers asked for changes, or while the permit is in force (then through an amendment)' });
  }
}
export const canManageMembers = (p: Principal, project: Project): boolean => asCan(() => assertCanManageMembers(p, project));

/** Who may act (role, membership, four eyes), apart from the state the action needs. */
function assertActor(p: Principal, project: Project, by: ActionActor, summary: string): void {
  switch (by) {
    case 'principal_investigator':
      if (!isPrincipalInvestigator(p, project)) throw forbidden(`only the principal investigator may ${summary}`, 'ask your principal investigator');
      break;
    case 'principal_investigator_or_committee':
      if (!isPrincipalInvestigator(p, project) && !(p.roles.has('access_committee') && !isMember(p, project))) {
        throw forbidden(`only the principal investigator or the access committee may ${summary}`, 'ask your principal investigator');
      }
      break;
    case 'access_committee':
    case 'ethics_reviewer':
    case 'legal_reviewer':
      if (p.via === 'token') throw forbidden('reviews are not done with API tokens', 'log in through the browser');
      if (!p.roles.has(by)) throw forbidden(`to ${summary} needs the ${by} role`, 'ask an admin for the role, or leave it to a reviewer');
      if (isMember(p, project)) {
        throw forbidden('four eyes: nobody reviews or decides on a project they belong to', 'leave this step to a reviewer outside the project');
      }
      break;
  }
}

/**
 * Four eyes: nobody reviews or decides on a project they belong to (including its author);
 * an action needs its role; and the project must be in a status the action starts from.
 */
export function assertCanTake(p: Principal, project: Project, action: ActionName): void {
  assertInScope(p, project);
  const spec = ACTIONS[action];
  assertActor(p, project, spec.by, spec.summary);
  if (!(spec.from as readonly ProjectStatus[]).includes(project.status)) {
    throw new AppError('conflict', `cannot ${spec.summary} while the project is ${project.status}`, {
      hint: `this action applies to projects that are ${spec.from.join(' or ')}`,
      details: { action, status: project.status },
    });
  }
}
export const canTake = (p: Principal, project: Project, action: ActionName): boolean => asCan(() => assertCanTake(p, project, action));

/** The permit is drafted by the access committee during its review, by someone outside the project. */
export function assertCanProposePermit(p: Principal, project: Project): void {
  assertInScope(p, project);
  if (!p.roles.has('access_committee')) throw forbidden('permits are drafted by the access committee', 'ask the access committee');
  if (isMember(p, project)) throw forbidden('four eyes: nobody drafts the permit of a project they belong to', 'leave it to another committee member');
  if (project.status !== 'committee_review') {
    throw new AppError('conflict', `a permit is drafted during the committee review, not while the project is ${project.status}`, { hint: 'wait for the legal review to send the project to the committee' });
  }
}
export const canProposePermit = (p: Principal, project: Project): boolean => asCan(() => assertCanProposePermit(p, project));

/** API tokens are issued to a project member, for that project only, while its permit is in force. */
export function assertCanIssueToken(p: Principal, project: Project): void {
  if (p.via === 'token') throw forbidden('an API token cannot mint other tokens', 'log in through the browser');
  if (!project.members.some((m) => m.personId === p.personId)) throw forbidden('API tokens are issued to project members only', 'ask your principal investigator to add you');
  if (project.status !== 'active') throw new AppError('conflict', `no API token for a project that is ${project.status}`, { hint: 'tokens are issued while the permit is active' });
}
export const canIssueToken = (p: Principal, project: Project): boolean => asCan(() => assertCanIssueToken(p, project));

/**
 * Amending the permit in force: the principal investigator files one amendment at a time, while
 * the project is active. (That the permit has not expired is checked against the permit itself.)
 */
export function assertCanFileAmendment(p: Principal, project: Project, open: Amendment | null): void {
  assertInScope(p, project);
  if (!isPrincipalInvestigator(p, project)) throw forbidden('only the principal investigator files an amendment', 'ask your principal investigator');
  if (project.status !== 'active') {
    throw new AppError('conflict', `only an active permit can be amended; the project is ${project.status}`, { hint: project.status === 'suspended' ? 'ask the access committee to reinstate the permit first' : 'file a new project' });
  }
  if (open !== null) {
    throw new AppError('conflict', `an amendment is already under way (${open.status.replace(/_/g, ' ')})`, { hint: open.status === 'changes_requested' ? 'revise it (PUT .../amendment/application) and resubmit, or withdraw it' : 'wait for its decision, or withdraw it' });
  }
}
export const canFileAmendment = (p: Principal, project: Project, open: Amendment | null): boolean => asCan(() => assertCanFileAmendment(p, project, open));

/** The same four eyes as the first review; the amendment's own table says which state allows what. */
export function assertCanTakeAmendment(p: Principal, project: Project, amendment: Amendment | null, action: AmendmentActionName): asserts amendment is Amendment {
  assertInScope(p, project);
  const spec = AMENDMENT_ACTIONS[action];
  assertActor(p, project, spec.by, spec.summary);
  if (amendment === null || !isOpenAmendment(amendment.status)) {
    throw new AppError('conflict', 'the project has no amendment under way', { hint: 'the principal investigator files one: POST .../amendment (enclave projects amend)' });
  }
  if (!(AMENDABLE_PROJECT_STATUSES as readonly ProjectStatus[]).includes(project.status)) {
    throw new AppError('conflict', `an amendment cannot move while the project is ${project.status}`, { hint: 'amendments apply to permits in force' });
  }
  if (!(spec.from as readonly string[]).includes(amendment.status)) {
    throw new AppError('conflict', `cannot ${spec.summary} while the amendment is ${amendment.status.replace(/_/g, ' ')}`, {
      hint: `this action applies to amendments that are ${spec.from.join(' or ')}`,
      details: { action, status: amendment.status },
    });
  }
}
export const canTakeAmendment = (p: Principal, project: Project, amendment: Amendment | null, action: AmendmentActionName): boolean => asCan(() => assertCanTakeAmendment(p, project, amendment, action));

/** The principal investigator revises an amendment the reviewers returned. */
export function assertCanReviseAmendment(p: Principal, project: Project, amendment: Amendment | null): asserts amendment is Amendment {
  assertInScope(p, project);
  if (!isPrincipalInvestigator(p, project)) throw forbidden('only the principal investigator revises the amendment', 'ask your principal investigator');
  if (amendment?.status !== 'changes_requested') {
    throw new AppError('conflict', amendment === null ? 'the project has no amendment under way' : `the amendment cannot be revised while it is ${amendment.status.replace(/_/g, ' ')}`, { hint: 'an amendment is revised after reviewers asked for changes' });
  }
}

/** The amended permit is drafted by a committee member outside the project, during the committee's review. */
export function assertCanProposeAmendedPermit(p: Principal, project: Project, amendment: Amendment | null): void {
  assertInScope(p, project);
  if (!p.roles.has('access_committee')) throw forbidden('permits are drafted by the access committee', 'ask the access committee');
  if (p.via === 'token') throw forbidden('permits are not drafted with API tokens', 'log in through the browser');
  if (isMember(p, project)) throw forbidden('four eyes: nobody drafts the permit of a project they belong to', 'leave it to another committee member');
  if (amendment?.status !== 'committee_review') {
    throw new AppError('conflict', amendment === null ? 'the project has no amendment under way' : `the amended permit is drafted during the committee review, not while the amendment is ${amendment.status.replace(/_/g, ' ')}`, { hint: 'wait for the legal review to send the amendment to the committee' });
  }
}
