/**
 * Governance routes, mounted under /api/v1/governance. Each route declares its permission
 * (`governanceRouteSpecs`); object rules (team membership, four eyes, workflow state) are
 * enforced by GovernanceService's assertCanX and come back as 403/409 problems.
 */
import { readFileSync } from 'node:fs';
import { Hono, type Context } from 'hono';
import { AppError } from '../../errors.ts';
import { PERMIT_SCHEMA_PATH, type ActionName, type GovernanceService } from '../../governance/index.ts';
import { listOf, ref } from '../api-schemas.ts';
import { AUTHENTICATED, authenticate, jsonBody, mountRoutes, openApiOf, param, principal, PUBLIC, roles, type AuthDeps, type AuthEnv, type RouteSpec } from '../auth.ts';

const str = (body: Record<string, unknown>, key: string): string | undefined => {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new AppError('invalid', `${key} must be a string`);
  return v;
};

const version = (v: string | undefined, name: string): number => {
  if (v === undefined || !/^\d{1,6}$/.test(v)) throw new AppError('invalid', `${name} must be a version number`, { hint: `e.g. ${name}=1` });
  return Number(v);
};

/** Review steps: the body's decision picks the action. */
const STEP_ACTIONS: Record<string, Record<string, ActionName>> = {
  completeness: { approve: 'accept_complete', return: 'return_incomplete' },
  'ethics-opinion': { approve: 'ethics_favourable', return: 'ethics_return', reject: 'ethics_unfavourable' },
  'legal-review': { approve: 'legal_approve', return: 'legal_return', reject: 'legal_reject' },
  'committee-decision': { approve: 'committee_approve', return: 'committee_return', reject: 'committee_reject' },
};

