/**
 * GovernanceService: projects, versioned applications, team, the review workflow with four
 * eyes, permits, access computed from the permit, notifications and the public register.
 * Every change is one audited transaction; every refusal is in the log with outcome 'denied'.
 */
import { randomUUID } from 'node:crypto';
import type { AuditDraft, AuditedTx, AuditReader, ExportLine, JsonValue, Outcome } from '../audit/index.ts';
import type { Db, Queryable } from '../db/index.ts';
import { AppError, isAppError } from '../errors.ts';
import type { Principal, Role } from '../identity/index.ts';
import { diffApplications, parseApplication, type DiffEntry } from './application.ts';
import { DEFAULT_MINIMUM_CELL_COUNT, evaluateAccess, MAX_POTENTIAL_IDENTIFIERS, permitSha256, potentialIdentifiersOf, validatePermit, type AccessDecision, type AccessRequest, type TableLookup } from './permit.ts';
import {
  assertCanCreateProject, assertCanEditApplication, assertCanFileAmendment, assertCanIssueToken, assertCanManageMembers, assertCanProposeAmendedPermit, assertCanProposePermit,
  assertCanReviseAmendment, assertCanTake, assertCanTakeAmendment, assertCanViewProject, canTake, canTakeAmendment, OVERSIGHT_ROLES,
} from './policy.ts';
import * as repo from './repository.ts';
import * as personal from './personal-repository.ts';
import type { Amendment, Application, ApplicationDraft, ApplicationVersion, MemberRole, Notification, NotificationSettings, Permit, PermitDocument, Project, ProjectMember, RegisterEntry, Review } from './types.ts';
import {
  ACTIONS, actionsFrom, AMENDMENT_ACTIONS, amendmentActionsFrom, isActionName, isAmendmentActionName, isOpenAmendment, REVIEW_STATUSES, type ActionName, type AmendmentActionName, type AmendmentStatus,
  type ProjectStatus,
} from './workflow.ts';

/** Distinct access-committee members whose approval activates a permit. */
export const COMMITTEE_APPROVALS_REQUIRED = 2;

export interface GovernanceAudit {
  transaction<T>(draft: AuditDraft, fn: (tx: AuditedTx) => Promise<T>): Promise<T>;
  record(draft: AuditDraft & { readonly outcome?: Outcome }): Promise<{ seq: string }>;
  /** The events about a target, oldest first (the read itself recorded): a project's trail. */
  history?(target: string, reader: AuditReader): Promise<readonly ExportLine[]>;
}

/** One event of a project's audit trail, as its page shows it (no details: they may name data). */
export interface ProjectTrailEvent {
  readonly seq: number;
  readonly time: string;
  readonly action: string;
  readonly actorId: string;
  readonly actorKind: 'person' | 'service';
  readonly outcome: Outcome;
}

/** What governance needs to know about people (identity implements it). */
export interface PeopleDirectory {
  exists(personId: string): Promise<boolean>;
  withRole(role: Role): Promise<readonly string[]>;
  /**
   * Whether the person proposed or approved a change of one of `roles` that took effect at or
   * after `since` (read in `q`, the caller's transaction).
   */
  changedRolesSince(q: Queryable, personId: string, roles: readonly Role[], since: Date): Promise<boolean>;
  /** Names of people, so that a project's page shows who is who (unknown ids are left out). */
  namesOf?(ids: readonly string[]): Promise<ReadonlyMap<string, PersonName>>;
  /** The person who logged in with this e-mail address, if any (case ignored). */
  findByEmail?(email: string): Promise<string | null>;
}

/** How a person appears to those who see a project: name and organisation, never their e-mail. */
export interface PersonName {
  readonly displayName: string;
  readonly organisation: string;
}

/** The roles that review a project: whoever changes who holds them changes its reviewers. */
export const PROJECT_REVIEWER_ROLES = ['ethics_reviewer', 'legal_reviewer', 'access_committee'] as const satisfies readonly Role[];

/** Per-project keys are created when a permit first comes into force. */
export interface ProjectKeys {
  ensureDataKey(tx: AuditedTx, scope: 'project', scopeId: string, purpose: 'encryption' | 'pseudonymisation'): Promise<unknown>;
}

/** The role someone acted in, as e-mails name them ("by the ethics reviewer"), never by name. */
export type ActedAs = 'principal_investigator' | 'access_committee' | 'ethics_reviewer' | 'legal_reviewer' | 'system' | 'other';

/** One state change to e-mail: what, in which role, to whom (person ids). No comment, no data. */
export interface StatusMail {
  readonly projectId: string;
  readonly projectTitle: string;
  /** The in-app notification kind, e.g. `project.ethics_review`, `amendment.approved`. */
  readonly kind: string;
  /** The status reached, e.g. `ethics_review`. */
  readonly status: string;
  readonly actedAs: ActedAs;
  /** The applicant and the project team. */
  readonly team: readonly string[];
  /** Holders of the role that acts next (e.g. the ethics reviewers), not in the team. */
  readonly reviewers: readonly string[];
}

/** Optional e-mail of notifications (SMTP when configured); in-app notifications always. */
export interface Mailer {
  /**
   * Called once the state change has committed, never inside its transaction, and not awaited:
   * delivery, and recording its failures, is the mailer's business, so a mail server that is
   * down neither undoes nor delays a decision.
   */
  notify(mail: StatusMail): void;
}

export interface GovernanceServiceOptions {
  readonly db: Db;
  readonly audit: GovernanceAudit;
  readonly catalog: TableLookup;
  readonly people: PeopleDirectory;
  readonly keys?: ProjectKeys;
  readonly mailer?: Mailer;
  readonly now?: () => Date;
}

/**
 * A change of a project's access, told after its transaction has committed (never for a
 * rolled-back one): `kind` is the notification kind (`project.active`, `project.suspended`,
 * `project.revoked`, `project.expired`, `project.closed`, `amendment.approved`, ...). The
 * workspace listens to build extracts and to stop queries at the end of access.
 */
export interface ProjectChange {
  readonly projectId: string;
  readonly kind: string;
}
export type ProjectChangeListener = (change: ProjectChange) => void;

export interface ProjectDetail {
  readonly project: Project;
  readonly application: ApplicationVersion;
  readonly reviews: readonly Review[];
  readonly permits: readonly Permit[];
  /** Actions this principal may take now (from the same policy the API enforces). */
  readonly actions: readonly ActionName[];
  /** Committee approvals still needed for the current permit proposal (committee_review only). */
  readonly approvalsNeeded: number | null;
  /** The amendment under way, if any (the permit in force stays so meanwhile). */
  readonly amendment: Amendment | null;
  /** Names of the people the detail mentions (team, authors, reviewers), by person id. */
  readonly people: Readonly<Record<string, PersonName>>;
}

