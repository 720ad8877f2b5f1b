/**
 * Logged-in journeys: my projects, a project with its review history and the decisions open to
 * me (the actions come from the same policy the API enforces; the four-eyes rules are said, not
 * only enforced), and the reviewers' inbox.
 */
import { useState, type FormEvent } from 'react';
import { ApiError, catalog, get, projectsApi, request, type Application, type Notification, type ProjectDetail, type ProjectStatus, type Review, type Table } from '../api.ts';
import { useI18n, type Messages } from '../i18n.tsx';
import { Async, Badge, DataTable, Empty, ErrorState, SelectField, StatusTimeline, TextField, useAsync, type StepState, type TimelineStep, type Tone } from '../kit/index.ts';
import { href, Link } from '../router.tsx';
import { RequireLogin, useSession } from '../session.tsx';
import { Breadcrumbs, PageTitle } from './page.tsx';
import { distinctConcepts, ReviewSummary } from './wizard.tsx';
import { ApplicationDiff, PersonLabel } from './project-diff.tsx';
import { ProjectActions, ProjectTrail, TeamSection } from './project-actions.tsx';
import { AmendmentPanel } from './project-amendment.tsx';
import { useText } from '../text.ts';

const TONE: Partial<Record<ProjectStatus, Tone>> = { active: 'success', rejected: 'danger', revoked: 'danger', changes_requested: 'warning', suspended: 'warning' };

export function StatusBadge({ status }: { readonly status: ProjectStatus }) {
  const { t } = useI18n();
  return (
    <Badge tone={TONE[status] ?? 'info'}>
      <span data-status={status}>{t.status[status] ?? status}</span>
    </Badge>
  );
}

export function ProjectsPage() {
  const { t } = useI18n();
  const { hasRole } = useSession();
  return (
    <>
      <PageTitle>{t.projectsTitle}</PageTitle>
      <RequireLogin>
        <Notifications />
        <ProjectList />
        {hasRole('applicant') && (
          <p>
            <Link to="/projects/new" className="button button-primary">
              {t.newProject}
            </Link>
          </p>
        )}
      </RequireLogin>
    </>
  );
}

function ProjectList({ filter }: { readonly filter?: (s: ProjectStatus) => boolean }) {
  const { t, formatDate } = useI18n();
  const state = useAsync((s) => projectsApi.list(s), []);
  return (
    <Async state={state}>
      {(all) => {
        const list = filter === undefined ? all : all.filter((p) => filter(p.status));
        return list.length === 0 ? (
          <Empty>{filter === undefined ? t.projectsEmpty : t.inboxEmpty}</Empty>
        ) : (
          <DataTable
            caption={t.projectsTitle}
            captionHidden
            rows={list}
            rowKey={(p) => p.id}
            columns={[
              { key: 'title', header: t.colProject, rowHeader: true, sortValue: (p) => p.title, render: (p) => <Link to={href('projects', p.id)}>{p.title}</Link> },
              { key: 'org', header: t.colOrganisation, render: (p) => p.organisation },
              { key: 'status', header: t.colStatus, sortValue: (p) => p.status, render: (p) => <StatusBadge status={p.status} /> },
              { key: 'version', header: t.colVersion, className: 'num', render: (p) => p.currentVersion },
              { key: 'updated', header: t.colUpdated, sortValue: (p) => p.updatedAt, render: (p) => formatDate(p.updatedAt) },
            ]}
          />
        );
      }}
    </Async>
  );
}