export function governanceRouteSpecs(gov: GovernanceService): RouteSpec[] {
  const rid = (c: Context<AuthEnv>): string => c.get('requestId');
  const take = (c: Context<AuthEnv>, action: string, body: Record<string, unknown>) => {
    const comment = str(body, 'comment');
    const reference = str(body, 'reference');
    return gov.take(principal(c), param(c, 'id'), action, { requestId: rid(c), ...(comment === undefined ? {} : { comment }), ...(reference === undefined ? {} : { reference }) });
  };
  const step = (name: string, roleName: 'access_committee' | 'ethics_reviewer' | 'legal_reviewer', summary: string): RouteSpec => ({
    method: 'POST', path: `/projects/:id/${name}`, permission: roles(roleName), summary, response: ref('ProjectDetail'),
    handler: async (c) => {
      const body = await jsonBody(c);
      const decision = str(body, 'decision') ?? '';
      const action = STEP_ACTIONS[name]?.[decision];
      if (action === undefined) throw new AppError('invalid', `decision must be one of ${Object.keys(STEP_ACTIONS[name] ?? {}).join(', ')}`, { hint: '{"decision": "approve", "comment": "..."}' });
      return c.json(await take(c, action, body));
    },
  });
  const amendmentStep = (name: string, roleName: 'access_committee' | 'ethics_reviewer' | 'legal_reviewer', summary: string): RouteSpec => ({
    method: 'POST', path: `/projects/:id/amendment/${name}`, permission: roles(roleName), summary, response: ref('AmendmentDetail'),
    handler: async (c) => {
      const body = await jsonBody(c);
      const decision = str(body, 'decision') ?? '';
      const action = STEP_ACTIONS[name]?.[decision];
      if (action === undefined) throw new AppError('invalid', `decision must be one of ${Object.keys(STEP_ACTIONS[name] ?? {}).join(', ')}`, { hint: '{"decision": "approve", "comment": "..."}' });
      return c.json(await takeAmendment(c, action, body));
    },
  });
  const takeAmendment = (c: Context<AuthEnv>, action: string, body: Record<string, unknown>) => {
    const comment = str(body, 'comment');
    const reference = str(body, 'reference');
    return gov.takeAmendment(principal(c), param(c, 'id'), action, { requestId: rid(c), ...(comment === undefined ? {} : { comment }), ...(reference === undefined ? {} : { reference }) });
  };
  const simple = (name: string, action: ActionName, permission: RouteSpec['permission'], summary: string): RouteSpec => ({
    method: 'POST', path: `/projects/:id/${name}`, permission, summary, response: ref('ProjectDetail'),
    handler: async (c) => c.json(await take(c, action, await jsonBody(c).catch(() => ({})))),
  });
  const schemaText = readFileSync(PERMIT_SCHEMA_PATH, 'utf8');
  return [
    { method: 'GET', path: '/register', response: listOf('permits', 'RegisterEntry'), permission: PUBLIC, summary: 'Public register of permits in force and past (no login)', handler: async (c) => c.json({ permits: await gov.register() }) },
    { method: 'GET', path: '/permit-schema', permission: PUBLIC, summary: 'The published JSON Schema of permits', handler: async (c) => c.body(schemaText, 200, { 'Content-Type': 'application/schema+json' }) },
    { method: 'GET', path: '/projects', response: listOf('projects', 'Project'), permission: AUTHENTICATED, token: true, summary: 'Projects I belong to (all, for reviewers, auditors, admins)', handler: async (c) => c.json({ projects: await gov.listProjects(principal(c)) }) },
    { method: 'POST', path: '/projects', body: ref('Application'), response: ref('Project'), status: 201, permission: roles('applicant'), summary: 'File a project (draft); I become its principal investigator', handler: async (c) => c.json(await gov.createProject(principal(c), await jsonBody(c), rid(c)), 201) },
    { method: 'GET', path: '/projects/:id', response: ref('ProjectDetail'), permission: AUTHENTICATED, token: true, summary: 'A project: application, reviews, permits, and the actions open to me', handler: async (c) => c.json(await gov.getProject(principal(c), param(c, 'id'), rid(c))) },
    { method: 'PUT', path: '/projects/:id/application', permission: AUTHENTICATED, summary: 'Save a new version of the application (principal investigator; draft or changes requested)', handler: async (c) => c.json(await gov.updateApplication(principal(c), param(c, 'id'), await jsonBody(c), rid(c))) },
    { method: 'GET', path: '/projects/:id/applications', permission: AUTHENTICATED, summary: 'Versions of the application', handler: async (c) => c.json({ versions: await gov.applicationVersions(principal(c), param(c, 'id')) }) },
    { method: 'GET', path: '/projects/:id/applications/:version', response: ref('ApplicationVersion'), permission: AUTHENTICATED, summary: 'One version of the application', handler: async (c) => c.json(await gov.application(principal(c), param(c, 'id'), version(param(c, 'version'), 'version'))) },
    { method: 'GET', path: '/projects/:id/diff', response: listOf('changes', 'DiffEntry'), permission: AUTHENTICATED, summary: 'Differences between two application versions (?from=1&to=2)', handler: async (c) => c.json({ changes: await gov.diff(principal(c), param(c, 'id'), version(c.req.query('from'), 'from'), version(c.req.query('to'), 'to')) }) },
    {
      method: 'POST', path: '/projects/:id/members', permission: AUTHENTICATED, summary: 'Add a team member (principal investigator): {"email"} or {"personId"}, and {"role": "member"}',
      handler: async (c) => {
        const body = await jsonBody(c);
        const role = str(body, 'role') ?? 'member';
        if (role !== 'member' && role !== 'principal_investigator') throw new AppError('invalid', 'role must be member or principal_investigator');
        // by e-mail (as colleagues know each other) or by person id
        const email = str(body, 'email');
        if (email !== undefined) return c.json(await gov.addMemberByEmail(principal(c), param(c, 'id'), email, role, rid(c)));
        return c.json(await gov.addMember(principal(c), param(c, 'id'), str(body, 'personId') ?? '', role, rid(c)));
      },
    },
    { method: 'DELETE', path: '/projects/:id/members/:personId', permission: AUTHENTICATED, summary: 'Remove a team member (principal investigator)', handler: async (c) => c.json(await gov.removeMember(principal(c), param(c, 'id'), param(c, 'personId'), rid(c))) },
    simple('submit', 'submit', AUTHENTICATED, 'Submit the application (principal investigator)'),
    simple('withdraw', 'withdraw', AUTHENTICATED, 'Withdraw the application (principal investigator)'),
    step('completeness', 'access_committee', 'Completeness check: {"decision": "approve" | "return"}'),
    step('ethics-opinion', 'ethics_reviewer', 'Ethics and scientific opinion: {"decision": "approve" | "return" | "reject", "reference"}'),
    step('legal-review', 'legal_reviewer', 'Legal review: {"decision": "approve" | "return" | "reject", "reference"}'),
    step('committee-decision', 'access_committee', 'Committee vote; two distinct approvals put the permit in force'),
    simple('suspend', 'suspend', roles('access_committee'), 'Suspend the permit: access stops at once'),
    simple('reinstate', 'reinstate', roles('access_committee'), 'Reinstate a suspended permit'),
    simple('revoke', 'revoke', roles('access_committee'), 'Revoke the permit for good'),
    simple('expire', 'expire', roles('access_committee'), 'Record that the permit has expired'),
    simple('close', 'close', AUTHENTICATED, 'Close the project (principal investigator or access committee)'),
    {
      method: 'GET', path: '/projects/:id/permit-template', permission: roles('access_committee'), summary: 'A starting permit from the application (?validFrom=YYYY-MM-DD&validUntil=YYYY-MM-DD)',
      handler: async (c) => c.json(await gov.permitTemplate(principal(c), param(c, 'id'), { validFrom: c.req.query('validFrom') ?? '', validUntil: c.req.query('validUntil') ?? '' })),
    },
    { method: 'PUT', path: '/projects/:id/permit', response: ref('Permit'), status: 201, permission: roles('access_committee'), summary: 'Propose the permit (validated by the published schema and the catalogue)', handler: async (c) => c.json(await gov.proposePermit(principal(c), param(c, 'id'), await c.req.json().catch(() => null), rid(c)), 201) },
    { method: 'GET', path: '/projects/:id/permits', response: listOf('permits', 'Permit'), permission: AUTHENTICATED, token: true, summary: 'Permit versions of the project', handler: async (c) => c.json({ permits: await gov.permits(principal(c), param(c, 'id')) }) },
    {
      method: 'GET', path: '/projects/:id/access', permission: AUTHENTICATED, token: true, summary: 'May I access this project\'s data now? (?dataset=&table=&columns=A,B&years=2019-2021&tool=web_sql)',
      handler: async (c) => {
        const t = c.req.query('tool');
        if (t !== undefined && t !== 'web_sql' && t !== 'database_protocol') throw new AppError('invalid', 'tool must be web_sql or database_protocol');
        const tool: 'web_sql' | 'database_protocol' | undefined = t;
        const dataset = c.req.query('dataset');
        const table = c.req.query('table');
        const columns = c.req.query('columns');
        const y = c.req.query('years');
        const ym = y === undefined ? null : /^(\d{4})(?:-(\d{4}))?$/.exec(y);
        if (y !== undefined && ym === null) throw new AppError('invalid', `years must be YYYY or YYYY-YYYY, not ${JSON.stringify(y.slice(0, 20))}`, { hint: 'e.g. ?years=2019-2021', details: { field: 'years' } });
        const years = ym === null ? undefined : { from: Number(ym[1]), to: Number(ym[2] ?? ym[1]) };
        const req = {
          ...(tool === undefined ? {} : { tool }), ...(dataset === undefined ? {} : { dataset }), ...(table === undefined ? {} : { table }),
          ...(columns === undefined ? {} : { columns: columns.split(',') }), ...(years === undefined ? {} : { years }),
        };
        const permit = await gov.assertCanAccessData(principal(c), param(c, 'id'), req, rid(c));
        return c.json({ allowed: true, validUntil: permit.validUntil });
      },
    },
    // Amendments of the permit in force: the principal investigator may file, revise, resubmit
    // and withdraw with a token of the project; reviews and drafting need a browser session.
    { method: 'GET', path: '/projects/:id/amendment', response: ref('AmendmentDetail'), permission: AUTHENTICATED, token: true, summary: 'The amendment under way (or the latest): what it changes, its reviews, the permit in force and the one proposed', handler: async (c) => c.json(await gov.getAmendment(principal(c), param(c, 'id'), rid(c))) },
    { method: 'POST', path: '/projects/:id/amendment', response: ref('AmendmentDetail'), permission: AUTHENTICATED, token: true, summary: 'File an amendment of the active permit: the application with its changed requested scope (principal investigator); the permit stays in force meanwhile', handler: async (c) => c.json(await gov.fileAmendment(principal(c), param(c, 'id'), await jsonBody(c), rid(c)), 201) },
    { method: 'PUT', path: '/projects/:id/amendment/application', response: ref('AmendmentDetail'), permission: AUTHENTICATED, token: true, summary: 'Revise a returned amendment (principal investigator), then resubmit it', handler: async (c) => c.json(await gov.reviseAmendment(principal(c), param(c, 'id'), await jsonBody(c), rid(c))) },
    { method: 'POST', path: '/projects/:id/amendment/submit', response: ref('AmendmentDetail'), permission: AUTHENTICATED, token: true, summary: 'Resubmit a revised amendment (principal investigator)', handler: async (c) => c.json(await takeAmendment(c, 'submit', await jsonBody(c).catch(() => ({})))) },
    { method: 'POST', path: '/projects/:id/amendment/withdraw', response: ref('AmendmentDetail'), permission: AUTHENTICATED, token: true, summary: 'Withdraw the amendment (principal investigator); the permit in force is unchanged', handler: async (c) => c.json(await takeAmendment(c, 'withdraw', await jsonBody(c).catch(() => ({})))) },
    amendmentStep('completeness', 'access_committee', 'Amendment completeness check: {"decision": "approve" | "return"}'),
    amendmentStep('ethics-opinion', 'ethics_reviewer', 'Amendment ethics opinion: {"decision": "approve" | "return" | "reject", "reference"}'),
    amendmentStep('legal-review', 'legal_reviewer', 'Amendment legal review: {"decision": "approve" | "return" | "reject", "reference"}'),
    amendmentStep('committee-decision', 'access_committee', 'Committee vote on the amended permit; two distinct approvals put it in force and supersede the previous version'),
    { method: 'GET', path: '/projects/:id/amendment/permit-template', permission: roles('access_committee'), summary: 'A starting amended permit: the permit in force with the amendment\'s scope and the team', handler: async (c) => c.json(await gov.amendedPermitTemplate(principal(c), param(c, 'id'))) },
    { method: 'PUT', path: '/projects/:id/amendment/permit', permission: roles('access_committee'), summary: 'Propose the amended permit (validated like any permit; not past the expiry of the permit in force)', handler: async (c) => c.json(await gov.proposeAmendedPermit(principal(c), param(c, 'id'), await c.req.json().catch(() => null), rid(c)), 201) },
    { method: 'GET', path: '/notifications', response: listOf('notifications', 'Notification'), permission: AUTHENTICATED, summary: 'My notifications (?unread=true)', handler: async (c) => c.json({ notifications: await gov.notifications(principal(c), c.req.query('unread') === 'true') }) },
    {
      method: 'POST', path: '/notifications/:nid/read', permission: AUTHENTICATED, summary: 'Mark a notification read',
      handler: async (c) => {
        await gov.markRead(principal(c), param(c, 'nid'));
        return c.body(null, 204);
      },
    },
    { method: 'GET', path: '/projects/:id/trail', response: ref('ProjectTrail'), permission: AUTHENTICATED, summary: 'The project\'s audit trail: every event about it, who acted (by name), when, with what outcome; the read is recorded', handler: async (c) => c.json(await gov.projectTrail(principal(c), param(c, 'id'), rid(c))) },
    { method: 'GET', path: '/notifications/unread-count', response: { type: 'object', required: ['unread'], properties: { unread: { type: 'integer' } } }, permission: AUTHENTICATED, summary: 'How many of my notifications are unread (the header\'s badge)', handler: async (c) => c.json({ unread: await gov.unreadCount(principal(c)) }) },
    { method: 'POST', path: '/notifications/read-all', response: { type: 'object', required: ['marked'], properties: { marked: { type: 'integer' } } }, permission: AUTHENTICATED, summary: 'Mark all my notifications read; answers how many were unread', handler: async (c) => c.json({ marked: await gov.markAllRead(principal(c)) }) },
    { method: 'GET', path: '/notifications/settings', response: ref('NotificationSettings'), permission: AUTHENTICATED, summary: 'My notification settings: {"email"} (in-app notifications always)', handler: async (c) => c.json(await gov.notificationSettings(principal(c))) },
    { method: 'PUT', path: '/notifications/settings', body: ref('NotificationSettings'), response: ref('NotificationSettings'), permission: AUTHENTICATED, summary: 'Change my notification settings: {"email": true | false}', handler: async (c) => c.json(await gov.setNotificationSettings(principal(c), await jsonBody(c), rid(c))) },
    // Drafts of applications: the wizard saves as it goes, so a reload or an expired session loses nothing.
    { method: 'GET', path: '/drafts', response: listOf('drafts', 'ApplicationDraft'), permission: roles('applicant'), summary: 'My drafts of applications, newest first', handler: async (c) => c.json({ drafts: await gov.listDrafts(principal(c)) }) },
    { method: 'POST', path: '/drafts', response: ref('ApplicationDraft'), status: 201, permission: roles('applicant'), summary: 'Start a draft: {"content": {...the application so far}, "step"}', handler: async (c) => c.json(await gov.saveDraft(principal(c), null, await jsonBody(c), rid(c)), 201) },
    { method: 'GET', path: '/drafts/:did', response: ref('ApplicationDraft'), permission: roles('applicant'), summary: 'One of my drafts', handler: async (c) => c.json(await gov.getDraft(principal(c), param(c, 'did'))) },
    { method: 'PUT', path: '/drafts/:did', response: ref('ApplicationDraft'), permission: roles('applicant'), summary: 'Save a draft again: {"content", "step"}', handler: async (c) => c.json(await gov.saveDraft(principal(c), param(c, 'did'), await jsonBody(c), rid(c))) },
    {
      method: 'DELETE', path: '/drafts/:did', permission: roles('applicant'), summary: 'Delete a draft (done by the portal once the application is filed)',
      handler: async (c) => {
        await gov.deleteDraft(principal(c), param(c, 'did'), rid(c));
        return c.body(null, 204);
      },
    },
  ];
}

/**
 * @example
 *   routes.push({ prefix: 'governance', app: governanceRoutes(gov, auth) });
 */
export function governanceRoutes(gov: GovernanceService, auth: AuthDeps): Hono {
  const app = new Hono<AuthEnv>();
  app.use('*', authenticate(auth));
  mountRoutes(app, governanceRouteSpecs(gov), auth);
  // mounted as a plain sub-app: the outer app's env need not know AuthEnv
  return new Hono().route('/', app);
}

export function governanceOpenApiPaths(gov: GovernanceService): Record<string, unknown> {
  return openApiOf('governance', governanceRouteSpecs(gov), 'governance');
}
