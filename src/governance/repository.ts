/**
 * SQL of governance. Every write takes an `AuditedTx`: no project, review, permit or
 * notification changes without its audit event in the same transaction.
 */
import type { AuditedTx } from '../audit/index.ts';
import type { Queryable } from '../db/index.ts';
import type { Amendment, Application, ApplicationVersion, MemberRole, Notification, Permit, PermitDocument, PermitState, Project, ProjectMember, RegisterEntry, Review } from './types.ts';
import { OPEN_AMENDMENT_STATUSES, type AmendmentStatus, type ProjectStatus } from './workflow.ts';

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

interface ProjectRow {
  id: string;
  status: ProjectStatus;
  title: string;
  organisation: string;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  current_version: number;
  members: string | null;
}

const PROJECT_SQL = `SELECT p.id, p.status, p.title, p.organisation, p.created_by, p.created_at, p.updated_at, p.current_version,
    (SELECT json_agg(json_build_object('personId', m.person_id, 'role', m.role) ORDER BY m.added_at, m.person_id)::text
       FROM governance_members m WHERE m.project_id = p.id) AS members
  FROM governance_projects p`;

function toProject(r: ProjectRow): Project {
  return {
    id: r.id, status: r.status, title: r.title, organisation: r.organisation, createdBy: r.created_by,
    createdAt: iso(r.created_at) ?? '', updatedAt: iso(r.updated_at) ?? '', currentVersion: Number(r.current_version),
    members: r.members === null ? [] : (JSON.parse(r.members) as ProjectMember[]),
  };
}

export async function findProject(q: Queryable, id: string, forUpdate = false): Promise<Project | null> {
  if (forUpdate) await q.query('SELECT id FROM governance_projects WHERE id = $1 FOR UPDATE', [id]);
  const [r] = await q.query<ProjectRow>(`${PROJECT_SQL} WHERE p.id = $1`, [id]);
  return r === undefined ? null : toProject(r);
}

/** Projects a person belongs to, or all projects (oversight roles). */
export async function listProjects(q: Queryable, personId: string | null): Promise<Project[]> {
  const rows = personId === null
    ? await q.query<ProjectRow>(`${PROJECT_SQL} ORDER BY p.created_at DESC, p.id`)
    : await q.query<ProjectRow>(`${PROJECT_SQL} WHERE p.created_by = $1 OR EXISTS (SELECT 1 FROM governance_members m WHERE m.project_id = p.id AND m.person_id = $1) ORDER BY p.created_at DESC, p.id`, [personId]);
  return rows.map(toProject);
}

export async function insertProject(tx: AuditedTx, p: { id: string; title: string; organisation: string; createdBy: string }): Promise<void> {
  await tx.query("INSERT INTO governance_projects (id, status, title, organisation, created_by) VALUES ($1, 'draft', $2, $3, $4)", [p.id, p.title, p.organisation, p.createdBy]);
}

export async function setStatus(tx: AuditedTx, id: string, status: ProjectStatus): Promise<void> {
  await tx.query('UPDATE governance_projects SET status = $2, updated_at = now() WHERE id = $1', [id, status]);
}

/** Marks the project under review from now on, at its first submission (kept through returns and resubmissions). */
export async function markReviewStarted(tx: AuditedTx, id: string): Promise<void> {
  await tx.query('UPDATE governance_projects SET review_started_at = COALESCE(review_started_at, now()) WHERE id = $1', [id]);
}

/** When the project was first submitted for review, or null (never submitted). */
export async function reviewStartedAt(q: Queryable, id: string): Promise<Date | null> {
  const [r] = await q.query<{ review_started_at: Date | string | null }>('SELECT review_started_at FROM governance_projects WHERE id = $1', [id]);
  return r?.review_started_at == null ? null : new Date(r.review_started_at);
}

export async function insertApplication(tx: AuditedTx, projectId: string, version: number, content: Application, by: string): Promise<void> {
  await tx.query('INSERT INTO governance_applications (project_id, version, content, created_by) VALUES ($1, $2, $3::jsonb, $4)', [projectId, version, JSON.stringify(content), by]);
  await tx.query('UPDATE governance_projects SET current_version = $2, title = $3, organisation = $4, updated_at = now() WHERE id = $1', [projectId, version, content.title, content.organisation]);
}