/** Which review step each status waits for, the role that takes it and the route that records it. */
const STEP_OF: Partial<Record<ProjectStatus, { role: string; route: string; decisions: readonly ('approve' | 'return' | 'reject')[] }>> = {
  submitted: { role: 'access_committee', route: 'completeness', decisions: ['approve', 'return'] },
  ethics_review: { role: 'ethics_reviewer', route: 'ethics-opinion', decisions: ['approve', 'return', 'reject'] },
  legal_review: { role: 'legal_reviewer', route: 'legal-review', decisions: ['approve', 'return', 'reject'] },
  committee_review: { role: 'access_committee', route: 'committee-decision', decisions: ['approve', 'return', 'reject'] },
};
const STEP_ACTIONS = ['accept_complete', 'return_incomplete', 'ethics_favourable', 'ethics_return', 'ethics_unfavourable', 'legal_approve', 'legal_return', 'legal_reject', 'committee_approve', 'committee_return', 'committee_reject'];

export function InboxPage() {
  const { t } = useI18n();
  const { hasRole } = useSession();
  const mine = (Object.entries(STEP_OF) as [ProjectStatus, { role: string }][]).filter(([, s]) => hasRole(s.role)).map(([st]) => st);
  return (
    <>
      <PageTitle>{t.inboxTitle}</PageTitle>
      <RequireLogin roles={['access_committee', 'ethics_reviewer', 'legal_reviewer']}>
        <p className="notice">{t.fourEyesGeneral}</p>
        {mine.map((st) => (
          <section key={st} aria-labelledby={`inbox-${st}`}>
            <h2 id={`inbox-${st}`}>{t.status[st]}</h2>
            <ProjectList filter={(s) => s === st} />
          </section>
        ))}
      </RequireLogin>
    </>
  );
}

function timeline(d: ProjectDetail, t: Messages, formatDate: (s: string) => string): TimelineStep[] {
  const order: { key: string; label: string; step: string | null; statuses: readonly ProjectStatus[] }[] = [
    { key: 'submitted', label: t.wfSubmitted, step: 'completeness', statuses: ['submitted'] },
    { key: 'ethics', label: t.wfEthics, step: 'ethics', statuses: ['ethics_review'] },
    { key: 'legal', label: t.wfLegal, step: 'legal', statuses: ['legal_review'] },
    { key: 'committee', label: t.wfCommittee, step: 'committee', statuses: ['committee_review'] },
    { key: 'active', label: t.wfActive, step: null, statuses: ['active', 'suspended', 'expired', 'closed', 'revoked'] },
  ];
  const status = d.project.status;
  const currentIdx = order.findIndex((o) => o.statuses.includes(status));
  return order.map((o, i) => {
    const reviews = d.reviews.filter((r) => r.step === o.step);
    const last = reviews.at(-1);
    let state: StepState = 'upcoming';
    if (last?.decision === 'reject') state = 'refused';
    else if (currentIdx >= 0 && i < currentIdx) state = 'done';
    else if (i === currentIdx) state = o.key === 'active' ? 'done' : 'current';
    else if (last?.decision === 'return' && status === 'changes_requested') state = 'returned';
    else if (last?.decision === 'approve' && (status === 'changes_requested' || status === 'rejected')) state = 'done';
    return {
      key: o.key,
      label: o.label,
      state,
      when: last === undefined ? undefined : formatDate(last.createdAt),
      detail: reviews.length === 0 ? undefined : <ReviewList reviews={reviews} people={d.people} />,
    };
  });
}

function ReviewList({ reviews, people }: { readonly reviews: readonly Review[]; readonly people: ProjectDetail['people'] }) {
  const { t, formatDate } = useI18n();
  const x = useText();
  return (
    <ul className="review-list">
      {reviews.map((r) => (
        <li key={r.id}>
          {t.stepName[r.step] ?? r.step} — <strong>{t.decision[r.decision] ?? r.decision}</strong> {t.by} <PersonLabel id={r.reviewerId} people={people} {...(x.stepRole[r.step] === undefined ? {} : { role: x.stepRole[r.step] })} /> ({formatDate(r.createdAt)}, v{r.applicationVersion})
          {r.reference !== null && r.reference !== '' && <> · {r.reference}</>}
          {r.comment !== '' && <q>{r.comment}</q>}
        </li>
      ))}
    </ul>
  );
}