/** An amendment with what it changes and where its review stands. */
export interface AmendmentDetail {
  readonly amendment: Amendment;
  readonly application: ApplicationVersion;
  /** What the amendment changes in the application in force. */
  readonly changes: readonly DiffEntry[];
  readonly reviews: readonly Review[];
  /** The permit in force (it stays so until the amendment is approved). */
  readonly inForce: Permit | null;
  /** The latest permit version proposed for this amendment. */
  readonly proposal: Permit | null;
  /** Actions this principal may take on the amendment now. */
  readonly actions: readonly AmendmentActionName[];
  /** Committee approvals still needed for the proposal (committee_review only). */
  readonly approvalsNeeded: number | null;
}

export interface TakeOptions {
  readonly comment?: string;
  /** E.g. the ethics opinion number or the CNIL decision reference. */
  readonly reference?: string;
  readonly requestId?: string;
}

/** Who should hear about a project reaching a status (besides its team). */
const NEXT_ROLE: Partial<Record<ProjectStatus, Role>> = {
  submitted: 'access_committee',
  ethics_review: 'ethics_reviewer',
  legal_review: 'legal_reviewer',
  committee_review: 'access_committee',
};

/** Who should hear about an amendment reaching a status (besides the team). */
const AMENDMENT_NEXT_ROLE: Partial<Record<AmendmentStatus, Role>> = {
  submitted: 'access_committee',
  ethics_review: 'ethics_reviewer',
  legal_review: 'legal_reviewer',
  committee_review: 'access_committee',
};

/** Drafts a person may keep at once, and the size of one (the wizard's state is a few KB). */
const MAX_DRAFTS = 50;
const MAX_DRAFT_CHARS = 200_000;
/** Events a project's page shows of its trail (the newest). */
const TRAIL_MAX = 500;

const rid = (requestId: string | undefined): { requestId?: string } => (requestId === undefined ? {} : { requestId });

/**
 * @example
 *   const gov = new GovernanceService({ db, audit, catalog: (d, t) => catalog.getTable(d, t), people });
 *   const p = await gov.createProject(applicant, application);
 *   await gov.take(applicant, p.id, 'submit');
 */
export class GovernanceService {
  readonly #db: Db;
  readonly #audit: GovernanceAudit;
  readonly #catalog: TableLookup;
  readonly #people: PeopleDirectory;
  readonly #keys: ProjectKeys | undefined;
  readonly #now: () => Date;
  /** E-mails queued by #notify inside a transaction, handed to the mailer once it has committed. */
  readonly #outboxes = new WeakMap<AuditedTx, { readonly draft: AuditDraft; readonly mails: StatusMail[]; readonly changes: ProjectChange[] }>();
  readonly #listeners: ProjectChangeListener[] = [];

  constructor(o: GovernanceServiceOptions) {
    this.#db = o.db;
    this.#audit = this.#afterCommit(o.audit, o.mailer);
    this.#catalog = o.catalog;
    this.#people = o.people;
    this.#keys = o.keys;
    this.#now = o.now ?? (() => new Date());
  }

  /** Calls `listener` after each committed change of a project's access (see ProjectChange). */
  onProjectChange(listener: ProjectChangeListener): void {
    this.#listeners.push(listener);
  }