/** A version of the application that does not (yet) replace the one in force: an amendment's. */
export async function insertApplicationVersion(tx: AuditedTx, projectId: string, version: number, content: Application, by: string): Promise<void> {
  await tx.query('INSERT INTO governance_applications (project_id, version, content, created_by) VALUES ($1, $2, $3::jsonb, $4)', [projectId, version, JSON.stringify(content), by]);
}

/** Makes an application version the one in force (an amendment approved). */
export async function setCurrentApplication(tx: AuditedTx, projectId: string, version: number, content: Application): Promise<void> {
  await tx.query('UPDATE governance_projects SET current_version = $2, title = $3, organisation = $4, updated_at = now() WHERE id = $1', [projectId, version, content.title, content.organisation]);
}

export async function maxApplicationVersion(q: Queryable, projectId: string): Promise<number> {
  const [r] = await q.query<{ v: number | null }>('SELECT max(version) AS v FROM governance_applications WHERE project_id = $1', [projectId]);
  return Number(r?.v ?? 0);
}

export async function findApplication(q: Queryable, projectId: string, version: number): Promise<ApplicationVersion | null> {
  const [r] = await q.query<{ content: string; created_by: string; created_at: Date }>('SELECT content::text AS content, created_by, created_at FROM governance_applications WHERE project_id = $1 AND version = $2', [projectId, version]);
  return r === undefined ? null : { projectId, version, content: JSON.parse(r.content) as Application, createdBy: r.created_by, createdAt: iso(r.created_at) ?? '' };
}

export async function listApplicationVersions(q: Queryable, projectId: string): Promise<{ version: number; createdBy: string; createdAt: string }[]> {
  const rows = await q.query<{ version: number; created_by: string; created_at: Date }>('SELECT version, created_by, created_at FROM governance_applications WHERE project_id = $1 ORDER BY version', [projectId]);
  return rows.map((r) => ({ version: Number(r.version), createdBy: r.created_by, createdAt: iso(r.created_at) ?? '' }));
}

export async function upsertMember(tx: AuditedTx, projectId: string, personId: string, role: MemberRole, by: string): Promise<void> {
  await tx.query('INSERT INTO governance_members (project_id, person_id, role, added_by) VALUES ($1, $2, $3, $4) ON CONFLICT (project_id, person_id) DO UPDATE SET role = EXCLUDED.role', [projectId, personId, role, by]);
}

export async function deleteMember(tx: AuditedTx, projectId: string, personId: string): Promise<boolean> {
  return (await tx.query('DELETE FROM governance_members WHERE project_id = $1 AND person_id = $2 RETURNING person_id', [projectId, personId])).length > 0;
}

interface ReviewRow {
  id: string;
  application_version: number;
  step: string;
  reviewer_id: string;
  decision: Review['decision'];
  comment: string;
  reference: string | null;
  permit_version: number | null;
  amendment_id: string | null;
  created_at: Date;
}

export async function insertReview(tx: AuditedTx, r: { id: string; projectId: string; applicationVersion: number; step: string; reviewerId: string; decision: Review['decision']; comment: string; reference: string | null; permitVersion: number | null; amendmentId?: string | null }): Promise<void> {
  await tx.query(
    'INSERT INTO governance_reviews (id, project_id, application_version, step, reviewer_id, decision, comment, reference, permit_version, amendment_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
    [r.id, r.projectId, r.applicationVersion, r.step, r.reviewerId, r.decision, r.comment, r.reference, r.permitVersion, r.amendmentId ?? null],
  );
}

export async function listReviews(q: Queryable, projectId: string): Promise<Review[]> {
  const rows = await q.query<ReviewRow>('SELECT id, application_version, step, reviewer_id, decision, comment, reference, permit_version, amendment_id, created_at FROM governance_reviews WHERE project_id = $1 ORDER BY created_at, id', [projectId]);
  return rows.map((r) => ({
    id: r.id, applicationVersion: Number(r.application_version), step: r.step, reviewerId: r.reviewer_id, decision: r.decision,
    comment: r.comment, reference: r.reference, permitVersion: r.permit_version === null ? null : Number(r.permit_version), amendmentId: r.amendment_id, createdAt: iso(r.created_at) ?? '',
  }));
}

interface PermitRow {
  project_id: string;
  version: number;
  document: string;
  sha256: string;
  state: PermitState;
  created_by: string;
  created_at: Date;
  activated_at: Date | null;
  amendment_id: string | null;
}

const PERMIT_SQL = 'SELECT project_id, version, document::text AS document, sha256, state, created_by, created_at, activated_at, amendment_id FROM governance_permits';