export function ProjectPage({ id }: { readonly id: string }) {
  const { t } = useI18n();
  return (
    <RequireLogin>
      <ProjectView id={id} key={id} />
      <p className="sr-only-end">
        <Link to="/projects">{t.projectsTitle}</Link>
      </p>
    </RequireLogin>
  );
}

function ProjectView({ id }: { readonly id: string }) {
  const { t, formatDate } = useI18n();
  const x = useText();
  const state = useAsync((s) => projectsApi.get(id, s), [id]);
  return (
    <Async state={state} page>
      {(d) => (
        <>
          <Breadcrumbs items={[{ label: t.projectsTitle, to: '/projects' }, { label: d.project.title }]} />
          <PageTitle>{d.project.title}</PageTitle>
          <p>
            <StatusBadge status={d.project.status} /> · {d.project.organisation} · v{d.project.currentVersion}
          </p>
          <WorkspaceEntry detail={d} />
          <div className="two-col">
            <section aria-labelledby="hist-h">
              <h2 id="hist-h">{t.projectHistory}</h2>
              <StatusTimeline steps={timeline(d, t, formatDate)} label={t.projectHistory} stateLabel={(s) => t.stepState[s] ?? s} />
            </section>
            {/* a plain box: each form inside names itself, and there may be none */}
            <div className="decide-box">
              <DecisionPanel detail={d} onDone={state.reload} />
            </div>
          </div>
          {d.permits.length > 0 && (
            <section aria-labelledby="permits-h">
              <h2 id="permits-h">{t.permitProposeTitle}</h2>
              <DataTable
                caption={t.permitProposeTitle}
                captionHidden
                rows={d.permits}
                rowKey={(p) => String(p.version)}
                columns={[
                  { key: 'v', header: t.colVersion, rowHeader: true, render: (p) => `v${p.version}` },
                  { key: 'state', header: t.colState, render: (p) => <Badge tone={p.state === 'active' ? 'success' : 'neutral'}>{t.permitState[p.state] ?? p.state}</Badge> },
                  { key: 'period', header: t.colPeriod, render: (p) => `${formatDate(p.document.validFrom)} – ${formatDate(p.document.validUntil)}` },
                  { key: 'tools', header: x.permitTools, render: (p) => (p.document.tools ?? []).map((tool) => x.permitTool[tool] ?? tool).join(' · ') },
                  { key: 'cells', header: x.permitMinCellShort, className: 'num', render: (p) => p.document.disclosure?.minimumCellCount ?? '—' },
                  { key: 'sha', header: 'SHA-256', render: (p) => <code title={p.sha256}>{p.sha256.slice(0, 16)}…</code> },
                ]}
              />
            </section>
          )}
          {d.application.version > 1 && <ApplicationDiff id={id} from={d.application.version - 1} to={d.application.version} />}
          <AmendmentPanel detail={d} onDone={state.reload} />
          <ProjectActions detail={d} onDone={state.reload} />
<TeamSection detail={d} onDone={state.reload} />
          <section aria-labelledby="app-h">
            <h2 id="app-h">
              {t.applicationTitle} (v{d.application.version})
            </h2>
            <ScopeSummary app={d.application.content} />
          </section>
          <ProjectTrail id={id} version={`${d.project.status}:${d.project.updatedAt}:${d.reviews.length}:${d.permits.length}`} />
        </>
      )}
    </Async>
  );
}

/**
 * The way into the workspace: for the project's members while its permit is in force; for the
 * access committee, the extract's manifest (metadata only, as the API serves reviewers).
 */