  /**
   * The audit port, wrapped so that the e-mails and project changes of a transaction go only once
   * it has committed (a rolled-back change mails and tells nobody), without waiting for delivery.
   */
  #afterCommit(audit: GovernanceAudit, mailer: Mailer | undefined): GovernanceAudit {
    return {
      record: (draft) => audit.record(draft),
      ...(audit.history === undefined ? {} : { history: audit.history.bind(audit) }),
      transaction: async (draft, fn) => {
        const outbox = { draft, mails: [] as StatusMail[], changes: [] as ProjectChange[] };
        const result = await audit.transaction(draft, (tx) => {
          this.#outboxes.set(tx, outbox);
          return fn(tx);
        });
        for (const mail of mailer === undefined ? [] : outbox.mails) {
          try {
            mailer?.notify(mail);
          } catch {
            // the mailer records its own failures; a committed decision stands whatever happens to mail
          }
        }
        for (const change of outbox.changes) {
          for (const listener of this.#listeners) {
            try {
              listener(change);
            } catch {
              // listeners handle their own failures (and audit them); the decision stands
            }
          }
        }
        return result;
      },
    };
  }

  /** Records a refusal that happened outside a transaction, then rethrows it. */
  async #refused(p: Principal, action: string, target: string, e: unknown, requestId?: string): Promise<never> {
    if (isAppError(e) && (e.code === 'forbidden' || e.code === 'unauthenticated')) {
      await this.#audit.record({ actor: { kind: 'person', id: p.personId }, action, target, outcome: 'denied', details: { error: e.code }, ...rid(requestId) });
    }
    throw e;
  }

  async #require(q: Db | AuditedTx, id: string, forUpdate = false): Promise<Project> {
    const project = await repo.findProject(q, id, forUpdate);
    if (project === null) throw new AppError('not_found', `no project ${id}`, { hint: 'list your projects with GET /api/v1/governance/projects' });
    return project;
  }

  /**
   * Separation of duties: whoever changed the reviewers of a project (granted or removed a
   * reviewing role, as proposer or approving admin) while it was under review takes no review
   * step on it: no vote, no permit draft. `since`: when its review (or the amendment's) began.
   */
  async #assertDidNotChangeReviewers(q: Db | AuditedTx, p: Principal, since: Date | null): Promise<void> {
    if (await this.#changedReviewers(q, p, since)) {
      throw new AppError('forbidden', 'separation of duties: you changed who reviews this project (a reviewing role granted or removed) while it was under review, so you take no review step on it', {
        hint: 'leave this step to another reviewer', details: { reason: 'changed_reviewers' },
      });
    }
  }

  async #changedReviewers(q: Db | AuditedTx, p: Principal, since: Date | null): Promise<boolean> {
    if (since === null || !PROJECT_REVIEWER_ROLES.some((r) => p.roles.has(r))) return false;
    return this.#people.changedRolesSince(q, p.personId, PROJECT_REVIEWER_ROLES, since);
  }

  /** When the project's review began, if it is under review now (null otherwise). */
  async #reviewSince(q: Db | AuditedTx, project: Project): Promise<Date | null> {
    if (!(REVIEW_STATUSES as readonly ProjectStatus[]).includes(project.status)) return null;
    return repo.reviewStartedAt(q, project.id);
  }

  /** Role holders to notify, read before the transaction (one connection on PGlite: no reads outside `tx` inside it). */
  async #reviewersFor(status: ProjectStatus): Promise<readonly string[]> {
    const role = NEXT_ROLE[status];
    return role === undefined ? [] : this.#people.withRole(role);
  }

  async #notify(tx: AuditedTx, project: Project, kind: string, message: string, extra: readonly string[] = []): Promise<void> {
    const to = new Set([project.createdBy, ...project.members.map((m) => m.personId), ...extra]);
    for (const personId of to) await repo.insertNotification(tx, { id: randomUUID(), personId, projectId: project.id, kind, message });
    const outbox = this.#outboxes.get(tx);
    if (outbox !== undefined) {
      outbox.changes.push({ projectId: project.id, kind });
      const team = [...new Set([project.createdBy, ...project.members.map((m) => m.personId)])];
      outbox.mails.push({
        projectId: project.id, projectTitle: project.title, kind, status: kind.slice(kind.indexOf('.') + 1), actedAs: actedAs(outbox.draft, project),
        team, reviewers: [...new Set(extra)].filter((id) => !team.includes(id)),
      });
    }
  }

  /** Files a new project in draft; the author becomes its principal investigator. */
  async createProject(p: Principal, body: unknown, requestId?: string): Promise<Project> {
    try {
      assertCanCreateProject(p);
    } catch (e) {
      return this.#refused(p, 'governance.project.create', 'project', e, requestId);
    }
    const application = parseApplication(body);
    const id = randomUUID();
    await this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'governance.project.create', target: `project:${id}`, details: { version: 1 }, ...rid(requestId) }, async (tx) => {
      await repo.insertProject(tx, { id, title: application.title, organisation: application.organisation, createdBy: p.personId });
      await repo.insertApplication(tx, id, 1, application, p.personId);
      await repo.upsertMember(tx, id, p.personId, 'principal_investigator', p.personId);
    });
    return this.#require(this.#db, id);
  }

  async listProjects(p: Principal): Promise<Project[]> {
    const all = OVERSIGHT_ROLES.some((r) => p.roles.has(r)) && p.projectScope === null;
    const list = await repo.listProjects(this.#db, all ? null : p.personId);
    return p.projectScope === null ? list : list.filter((x) => x.id === p.projectScope);
  }

  /** A project as this principal may see it, with the actions open to them. */
  async getProject(p: Principal, id: string, requestId?: string): Promise<ProjectDetail> {
    const project = await this.#require(this.#db, id);
    try {
      assertCanViewProject(p, project);
    } catch (e) {
      return this.#refused(p, 'governance.project.view', `project:${id}`, e, requestId);
    }
    const application = await repo.findApplication(this.#db, id, project.currentVersion);
    if (application === null) throw new AppError('internal', 'application version missing');
    const reviews = await repo.listReviews(this.#db, id);
    const permits = await repo.listPermits(this.#db, id);
    const changedReviewers = await this.#changedReviewers(this.#db, p, await this.#reviewSince(this.#db, project));
    // A committee member whose approval already counts for the current proposal (this permit
    // version, this application version) has nothing to add by approving again; a new proposal
    // or a revised application opens the vote again. The portal offers what this list says.
    const votedForProposal = project.status === 'committee_review' && approvalsFor(reviews, project, permits.at(-1) ?? null).has(p.personId);
    return {
      project, application, reviews, permits,
      actions: actionsFrom(project.status).filter((a) => canTake(p, project, a) && !(changedReviewers && ACTIONS[a].step !== null) && !(votedForProposal && a === 'committee_approve')),
      approvalsNeeded: project.status === 'committee_review' ? COMMITTEE_APPROVALS_REQUIRED - approvalsFor(reviews, project, permits.at(-1) ?? null).size : null,
      amendment: await repo.openAmendment(this.#db, id),
      people: await this.#namesOf([project.createdBy, application.createdBy, ...project.members.map((m) => m.personId), ...reviews.map((r) => r.reviewerId)]),
    };
  }

  async #namesOf(ids: readonly string[]): Promise<Record<string, PersonName>> {
    const names = (await this.#people.namesOf?.([...new Set(ids)])) ?? new Map<string, PersonName>();
    return Object.fromEntries(names);
  }

  /** Saves a new version of the application (draft or changes requested only). */
  async updateApplication(p: Principal, id: string, body: unknown, requestId?: string): Promise<ApplicationVersion> {
    const application = parseApplication(body);
    return this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'governance.application.update', target: `project:${id}`, ...rid(requestId) }, async (tx) => {
      const project = await this.#require(tx, id, true);
      assertCanEditApplication(p, project);
      const version = project.currentVersion + 1;
      await repo.insertApplication(tx, id, version, application, p.personId);
      tx.addDetails({ version });
      return { projectId: id, version, content: application, createdBy: p.personId, createdAt: this.#now().toISOString() };
    });
  }

  async applicationVersions(p: Principal, id: string): Promise<{ version: number; createdBy: string; createdAt: string }[]> {
    await this.getProject(p, id);
    return repo.listApplicationVersions(this.#db, id);
  }

  async application(p: Principal, id: string, version: number): Promise<ApplicationVersion> {
    await this.getProject(p, id);
    const a = await repo.findApplication(this.#db, id, version);
    if (a === null) throw new AppError('not_found', `project ${id} has no application version ${version}`, { hint: 'list versions with GET .../applications' });
    return a;
  }

  /** What changed between two versions of the application. */
  async diff(p: Principal, id: string, from: number, to: number): Promise<DiffEntry[]> {
    const [a, b] = [await this.application(p, id, from), await this.application(p, id, to)];
    return diffApplications(a.content, b.content);
  }

  async addMember(p: Principal, id: string, personId: string, role: MemberRole, requestId?: string): Promise<Project> {
    if (role !== 'member' && role !== 'principal_investigator') throw new AppError('invalid', `unknown member role ${String(role)}`, { hint: 'principal_investigator or member' });
    const known = await this.#people.exists(personId);
    await this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'governance.member.add', target: `project:${id}`, details: { member: personId, role }, ...rid(requestId) }, async (tx) => {
      const project = await this.#require(tx, id, true);
      assertCanManageMembers(p, project);
      if (!known) throw new AppError('not_found', `no person ${personId}`, { hint: 'the person must have logged in once' });
      if (role === 'principal_investigator' && project.members.some((m) => m.role === 'principal_investigator' && m.personId !== personId)) {
        throw new AppError('conflict', 'the project already has a principal investigator', { hint: 'add the person as member' });
      }
      await repo.upsertMember(tx, id, personId, role, p.personId);
    });
    return this.#require(this.#db, id);
  }

  /**
   * Adds a team member named by e-mail (how a principal investigator knows their colleagues):
   * the person must have logged in to the platform once, so that their address is known.
   */
  async addMemberByEmail(p: Principal, id: string, email: string, role: MemberRole, requestId?: string): Promise<Project> {
    const address = email.trim();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(address) || address.length > 254) throw new AppError('invalid', 'not an e-mail address', { hint: 'e.g. marc.petit@inserm.fr', details: { field: 'email' } });
    const project = await this.#require(this.#db, id);
    try {
      assertCanManageMembers(p, project);
    } catch (e) {
      return this.#refused(p, 'governance.member.add', `project:${id}`, e, requestId);
    }
    const personId = (await this.#people.findByEmail?.(address)) ?? null;
    if (personId === null) throw new AppError('not_found', 'nobody with this e-mail address has logged in to the platform yet', { hint: 'ask them to log in once, then add them again', details: { field: 'email' } });
    return this.addMember(p, id, personId, role, requestId);
  }

  async removeMember(p: Principal, id: string, personId: string, requestId?: string): Promise<Project> {
    await this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'governance.member.remove', target: `project:${id}`, details: { member: personId }, ...rid(requestId) }, async (tx) => {
      const project = await this.#require(tx, id, true);
      assertCanManageMembers(p, project);
      if (project.members.some((m) => m.personId === personId && m.role === 'principal_investigator')) {
        throw new AppError('conflict', 'the principal investigator cannot be removed', { hint: 'name another principal investigator first' });
      }
      if (!(await repo.deleteMember(tx, id, personId))) throw new AppError('not_found', 'that person is not a member of the project');
    });
    return this.#require(this.#db, id);
  }

  /**
   * Takes a workflow action. Four eyes and the workflow table are enforced by `assertCanTake`;
   * `committee_approve` moves the project to active only at the second distinct approval of the
   * same permit version, and then puts that permit in force.
   */
  async take(p: Principal, id: string, action: string, o: TakeOptions = {}): Promise<ProjectDetail> {
    if (!Object.hasOwn(ACTIONS, action)) {
      throw new AppError('invalid', `unknown action ${action}`, { hint: `actions: ${Object.keys(ACTIONS).join(', ')}` });
    }
    const name = action as ActionName;
    const spec = ACTIONS[name];
    const details: Record<string, JsonValue> = { transition: name };
    const reviewers = await this.#reviewersFor(spec.to);
    await this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: `governance.project.${name}`, target: `project:${id}`, details, ...rid(o.requestId) }, async (tx) => {
      const project = await this.#require(tx, id, true);
      assertCanTake(p, project, name);
      if (spec.step !== null) await this.#assertDidNotChangeReviewers(tx, p, await this.#reviewSince(tx, project));
      if (name === 'submit') await repo.markReviewStarted(tx, id);
      tx.addDetails({ from: project.status });
      // The reason of an act that is no review vote (suspend, reinstate, revoke, expire, withdraw,
      // close) has no review row to live in: the audit trail keeps it, as the portal says.
      if (spec.step === null && (o.comment ?? '').trim() !== '') tx.addDetails({ reason: (o.comment ?? '').trim().slice(0, 2000) });
      let to: ProjectStatus = spec.to;
      let permitVersion: number | null = null;
      if (name === 'committee_approve') {
        const permit = await repo.latestPermit(tx, id);
        if (permit === null || permit.state !== 'proposed') {
          throw new AppError('conflict', 'there is no permit proposal to approve', { hint: 'an access committee member drafts the permit first (PUT .../permit)' });
        }
        permitVersion = permit.version;
        const approvers = approvalsFor(await repo.listReviews(tx, id), project, permit);
        if (approvers.has(p.personId)) {
          throw new AppError('conflict', 'four eyes: you have already approved this permit; the decision needs a second, different committee member', { hint: 'ask another access committee member to approve' });
        }
        approvers.add(p.personId);
        if (approvers.size < COMMITTEE_APPROVALS_REQUIRED) to = 'committee_review';
        else {
          await repo.activatePermit(tx, id, permit.version);
          if (this.#keys !== undefined) {
            await this.#keys.ensureDataKey(tx, 'project', id, 'encryption');
            await this.#keys.ensureDataKey(tx, 'project', id, 'pseudonymisation');
          }
          tx.addDetails({ permitVersion: permit.version, permitSha256: permit.sha256 });
        }
      }
      if (spec.step !== null && spec.decision !== null) {
        await repo.insertReview(tx, {
          id: randomUUID(), projectId: id, applicationVersion: project.currentVersion, step: spec.step, reviewerId: p.personId,
          decision: spec.decision, comment: (o.comment ?? '').slice(0, 10_000), reference: o.reference?.slice(0, 200) ?? null, permitVersion,
        });
      }
      if (name === 'revoke' || name === 'close' || name === 'expire') {
        await repo.endPermit(tx, id);
        await this.#lapseAmendment(tx, id);
      }
      if (to !== project.status) {
        await repo.setStatus(tx, id, to);
        await this.#notify(tx, project, `project.${to}`, `Project "${project.title}" is now ${to.replace(/_/g, ' ')} (${spec.summary}).`, to === spec.to ? reviewers : []);
      }
      tx.addDetails({ to });
    });
    return this.getProject(p, id);
  }

  /** The access committee drafts (or redrafts) the permit; any earlier approvals lapse. */
  async proposePermit(p: Principal, id: string, document: unknown, requestId?: string): Promise<Permit> {
    const before = await this.#require(this.#db, id);
    try {
      assertCanProposePermit(p, before);
    } catch (e) {
      return this.#refused(p, 'governance.permit.propose', `project:${id}`, e, requestId);
    }
    // The catalogue is read outside the transaction (PGlite has one connection); the team is
    // checked again inside it, under the project lock.
    const doc = await validatePermit(document, { projectId: id, projectMembers: before.members, lookup: this.#catalog });
    return this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'governance.permit.propose', target: `project:${id}`, ...rid(requestId) }, async (tx) => {
      const project = await this.#require(tx, id, true);
      assertCanProposePermit(p, project);
      await this.#assertDidNotChangeReviewers(tx, p, await this.#reviewSince(tx, project));
      const team = new Set(project.members.map((m) => m.personId));
      if (doc.members.some((m) => !team.has(m.personId))) throw new AppError('conflict', 'the project team changed while the permit was validated', { hint: 'retry' });
      const latest = await repo.latestPermit(tx, id);
      const version = (latest?.version ?? 0) + 1;
      const sha256 = permitSha256(doc);
      await repo.insertPermit(tx, { projectId: id, version, document: doc, sha256, by: p.personId });
      tx.addDetails({ permitVersion: version, permitSha256: sha256, ...exceptionDetails(doc) });
      return { projectId: id, version, document: doc, sha256, state: 'proposed' as const, createdBy: p.personId, createdAt: this.#now().toISOString(), activatedAt: null, amendmentId: null };
    });
  }

  /**
   * A starting permit built from the application's requested scope and the team, for the
   * committee to adjust: every project member named, web SQL only, default disclosure rules.
   * When the scope holds more potential identifiers than the rule allows and the applicant
   * justified them, the template carries the exception (every such column, the applicant's
   * text): proposing the permit with it is the committee granting it, removing it refuses it.
   */
  async permitTemplate(p: Principal, id: string, validity: { readonly validFrom: string; readonly validUntil: string }): Promise<PermitDocument> {
    const detail = await this.getProject(p, id);
    const a: Application = detail.application.content;
    const datasets = a.requestedScope.datasets.map((d) => ({ dataset: d.dataset, tables: d.tables.map((t) => ({ table: t.table, columns: [...t.columns] })) }));
    const exception = await this.#exceptionAsked(a, datasets);
    return {
      schemaVersion: 1, projectId: id, title: a.title,
      datasets,
      ...(exception === undefined ? {} : { potentialIdentifierException: exception }),
      years: { ...a.requestedScope.years },
      population: { description: a.requestedScope.population, criteria: [] },
      members: detail.project.members.map((m) => ({ personId: m.personId, role: m.role })),
      tools: ['web_sql'],
      disclosure: { minimumCellCount: DEFAULT_MINIMUM_CELL_COUNT, checkersRequired: 2 },
      validFrom: validity.validFrom, validUntil: validity.validUntil,
    };
  }

  /** The exception the application asks for, if its scope needs one and the applicant justified it. */
  async #exceptionAsked(a: Application, datasets: PermitDocument['datasets']): Promise<PermitDocument['potentialIdentifierException']> {
    const justification = a.potentialIdentifierJustification ?? null;
    if (justification === null) return undefined;
    const pi = await potentialIdentifiersOf(datasets, this.#catalog);
    return pi.concepts > MAX_POTENTIAL_IDENTIFIERS ? { columns: pi.columns, justification } : undefined;
  }

  /** Refuses (and records) an API token request for a project the person may not act on. */
  async assertCanIssueToken(p: Principal, id: string, requestId?: string): Promise<void> {
    const project = await this.#require(this.#db, id);
    try {
      assertCanIssueToken(p, project);
    } catch (e) {
      await this.#refused(p, 'identity.token.create', `project:${id}`, e, requestId);
    }
  }

  async permits(p: Principal, id: string): Promise<readonly Permit[]> {
    return (await this.getProject(p, id)).permits;
  }

  /**
   * Access to a project's data, computed at every call from the permit in force alone. The
   * permit returned is the very one the decision was made on (one read of status and permit).
   * Refusals are audited ('denied') with the reason code.
   */
  async assertCanAccessData(p: Principal, projectId: string, req: AccessRequest = {}, requestId?: string): Promise<PermitDocument> {
    const decision = await this.accessDecision(p, projectId, req);
    if (!decision.allowed) {
      await this.#audit.record({ actor: { kind: 'person', id: p.personId }, action: 'governance.access', target: `project:${projectId}`, outcome: 'denied', details: { reason: decision.code }, ...rid(requestId) });
      throw new AppError('forbidden', decision.reason, { hint: decision.hint, details: { reason: decision.code } });
    }
    return decision.permit;
  }

  /** The same decision, without recording (drives the UI). */
  async accessDecision(p: Principal, projectId: string, req: AccessRequest = {}): Promise<AccessDecision> {
    if (p.projectScope !== null && p.projectScope !== projectId) return { allowed: false, code: 'not_named', reason: 'this API token is scoped to another project', hint: 'use a token issued for this project' };
    const state = await repo.accessState(this.#db, projectId);
    if (state === null) return { allowed: false, code: 'no_permit', reason: `no project ${projectId}`, hint: 'check the project id' };
    return evaluateAccess(state.permit, state.status, p.personId, req, this.#now());
  }

  async canAccessData(p: Principal, projectId: string, req: AccessRequest = {}): Promise<boolean> {
    return (await this.accessDecision(p, projectId, req)).allowed;
  }

  /** Projects whose permit end date has passed are marked expired (access stopped already). */
  async expireDue(requestId?: string): Promise<string[]> {
    const today = this.#now().toISOString().slice(0, 10);
    const rows = await this.#db.query<{ id: string }>(
      "SELECT p.id FROM governance_projects p JOIN governance_permits g ON g.project_id = p.id AND g.state = 'active' WHERE p.status IN ('active', 'suspended') AND g.document->>'validUntil' < $1",
      [today],
    );
    for (const r of rows) {
      await this.#audit.transaction({ actor: { kind: 'service', id: 'governance' }, action: 'governance.project.expire', target: `project:${r.id}`, ...rid(requestId) }, async (tx) => {
        const project = await this.#require(tx, r.id, true);
        await repo.endPermit(tx, r.id);
        await this.#lapseAmendment(tx, r.id);
        await repo.setStatus(tx, r.id, 'expired');
        await this.#notify(tx, project, 'project.expired', `The permit of "${project.title}" has expired.`);
      });
    }
    return rows.map((r) => r.id);
  }

  /** An amendment still open when its project ends lapses, with any permit proposed for it. */
  async #lapseAmendment(tx: AuditedTx, projectId: string): Promise<void> {
    const open = await repo.openAmendment(tx, projectId);
    if (open === null) return;
    await repo.lapseProposals(tx, projectId, open.id);
    await repo.setAmendmentStatus(tx, open.id, 'lapsed', true);
    tx.addDetails({ amendmentLapsed: open.id });
  }

  /** Refuses to amend a permit whose end date has passed (today in UTC, validUntil inclusive, as access is computed). */
  #assertInForce(permit: Permit | null, what: string): asserts permit is Permit {
    if (permit === null) throw new AppError('conflict', 'the project has no permit in force to amend', { hint: 'amendments change an active permit' });
    const today = this.#now().toISOString().slice(0, 10);
    if (today > permit.document.validUntil) {
      throw new AppError('conflict', `the permit expired on ${permit.document.validUntil}: ${what} past the permit's expiry`, {
        hint: 'an expired permit cannot be amended; file a new application to continue the work',
        details: { validUntil: permit.document.validUntil },
      });
    }
  }

  /**
   * Files an amendment of the permit in force (principal investigator, project active): a new
   * application version with the changed requested scope (team changes are made on the project
   * beforehand). The project stays active and its permit in force, unchanged, during the review.
   */
  async fileAmendment(p: Principal, id: string, body: unknown, requestId?: string): Promise<AmendmentDetail> {
    const before = await this.#require(this.#db, id);
    try {
      assertCanFileAmendment(p, before, await repo.openAmendment(this.#db, id));
    } catch (e) {
      return this.#refused(p, 'governance.amendment.file', `project:${id}`, e, requestId);
    }
    const application = parseApplication(body);
    const reviewers = await this.#reviewersFor('submitted');
    await this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'governance.amendment.file', target: `project:${id}`, ...rid(requestId) }, async (tx) => {
      const project = await this.#require(tx, id, true);
      assertCanFileAmendment(p, project, await repo.openAmendment(tx, id));
      const inForce = await repo.activePermit(tx, id);
      this.#assertInForce(inForce, 'an amendment cannot be filed');
      const current = await repo.findApplication(tx, id, project.currentVersion);
      if (current === null) throw new AppError('internal', 'application version missing');
      const changes = diffApplications(current.content, application);
      if (changes.length === 0 && sameMembers(project.members, inForce.document.members)) {
        throw new AppError('invalid', 'the amendment changes nothing: the application and the team are those of the permit in force', {
          hint: 'change the requested scope (datasets, tables, columns, years, population), or the team, then file the amendment',
        });
      }
      const amendmentId = randomUUID();
      const version = (await repo.maxApplicationVersion(tx, id)) + 1;
      await repo.insertApplicationVersion(tx, id, version, application, p.personId);
      await repo.insertAmendment(tx, { id: amendmentId, projectId: id, applicationVersion: version, baseApplicationVersion: project.currentVersion, basePermitVersion: inForce.version, by: p.personId });
      tx.addDetails({ amendment: amendmentId, applicationVersion: version, basePermitVersion: inForce.version, changed: changes.slice(0, 50).map((c) => c.path) });
      await this.#notify(tx, project, 'amendment.submitted', `An amendment of "${project.title}" was filed; permit version ${inForce.version} stays in force during its review.`, reviewers);
    });
    return this.getAmendment(p, id);
  }

  /** Saves a revised version of an amendment the reviewers returned (then resubmit it). */
  async reviseAmendment(p: Principal, id: string, body: unknown, requestId?: string): Promise<AmendmentDetail> {
    const application = parseApplication(body);
    await this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'governance.amendment.revise', target: `project:${id}`, ...rid(requestId) }, async (tx) => {
      const project = await this.#require(tx, id, true);
      const open = await repo.openAmendment(tx, id);
      assertCanReviseAmendment(p, project, open);
      const version = (await repo.maxApplicationVersion(tx, id)) + 1;
      await repo.insertApplicationVersion(tx, id, version, application, p.personId);
      await repo.setAmendmentApplication(tx, open.id, version);
      tx.addDetails({ amendment: open.id, applicationVersion: version });
    });
    return this.getAmendment(p, id);
  }

  /** The amendment under way, or else the latest one, as this principal may see it. */
  async getAmendment(p: Principal, id: string, requestId?: string): Promise<AmendmentDetail> {
    const project = await this.#require(this.#db, id);
    try {
      assertCanViewProject(p, project);
    } catch (e) {
      return this.#refused(p, 'governance.amendment.view', `project:${id}`, e, requestId);
    }
    const amendment = (await repo.openAmendment(this.#db, id)) ?? (await repo.listAmendments(this.#db, id)).at(-1) ?? null;
    if (amendment === null) throw new AppError('not_found', `project ${id} has no amendment`, { hint: 'the principal investigator files one: enclave projects amend PROJECT application.json' });
    const [application, base] = [await repo.findApplication(this.#db, id, amendment.applicationVersion), await repo.findApplication(this.#db, id, amendment.baseApplicationVersion)];
    if (application === null || base === null) throw new AppError('internal', 'application version missing');
    const reviews = (await repo.listReviews(this.#db, id)).filter((r) => r.amendmentId === amendment.id);
    const permits = await repo.listPermits(this.#db, id);
    const proposal = permits.filter((x) => x.amendmentId === amendment.id).at(-1) ?? null;
    const open = isOpenAmendment(amendment.status);
    const changedReviewers = open && await this.#changedReviewers(this.#db, p, new Date(amendment.createdAt));
    // The rule takeAmendment enforces: a committee member whose approval already counts for this
    // proposal (its permit version, the amendment's application version) cannot approve again; an
    // approval of an earlier permit version (the first permit, a lapsed proposal) does not count.
    const votedForProposal = amendment.status === 'committee_review' && amendmentApprovals(reviews, amendment, proposal).has(p.personId);
    return {
      amendment, application, changes: diffApplications(base.content, application.content), reviews,
      inForce: permits.find((x) => x.state === 'active') ?? null, proposal,
      actions: open
        ? amendmentActionsFrom(amendment.status).filter((a) => canTakeAmendment(p, project, amendment, a) && !(changedReviewers && AMENDMENT_ACTIONS[a].step !== null) && !(votedForProposal && a === 'committee_approve'))
        : [],
      approvalsNeeded: amendment.status === 'committee_review' ? COMMITTEE_APPROVALS_REQUIRED - amendmentApprovals(reviews, amendment, proposal).size : null,
    };
  }

  /**
   * Takes an action on the amendment under way: the same steps, people and four eyes as the
   * first review. The second distinct committee approval puts the proposed permit version in
   * force and supersedes the previous one, in the same transaction; a return, refusal or
   * withdrawal leaves the permit in force untouched.
   */
  async takeAmendment(p: Principal, id: string, action: string, o: TakeOptions = {}): Promise<AmendmentDetail> {
    if (!isAmendmentActionName(action)) {
      throw new AppError('invalid', `unknown amendment action ${action}`, { hint: `actions: ${Object.keys(AMENDMENT_ACTIONS).join(', ')}` });
    }
    const spec = AMENDMENT_ACTIONS[action];
    const role = AMENDMENT_NEXT_ROLE[spec.to];
    const reviewers = role === undefined ? [] : await this.#people.withRole(role);
    await this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: `governance.amendment.${action}`, target: `project:${id}`, details: { transition: action }, ...rid(o.requestId) }, async (tx) => {
      const project = await this.#require(tx, id, true);
      const amendment = await repo.openAmendment(tx, id);
      assertCanTakeAmendment(p, project, amendment, action);
      if (spec.step !== null) await this.#assertDidNotChangeReviewers(tx, p, new Date(amendment.createdAt));
      tx.addDetails({ amendment: amendment.id, from: amendment.status });
      let to: AmendmentStatus = spec.to;
      let permitVersion: number | null = null;
      if (action === 'committee_approve') {
        const proposal = await repo.latestPermit(tx, id);
        if (proposal === null || proposal.state !== 'proposed' || proposal.amendmentId !== amendment.id) {
          throw new AppError('conflict', 'there is no amended permit to approve', { hint: 'an access committee member drafts it first (PUT .../amendment/permit, or enclave permits propose --amendment)' });
        }
        permitVersion = proposal.version;
        const approvers = amendmentApprovals((await repo.listReviews(tx, id)).filter((r) => r.amendmentId === amendment.id), amendment, proposal);
        if (approvers.has(p.personId)) {
          throw new AppError('conflict', 'four eyes: you have already approved this amended permit; the decision needs a second, different committee member', { hint: 'ask another access committee member to approve' });
        }
        approvers.add(p.personId);
        if (approvers.size < COMMITTEE_APPROVALS_REQUIRED) to = 'committee_review';
        else {
          const inForce = await repo.activePermit(tx, id);
          this.#assertInForce(inForce, 'an amendment cannot be approved');
          const content = await repo.findApplication(tx, id, amendment.applicationVersion);
          if (content === null) throw new AppError('internal', 'application version missing');
          await repo.activatePermit(tx, id, proposal.version);
          await repo.setCurrentApplication(tx, id, amendment.applicationVersion, content.content);
          tx.addDetails({ permitVersion: proposal.version, permitSha256: proposal.sha256, supersedes: inForce.version });
        }
      }
      if (spec.step !== null && spec.decision !== null) {
        await repo.insertReview(tx, {
          id: randomUUID(), projectId: id, applicationVersion: amendment.applicationVersion, step: spec.step, reviewerId: p.personId, decision: spec.decision,
          comment: (o.comment ?? '').slice(0, 10_000), reference: o.reference?.slice(0, 200) ?? null, permitVersion, amendmentId: amendment.id,
        });
      }
      if (to === 'changes_requested' || to === 'rejected' || to === 'withdrawn') await repo.lapseProposals(tx, id, amendment.id);
      if (to !== amendment.status) {
        await repo.setAmendmentStatus(tx, amendment.id, to, to === 'approved' || to === 'rejected' || to === 'withdrawn');
        const inForceNote = to === 'approved' ? ' The amended permit is now in force.' : to === 'rejected' || to === 'withdrawn' ? ' The permit in force is unchanged.' : '';
        await this.#notify(tx, project, `amendment.${to}`, `The amendment of "${project.title}" is now ${to.replace(/_/g, ' ')} (${spec.summary}).${inForceNote}`, to === spec.to ? reviewers : []);
      }
      tx.addDetails({ to });
    });
    return this.getAmendment(p, id);
  }

  /**
   * The access committee drafts the amended permit during its review of the amendment: validated
   * like any permit, and it may not run past the expiry of the permit in force (that is a renewal).
   */
  async proposeAmendedPermit(p: Principal, id: string, document: unknown, requestId?: string): Promise<Permit> {
    const before = await this.#require(this.#db, id);
    try {
      assertCanProposeAmendedPermit(p, before, await repo.openAmendment(this.#db, id));
    } catch (e) {
      return this.#refused(p, 'governance.amendment.permit.propose', `project:${id}`, e, requestId);
    }
    const doc = await validatePermit(document, { projectId: id, projectMembers: before.members, lookup: this.#catalog });
    return this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'governance.amendment.permit.propose', target: `project:${id}`, ...rid(requestId) }, async (tx) => {
      const project = await this.#require(tx, id, true);
      const amendment = await repo.openAmendment(tx, id);
      assertCanProposeAmendedPermit(p, project, amendment);
      if (amendment === null) throw new AppError('internal', 'amendment vanished');
      await this.#assertDidNotChangeReviewers(tx, p, new Date(amendment.createdAt));
      const team = new Set(project.members.map((m) => m.personId));
      if (doc.members.some((m) => !team.has(m.personId))) throw new AppError('conflict', 'the project team changed while the permit was validated', { hint: 'retry' });
      const inForce = await repo.activePermit(tx, id);
      this.#assertInForce(inForce, 'an amended permit cannot be proposed');
      if (doc.validUntil > inForce.document.validUntil) {
        throw new AppError('invalid', `the permit is not valid:\n  /validUntil: ${doc.validUntil} is past the expiry of the permit in force (${inForce.document.validUntil}); an amendment cannot extend a permit`, {
          hint: `keep validUntil at or before ${inForce.document.validUntil}; running longer is a renewal: file a new application`,
          details: { problems: [`/validUntil: past ${inForce.document.validUntil}`] },
        });
      }
      const latest = await repo.latestPermit(tx, id);
      const version = (latest?.version ?? 0) + 1;
      const sha256 = permitSha256(doc);
      await repo.lapseProposals(tx, id, amendment.id);
      await repo.insertPermit(tx, { projectId: id, version, document: doc, sha256, by: p.personId, amendmentId: amendment.id });
      tx.addDetails({ amendment: amendment.id, permitVersion: version, permitSha256: sha256, inForce: inForce.version, ...exceptionDetails(doc) });
      return { projectId: id, version, document: doc, sha256, state: 'proposed' as const, createdBy: p.personId, createdAt: this.#now().toISOString(), activatedAt: null, amendmentId: amendment.id };
    });
  }

  /**
   * A starting amended permit for the committee: the permit in force (validity, tools,
   * disclosure rules, population criteria, exceptions) with the amendment's scope and the team.
   */
  async amendedPermitTemplate(p: Principal, id: string): Promise<PermitDocument> {
    const d = await this.getAmendment(p, id);
    if (!isOpenAmendment(d.amendment.status)) throw new AppError('conflict', 'the project has no amendment under way', { hint: 'the principal investigator files one first' });
    if (d.inForce === null) throw new AppError('conflict', 'the project has no permit in force to amend', { hint: 'amendments change an active permit' });
    const project = await this.#require(this.#db, id);
    const a: Application = d.application.content;
    const datasets = a.requestedScope.datasets.map((x) => ({ dataset: x.dataset, tables: x.tables.map((t) => ({ table: t.table, columns: [...t.columns] })) }));
    // the amendment's own justification names the amended scope; otherwise the exception in force stays
    const exception = await this.#exceptionAsked(a, datasets);
    return {
      ...d.inForce.document,
      ...(exception === undefined ? {} : { potentialIdentifierException: exception }),
      title: a.title,
      datasets,
      years: { ...a.requestedScope.years },
      population: { description: a.requestedScope.population, criteria: d.inForce.document.population.criteria },
      members: project.members.map((m) => ({ personId: m.personId, role: m.role })),
    };
  }

  /** Public register of permits in force and past (no login, no person named). */
  register(): Promise<RegisterEntry[]> {
    return repo.register(this.#db);
  }

  notifications(p: Principal, unreadOnly = false): Promise<Notification[]> {
    return repo.listNotifications(this.#db, p.personId, unreadOnly);
  }

  async markRead(p: Principal, id: string): Promise<void> {
    if (!(await repo.markNotificationRead(this.#db, p.personId, id))) throw new AppError('not_found', 'no such unread notification');
  }

  /**
   * A project's audit trail for those who may see the project: every event about it (filing,
   * each review, permits, suspensions…) with who acted, by name. Reading it is itself recorded.
   */
  async projectTrail(p: Principal, id: string, requestId?: string): Promise<{ events: ProjectTrailEvent[]; people: Record<string, PersonName> }> {
    const project = await this.#require(this.#db, id);
    try {
      assertCanViewProject(p, project);
    } catch (e) {
      return this.#refused(p, 'governance.project.trail', `project:${id}`, e, requestId);
    }
    if (this.#audit.history === undefined) throw new AppError('unavailable', 'this server keeps no readable audit trail', { hint: 'ask an auditor for an export of the log' });
    const lines = await this.#audit.history(`project:${id}`, { actor: { kind: 'person', id: p.personId }, ...rid(requestId) });
    // The governance of the project, not each data access check or workspace query (those are
    // the workspace's history and the auditors' export), newest TRAIL_MAX events.
    const events: ProjectTrailEvent[] = lines
      .flatMap((l) => (l.event === null || !l.event.action.startsWith('governance.') || l.event.action === 'governance.access' ? [] : [{ seq: l.index, time: l.event.time, action: l.event.action, actorId: l.event.actor.id, actorKind: l.event.actor.kind, outcome: l.event.outcome }]))
      .slice(-TRAIL_MAX);
    return { events, people: await this.#namesOf(events.filter((e) => e.actorKind === 'person').map((e) => e.actorId)) };
  }

  /** Marks all my notifications read; returns how many were unread. */
  markAllRead(p: Principal): Promise<number> {
    return personal.markAllNotificationsRead(this.#db, p.personId);
  }

  unreadCount(p: Principal): Promise<number> {
    return personal.unreadCount(this.#db, p.personId);
  }

  notificationSettings(p: Principal): Promise<NotificationSettings> {
    return personal.notificationSettings(this.#db, p.personId);
  }

  /** Whether status changes are also e-mailed to this person (the mailer asks before sending). */
  async wantsEmail(personId: string): Promise<boolean> {
    return (await personal.notificationSettings(this.#db, personId)).email;
  }

  async setNotificationSettings(p: Principal, body: unknown, requestId?: string): Promise<NotificationSettings> {
    const b = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    if (typeof b['email'] !== 'boolean') throw new AppError('invalid', 'email must be true or false', { hint: '{"email": false} stops e-mails; in-app notifications stay', details: { field: 'email' } });
    const settings = { email: b['email'] };
    await this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'governance.notification.settings', target: `person:${p.personId}`, details: { mailOn: settings.email }, ...rid(requestId) }, async (tx) => {
      await personal.saveNotificationSettings(tx, p.personId, settings);
    });
    return settings;
  }

  /** My drafts of applications, newest first. */
  listDrafts(p: Principal): Promise<ApplicationDraft[]> {
    assertCanCreateProject(p);
    return personal.listDrafts(this.#db, p.personId);
  }

  async getDraft(p: Principal, id: string): Promise<ApplicationDraft> {
    const d = await personal.findDraft(this.#db, p.personId, id);
    if (d === null) throw new AppError('not_found', `no draft ${id} of yours`, { hint: 'a draft is seen only by the person who wrote it; it is gone once filed or deleted' });
    return d;
  }

  /**
   * Saves a draft (a new one without `id`). The content is the wizard's state, checked only for
   * shape and size here: the application is validated whole when it is filed.
   */
  async saveDraft(p: Principal, id: string | null, body: unknown, requestId?: string): Promise<ApplicationDraft> {
    try {
      assertCanCreateProject(p);
    } catch (e) {
      return this.#refused(p, 'governance.draft.save', 'draft', e, requestId);
    }
    const b = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : null;
    const content = b?.['content'];
    if (b === null || content === null || typeof content !== 'object' || Array.isArray(content)) {
      throw new AppError('invalid', 'a draft is {"content": {...the application so far}, "step": 0}', { hint: 'content must be a JSON object', details: { field: 'content' } });
    }
    const step = b['step'] ?? 0;
    if (typeof step !== 'number' || !Number.isInteger(step) || step < 0 || step > 20) throw new AppError('invalid', 'step must be a whole number from 0 to 20', { details: { field: 'step' } });
    if (JSON.stringify(content).length > MAX_DRAFT_CHARS) throw new AppError('invalid', `a draft holds at most ${MAX_DRAFT_CHARS} characters`, { hint: 'shorten the longest texts', details: { field: 'content' } });
    const draftId = id ?? randomUUID();
    if (id === null && (await personal.countDrafts(this.#db, p.personId)) >= MAX_DRAFTS) {
      throw new AppError('conflict', `you already have ${MAX_DRAFTS} drafts`, { hint: 'file or delete a draft before starting another' });
    }
    await this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'governance.draft.save', target: `draft:${draftId}`, details: { step, created: id === null }, ...rid(requestId) }, async (tx) => {
      const row = { id: draftId, personId: p.personId, content: content as Record<string, unknown>, step };
      if (id === null) await personal.insertDraft(tx, row);
      else if (!(await personal.updateDraft(tx, row))) throw new AppError('not_found', `no draft ${id} of yours`, { hint: 'start a new application: this draft was filed or deleted' });
    });
    return this.getDraft(p, draftId);
  }

  async deleteDraft(p: Principal, id: string, requestId?: string): Promise<void> {
    await this.#audit.transaction({ actor: { kind: 'person', id: p.personId }, action: 'governance.draft.delete', target: `draft:${id}`, ...rid(requestId) }, async (tx) => {
      if (!(await personal.deleteDraft(tx, p.personId, id))) throw new AppError('not_found', `no draft ${id} of yours`, { hint: 'it was already filed or deleted' });
    });
  }
}

/** Distinct committee members who approved this proposal for the amendment's current application version. */
function amendmentApprovals(reviews: readonly Review[], amendment: Amendment, proposal: Permit | null): Set<string> {
  if (proposal === null) return new Set();
  return new Set(
    reviews
      .filter((r) => r.amendmentId === amendment.id && r.step === 'committee' && r.decision === 'approve' && r.permitVersion === proposal.version && r.applicationVersion === amendment.applicationVersion)
      .map((r) => r.reviewerId),
  );
}

/**
 * The role the actor of an audited act took it in, from the workflow tables (which role may take
 * which action); acts outside them (filing an amendment) are the principal investigator's.
 */
function actedAs(draft: AuditDraft, project: Project): ActedAs {
  if (draft.actor.kind !== 'person') return 'system';
  const name = draft.action.slice(draft.action.lastIndexOf('.') + 1);
  const by = draft.action.startsWith('governance.amendment.')
    ? (isAmendmentActionName(name) ? AMENDMENT_ACTIONS[name].by : undefined)
    : (isActionName(name) ? ACTIONS[name].by : undefined);
  const isPi = project.members.some((m) => m.personId === draft.actor.id && m.role === 'principal_investigator');
  if (by === 'principal_investigator_or_committee') return isPi ? 'principal_investigator' : 'access_committee';
  return by ?? (isPi ? 'principal_investigator' : 'other');
}

function sameMembers(a: readonly ProjectMember[], b: readonly ProjectMember[]): boolean {
  const key = (ms: readonly ProjectMember[]) => ms.map((m) => `${m.personId}:${m.role}`).sort().join(',');
  return key(a) === key(b);
}

/** Distinct committee members who approved this permit version for the current application version. */
function approvalsFor(reviews: readonly Review[], project: Project, permit: Permit | null): Set<string> {
  if (permit === null) return new Set();
  return new Set(
    reviews
      .filter((r) => r.step === 'committee' && r.decision === 'approve' && r.permitVersion === permit.version && r.applicationVersion === project.currentVersion)
      .map((r) => r.reviewerId),
  );
}

/** The exception a permit grants, for the audit event that proposes it (null when none). */
function exceptionDetails(doc: PermitDocument): Record<string, JsonValue> {
  const e = doc.potentialIdentifierException;
  return { potentialIdentifierException: e === undefined ? null : { columns: [...e.columns], justification: e.justification } };
}