function toPermit(r: PermitRow): Permit {
  return {
    projectId: r.project_id, version: Number(r.version), document: JSON.parse(r.document) as PermitDocument, sha256: r.sha256, state: r.state,
    createdBy: r.created_by, createdAt: iso(r.created_at) ?? '', activatedAt: iso(r.activated_at), amendmentId: r.amendment_id,
  };
}

export async function listPermits(q: Queryable, projectId: string): Promise<Permit[]> {
  return (await q.query<PermitRow>(`${PERMIT_SQL} WHERE project_id = $1 ORDER BY version`, [projectId])).map(toPermit);
}

export async function latestPermit(q: Queryable, projectId: string): Promise<Permit | null> {
  const [r] = await q.query<PermitRow>(`${PERMIT_SQL} WHERE project_id = $1 ORDER BY version DESC LIMIT 1`, [projectId]);
  return r === undefined ? null : toPermit(r);
}

export async function insertPermit(tx: AuditedTx, p: { projectId: string; version: number; document: PermitDocument; sha256: string; by: string; amendmentId?: string }): Promise<void> {
  await tx.query(
    "INSERT INTO governance_permits (project_id, version, document, sha256, state, created_by, amendment_id) VALUES ($1, $2, $3::jsonb, $4, 'proposed', $5, $6)",
    [p.projectId, p.version, JSON.stringify(p.document), p.sha256, p.by, p.amendmentId ?? null],
  );
}

/** The permit in force (state active), if any. */
export async function activePermit(q: Queryable, projectId: string): Promise<Permit | null> {
  const [r] = await q.query<PermitRow>(`${PERMIT_SQL} WHERE project_id = $1 AND state = 'active'`, [projectId]);
  return r === undefined ? null : toPermit(r);
}

/** Proposals made for an amendment that will not come into force. */
export async function lapseProposals(tx: AuditedTx, projectId: string, amendmentId: string): Promise<void> {
  await tx.query("UPDATE governance_permits SET state = 'lapsed', ended_at = now() WHERE project_id = $1 AND amendment_id = $2 AND state = 'proposed'", [projectId, amendmentId]);
}

interface AmendmentRow {
  id: string;
  project_id: string;
  status: AmendmentStatus;
  application_version: number;
  base_application_version: number;
  base_permit_version: number;
  created_by: string;
  created_at: Date;
  updated_at: Date;
  decided_at: Date | null;
}

const AMENDMENT_SQL = 'SELECT id, project_id, status, application_version, base_application_version, base_permit_version, created_by, created_at, updated_at, decided_at FROM governance_amendments';
/** The workflow table's open statuses (constants of workflow.ts, not input). */
const OPEN_AMENDMENT = `status IN (${OPEN_AMENDMENT_STATUSES.map((x) => `'${x}'`).join(', ')})`;

function toAmendment(r: AmendmentRow): Amendment {
  return {
    id: r.id, projectId: r.project_id, status: r.status, applicationVersion: Number(r.application_version), baseApplicationVersion: Number(r.base_application_version),
    basePermitVersion: Number(r.base_permit_version), createdBy: r.created_by, createdAt: iso(r.created_at) ?? '', updatedAt: iso(r.updated_at) ?? '', decidedAt: iso(r.decided_at),
  };
}

export async function insertAmendment(tx: AuditedTx, a: { id: string; projectId: string; applicationVersion: number; baseApplicationVersion: number; basePermitVersion: number; by: string }): Promise<void> {
  await tx.query(
    "INSERT INTO governance_amendments (id, project_id, status, application_version, base_application_version, base_permit_version, created_by) VALUES ($1, $2, 'submitted', $3, $4, $5, $6)",
    [a.id, a.projectId, a.applicationVersion, a.baseApplicationVersion, a.basePermitVersion, a.by],
  );
}

/** The project's amendment under way, if any (the caller holds the project lock when writing). */
export async function openAmendment(q: Queryable, projectId: string): Promise<Amendment | null> {
  const [r] = await q.query<AmendmentRow>(`${AMENDMENT_SQL} WHERE project_id = $1 AND ${OPEN_AMENDMENT}`, [projectId]);
  return r === undefined ? null : toAmendment(r);
}

export async function listAmendments(q: Queryable, projectId: string): Promise<Amendment[]> {
  return (await q.query<AmendmentRow>(`${AMENDMENT_SQL} WHERE project_id = $1 ORDER BY created_at, id`, [projectId])).map(toAmendment);
}