function WorkspaceEntry({ detail }: { readonly detail: ProjectDetail }) {
  const { t } = useI18n();
  const { me, hasRole } = useSession();
  const isMember = detail.project.members.some((m) => m.personId === me?.personId);
  if (!isMember && hasRole('access_committee') && ['active', 'suspended', 'expired', 'revoked'].includes(detail.project.status)) {
    return (
      <div className="notice ws-entry" data-testid="workspace-manifest-entry">
        <p>{t.ws.reviewerHint}</p>
        <p>
          <Link to={href('projects', detail.project.id, 'workspace')} className="button">
            {t.ws.reviewerEntry}
          </Link>
        </p>
      </div>
    );
  }
  if (detail.project.status !== 'active' || !isMember) return null;
  return (
    <div className="notice ws-entry" data-testid="workspace-entry">
      <p>{t.ws.entryHint}</p>
      <p>
        <Link to={href('projects', detail.project.id, 'workspace')} className="button button-primary">
          {t.ws.entry}
        </Link>
      </p>
    </div>
  );
}

function DecisionPanel({ detail, onDone }: { readonly detail: ProjectDetail; readonly onDone: () => void }) {
  const { t } = useI18n();
  const { me, hasRole } = useSession();
  const status = detail.project.status;
  const step = STEP_OF[status];
  const isMember = detail.project.members.some((m) => m.personId === me?.personId);
  const canDecide = detail.actions.some((a) => STEP_ACTIONS.includes(a));
  const canSubmit = detail.actions.includes('submit');
  const proposed = detail.permits.find((p) => p.state === 'proposed');
  // The server's rule, not a copy of it: approve is in `actions` unless this member's approval
  // already counts for the current proposal (permit and application versions).
  const votedOnPermit = status === 'committee_review' && proposed !== undefined && detail.actions.includes('committee_return') && !detail.actions.includes('committee_approve');
  const needsPermit = status === 'committee_review' && proposed === undefined && hasRole('access_committee') && !isMember;
  const reviewerHere = step !== undefined && hasRole(step.role);
  // Returning or refusing never depends on the permit: only approval needs a proposal (and a
  // committee member votes for it once), so a file the permit rule blocks is never stuck.
  const noApproval = votedOnPermit || (status === 'committee_review' && proposed === undefined);
  const decisions = step === undefined ? [] : noApproval ? step.decisions.filter((x) => x !== 'approve') : step.decisions;
  return (
    <>
      {(reviewerHere || status === 'committee_review') && (
        <div className="notice" data-testid="four-eyes">
          <p>
            <strong>{t.fourEyesTitle}</strong>
          </p>
          {isMember && reviewerHere && <p data-testid="four-eyes-member">{t.fourEyesMember}</p>}
          {status === 'committee_review' && detail.approvalsNeeded !== null && <p data-testid="four-eyes-committee">{t.fourEyesCommittee(detail.approvalsNeeded)}</p>}
          {votedOnPermit && <p data-testid="four-eyes-voted">{t.fourEyesAlreadyVoted}</p>}
          {!isMember && !votedOnPermit && status !== 'committee_review' && <p>{t.fourEyesGeneral}</p>}
        </div>
      )}
      {canSubmit && (
        <p className="button-row">
          <Link to={href('projects', detail.project.id, 'edit')} className="button" data-testid="edit">
            {t.wizEditTitle}
          </Link>
          <SubmitButton id={detail.project.id} onDone={onDone} />
        </p>
      )}
      {needsPermit && <ProposePermit id={detail.project.id} justification={detail.application.content.potentialIdentifierJustification ?? null} onDone={onDone} />}
      {canDecide && step !== undefined && decisions.length > 0 && <DecisionForm key={decisions.join()} id={detail.project.id} route={step.route} decisions={decisions} onDone={onDone} />}
    </>
  );
}

function SubmitButton({ id, onDone }: { readonly id: string; readonly onDone: () => void }) {
  const { t } = useI18n();
  const [error, setError] = useState<ApiError | null>(null);
  return (
    <>
      <button
        type="button"
        className="button button-primary"
        onClick={() => {
          projectsApi.take(id, 'submit').then(onDone, (e: unknown) => setError(e instanceof ApiError ? e : null));
        }}
      >
        {t.wizSubmit}
      </button>
      {error !== null && <ErrorState error={error} />}
    </>
  );
}