export async function setAmendmentStatus(tx: AuditedTx, id: string, status: AmendmentStatus, decided: boolean): Promise<void> {
  await tx.query(`UPDATE governance_amendments SET status = $2, updated_at = now()${decided ? ', decided_at = now()' : ''} WHERE id = $1`, [id, status]);
}

export async function setAmendmentApplication(tx: AuditedTx, id: string, applicationVersion: number): Promise<void> {
  await tx.query('UPDATE governance_amendments SET application_version = $2, updated_at = now() WHERE id = $1', [id, applicationVersion]);
}

export async function activatePermit(tx: AuditedTx, projectId: string, version: number): Promise<void> {
  await tx.query("UPDATE governance_permits SET state = 'superseded', ended_at = now() WHERE project_id = $1 AND state = 'active'", [projectId]);
  await tx.query("UPDATE governance_permits SET state = 'active', activated_at = now() WHERE project_id = $1 AND version = $2", [projectId, version]);
}

export async function endPermit(tx: AuditedTx, projectId: string): Promise<void> {
  await tx.query("UPDATE governance_permits SET state = 'ended', ended_at = now() WHERE project_id = $1 AND state = 'active'", [projectId]);
}

/** The project's status and its active permit, in one read: what access is computed from. */
export async function accessState(q: Queryable, projectId: string): Promise<{ status: ProjectStatus; permit: PermitDocument | null } | null> {
  const [r] = await q.query<{ status: ProjectStatus; document: string | null }>(
    "SELECT p.status, g.document::text AS document FROM governance_projects p LEFT JOIN governance_permits g ON g.project_id = p.id AND g.state IN ('active', 'ended') WHERE p.id = $1 ORDER BY g.version DESC LIMIT 1",
    [projectId],
  );
  return r === undefined ? null : { status: r.status, permit: r.document === null ? null : (JSON.parse(r.document) as PermitDocument) };
}

export async function insertNotification(tx: AuditedTx, n: { id: string; personId: string; projectId: string | null; kind: string; message: string }): Promise<void> {
  await tx.query('INSERT INTO governance_notifications (id, person_id, project_id, kind, message) VALUES ($1, $2, $3, $4, $5)', [n.id, n.personId, n.projectId, n.kind, n.message]);
}

export async function listNotifications(q: Queryable, personId: string, unreadOnly: boolean): Promise<Notification[]> {
  const rows = await q.query<{ id: string; project_id: string | null; kind: string; message: string; created_at: Date; read_at: Date | null }>(
    `SELECT id, project_id, kind, message, created_at, read_at FROM governance_notifications WHERE person_id = $1 ${unreadOnly ? 'AND read_at IS NULL' : ''} ORDER BY created_at DESC, id LIMIT 200`,
    [personId],
  );
  return rows.map((r) => ({ id: r.id, projectId: r.project_id, kind: r.kind, message: r.message, createdAt: iso(r.created_at) ?? '', readAt: iso(r.read_at) }));
}

/** Marking as read is the reader's own bookkeeping: not audited. */
export async function markNotificationRead(q: Queryable, personId: string, id: string): Promise<boolean> {
  return (await q.query("UPDATE governance_notifications SET read_at = now() WHERE id = $1 AND person_id = $2 AND read_at IS NULL RETURNING id", [id, personId])).length > 0;
}