function DecisionForm({ id, route, decisions, onDone }: { readonly id: string; readonly route: string; readonly decisions: readonly ('approve' | 'return' | 'reject')[]; readonly onDone: () => void }) {
  const { t } = useI18n();
  const [decision, setDecision] = useState<'approve' | 'return' | 'reject'>(decisions[0] ?? 'return');
  const [comment, setComment] = useState('');
  const [reference, setReference] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [commentError, setCommentError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    // Reasons are required to return or refuse: the applicant must know what to change.
    if (decision !== 'approve' && comment.trim() === '') {
      setCommentError(t.errRequired);
      return;
    }
    setCommentError(undefined);
    setBusy(true);
    setError(null);
    try {
      await projectsApi.take(id, route, { decision, comment: comment.trim(), ...(reference.trim() === '' ? {} : { reference: reference.trim() }) });
      onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err : null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="decision-h" data-testid="decision-form">
      <h2 id="decision-h">{t.decisionTitle}</h2>
      <SelectField label={t.fDecision} value={decision} onChange={setDecision} options={decisions.map((d) => ({ value: d, label: t.decision[d] ?? d }))} />
      <TextField label={t.fComment} hint={t.fCommentHint} multiline value={comment} onChange={setComment} error={commentError} required={decision !== 'approve'} name="comment" />
      {route !== 'completeness' && route !== 'committee-decision' && <TextField label={t.fReference} value={reference} onChange={setReference} name="reference" />}
      {error !== null && <ErrorState error={error} />}
      <button type="submit" className="button button-primary" disabled={busy}>
        {t.decide}
      </button>
    </form>
  );
}

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function ProposePermit({ id, justification, onDone }: { readonly id: string; readonly justification: string | null; readonly onDone: () => void }) {
  const { t } = useI18n();
  const [grant, setGrant] = useState(false);
  const now = new Date();
  const [from, setFrom] = useState(isoDay(now));
  const [until, setUntil] = useState(isoDay(new Date(now.getTime() + 3 * 365 * 24 * 3600 * 1000)));
  const [error, setError] = useState<ApiError | null>(null);
  const x = useText();
  const [tools, setTools] = useState<readonly string[]>(['web_sql']);
  const [minCell, setMinCell] = useState('11');
  const [minCellError, setMinCellError] = useState<string | undefined>(undefined);
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setError(null);
    if (!/^\d{1,4}$/.test(minCell.trim()) || Number(minCell) < 5 || Number(minCell) > 1000) {
      setMinCellError(x.permitMinCellError);
      return;
    }
    setMinCellError(undefined);
    try {
      const template = await get<Record<string, unknown>>(`/api/v1/governance/projects/${encodeURIComponent(id)}/permit-template?validFrom=${from}&validUntil=${until}`);
      // the template carries the exception the applicant asked for; the committee grants it explicitly
      const { potentialIdentifierException, ...rest } = template;
      const disclosure = typeof rest['disclosure'] === 'object' && rest['disclosure'] !== null ? rest['disclosure'] : {};
      const terms = { ...rest, tools, disclosure: { ...disclosure, minimumCellCount: Number(minCell) } };
      const doc = grant && potentialIdentifierException !== undefined ? { ...terms, potentialIdentifierException } : terms;
      await request<unknown>('PUT', `/api/v1/governance/projects/${encodeURIComponent(id)}/permit`, doc);
      onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err : null);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="permit-h" data-testid="permit-form">
      <h2 id="permit-h">{t.permitProposeTitle}</h2>
      <div className="two-col">
        <TextField label={t.permitValidFrom} type="date" value={from} onChange={setFrom} name="validFrom" />
        <TextField label={t.permitValidUntil} type="date" value={until} onChange={setUntil} name="validUntil" />
      </div>
      <fieldset className="tools">
        <legend>{x.permitTools}</legend>
        {(['web_sql', 'database_protocol'] as const).map((tool) => (
          <p className="check" key={tool}>
            <input id={`tool-${tool}`} type="checkbox" name="tools" value={tool} checked={tools.includes(tool)} onChange={(ev) => setTools((cur) => (ev.target.checked ? [...cur, tool] : cur.filter((y) => y !== tool)))} />{' '}
            <label htmlFor={`tool-${tool}`}>{x.permitTool[tool]}</label>
          </p>
        ))}
      </fieldset>
      <TextField label={x.permitMinCell} hint={x.permitMinCellHint} value={minCell} onChange={setMinCell} inputMode="numeric" name="minimumCellCount" error={minCellError} required />
      {justification !== null && (
        <div className="notice" data-testid="pi-exception">
          <p>
            <strong>{t.fPiJustification}</strong>
          </p>
          <p>{justification}</p>
          <p>
            <input id="grant-exception" type="checkbox" checked={grant} onChange={(e) => setGrant(e.target.checked)} name="grantException" aria-describedby="grant-exception-hint" />{' '}
            <label htmlFor="grant-exception">{t.permitGrantException}</label>
          </p>
          <p id="grant-exception-hint" className="muted">{t.permitGrantExceptionHint}</p>
        </div>
      )}
      {error !== null && (
        <>
          <ErrorState error={error} />
          <p data-testid="permit-refused-help">
            <strong>{t.permitNoJustificationTitle}</strong> {t.permitNoJustificationHelp}
          </p>
        </>
      )}
      <button type="submit" className="button button-primary">
        {t.permitPropose}
      </button>
    </form>
  );
}