/** Public register: every project that has had a permit in force. */
export async function register(q: Queryable): Promise<RegisterEntry[]> {
  const rows = await q.query<{ id: string; title: string; organisation: string; status: ProjectStatus; purpose: string; document: string; activated_at: Date | null }>(
    `SELECT p.id, p.title, p.organisation, p.status, a.content->>'purpose' AS purpose, g.document::text AS document, g.activated_at
       FROM governance_projects p
       JOIN governance_permits g ON g.project_id = p.id AND g.activated_at IS NOT NULL
       JOIN governance_applications a ON a.project_id = p.id AND a.version = p.current_version
      WHERE g.version = (SELECT max(version) FROM governance_permits x WHERE x.project_id = p.id AND x.activated_at IS NOT NULL)
      ORDER BY g.activated_at DESC, p.id`,
  );
  const history = await q.query<{ project_id: string; version: number; state: PermitState; activated_at: Date | null; document: string }>(
    "SELECT project_id, version, state, activated_at, document::text AS document FROM governance_permits WHERE activated_at IS NOT NULL ORDER BY project_id, version DESC",
  );
  const versionsOf = new Map<string, RegisterEntry['versions'][number][]>();
  for (const h of history) {
    const d = JSON.parse(h.document) as PermitDocument;
    const list = versionsOf.get(h.project_id) ?? [];
    list.push({ version: Number(h.version), state: h.state, activatedAt: iso(h.activated_at), datasets: d.datasets.map((x) => x.dataset), validFrom: d.validFrom, validUntil: d.validUntil });
    versionsOf.set(h.project_id, list);
  }
  return rows.map((r) => {
    const d = JSON.parse(r.document) as PermitDocument;
    return {
      projectId: r.id, title: r.title, organisation: r.organisation,
      purposeSummary: r.purpose.length > 500 ? `${r.purpose.slice(0, 497)}...` : r.purpose,
      datasets: d.datasets.map((x) => x.dataset), validFrom: d.validFrom, validUntil: d.validUntil,
      decision: 'approved' as const, decidedAt: iso(r.activated_at), status: r.status, versions: versionsOf.get(r.id) ?? [],
    };
  });
}

/** Why a project's last move to another engine failed (migration 0023): where it was going, when, and the reason. */
export interface EngineFailure {
  readonly engine: string;
  readonly at: string;
  readonly reason: string;
}

/** A project's engine as recorded: its status, its own engine (null: the deployment's default), its last failed move. */
export interface ProjectEngineRow {
  readonly id: string;
  readonly status: ProjectStatus;
  readonly engine: string | null;
  readonly lastFailure: EngineFailure | null;
}

interface EngineDbRow {
  id: string;
  status: ProjectStatus;
  engine: string | null;
  engine_failed_to: string | null;
  engine_failed_at: Date | string | null;
  engine_failed_reason: string | null;
}
const ENGINE_COLUMNS = 'id, status, engine, engine_failed_to, engine_failed_at, engine_failed_reason';

function engineRow(r: EngineDbRow): ProjectEngineRow {
  const at = iso(r.engine_failed_at);
  return {
    id: r.id, status: r.status, engine: r.engine,
    lastFailure: r.engine_failed_to === null || at === null ? null : { engine: r.engine_failed_to, at, reason: r.engine_failed_reason ?? '' },
  };
}

/**
 * The engine a project is put on (issue 17 item 4; migration 0022) with its status and its last
 * failed move, or null when there is no such project. `engine` null: the deployment's default.
 */
export async function projectEngine(q: Queryable, id: string, forUpdate = false): Promise<ProjectEngineRow | null> {
  const [r] = await q.query<EngineDbRow>(`SELECT ${ENGINE_COLUMNS} FROM governance_projects WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id]);
  return r === undefined ? null : engineRow(r);
}

/** A page of every project's engine, by project id, and how many projects there are: one query each, whatever the page's size. */
export async function projectEngines(q: Queryable, page: { readonly limit: number; readonly offset: number }): Promise<{ readonly rows: ProjectEngineRow[]; readonly total: number }> {
  const rows = await q.query<EngineDbRow>(`SELECT ${ENGINE_COLUMNS} FROM governance_projects ORDER BY id LIMIT $1 OFFSET $2`, [page.limit, page.offset]);
  const [n] = await q.query<{ n: string | number }>('SELECT count(*) AS n FROM governance_projects');
  return { rows: rows.map(engineRow), total: Number(n?.n ?? 0) };
}

/**
 * Records why a move failed (`failure`), or clears it after a move that succeeded (null), in the
 * audited transaction of `project.engine.revert` or `project.engine.rebuilt`.
 */
export async function setProjectEngineFailure(tx: AuditedTx, id: string, failure: { readonly engine: string; readonly reason: string } | null): Promise<void> {
  await tx.query(
    'UPDATE governance_projects SET engine_failed_to = $2, engine_failed_at = CASE WHEN $2::text IS NULL THEN NULL ELSE now() END, engine_failed_reason = $3 WHERE id = $1',
    [id, failure?.engine ?? null, failure?.reason ?? null],
  );
}

/** Records the engine a project is put on, in the audited transaction of the change (`src/workspace/engine-choice.ts`). */
export async function setProjectEngine(tx: AuditedTx, id: string, engine: string | null): Promise<void> {
  await tx.query('UPDATE governance_projects SET engine = $2 WHERE id = $1', [id, engine]);
}