/** The application with the potential identifiers it asks for, looked up in the catalogue. */
function ScopeSummary({ app }: { readonly app: Application }) {
  const state = useAsync(async (s) => {
    const out: string[] = [];
    const tables = new Map<string, Table>();
    for (const ds of app.requestedScope.datasets) {
      for (const tb of ds.tables) {
        const table = await catalog.table(ds.dataset, tb.table, s);
        tables.set(table.name, table);
        for (const c of table.columns) if (c.sensitivity === 'potential_identifier' && tb.columns.includes(c.name)) out.push(`${tb.table}.${c.name}`);
      }
    }
    return { potential: out, concepts: distinctConcepts(out, tables) };
  }, [app]);
  return <ReviewSummary app={app} potential={state.status === 'ok' ? state.data.potential : []} {...(state.status === 'ok' ? { concepts: state.data.concepts } : {})} />;
}

/** In-app notifications of state changes (unread ones), each marked read once seen. */
function Notifications() {
  const { t, formatDate } = useI18n();
  const state = useAsync((s) => get<{ notifications: Notification[] }>('/api/v1/governance/notifications?unread=true', s).then((r) => r.notifications), []);
  // Status changes (kind project.<status>) are said in the portal's language; others as sent.
  const localised = (n: Notification): string => {
    const status = n.kind.startsWith('project.') ? t.status[n.kind.slice('project.'.length)] : undefined;
    const title = /"([^"]*)"/.exec(n.message)?.[1];
    return status === undefined || title === undefined ? n.message : t.projectNowStatus(title, status);
  };
  if (state.status !== 'ok' || state.data.length === 0) return null;
  return (
    <section aria-labelledby="notif-h" className="notice" data-testid="notifications">
      <h2 id="notif-h">{t.notifications}</h2>
      <ul>
        {state.data.slice(0, 10).map((n) => (
          <li key={n.id}>
            {n.projectId === null ? localised(n) : <Link to={href('projects', n.projectId)} onClick={() => void request<unknown>('POST', `/api/v1/governance/notifications/${encodeURIComponent(n.id)}/read`).catch(() => undefined)}>{localised(n)}</Link>}{' '}
            <span className="muted small">{formatDate(n.createdAt)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
