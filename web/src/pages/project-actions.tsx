/**
 * The project actions that are not review votes: withdraw and close (principal investigator),
 * suspend, reinstate, revoke and expire now (access committee), each asked twice with its reason, and the
 * project's audit trail, where each of them then shows with who acted and when. The actions
 * offered are the server's `actions` for this person (the same policy the API enforces).
 */
import { useState, type FormEvent } from 'react';
import { ApiError, get, projectsApi, request, type ProjectDetail, type ProjectTrail } from '../api.ts';
import { useSession } from '../session.tsx';
import { useI18n } from '../i18n.tsx';
import { Async, Badge, ConfirmButton, DataTable, ErrorState, TextField, useAsync } from '../kit/index.ts';
import { useText } from '../text.ts';
import { DirectoryPicker } from './directory-picker.tsx';
import { PersonLabel } from './project-diff.tsx';

/** Actions of this panel, the route that takes each, and whether a reason is required. */
const PANEL_ACTIONS = [
  { action: 'withdraw', route: 'withdraw', reason: false, danger: true },
  { action: 'suspend', route: 'suspend', reason: true, danger: true },
  { action: 'reinstate', route: 'reinstate', reason: true, danger: false },
  { action: 'revoke', route: 'revoke', reason: true, danger: true },
  { action: 'expire', route: 'expire', reason: true, danger: true },
  { action: 'close', route: 'close', reason: false, danger: false },
] as const;

export function ProjectActions({ detail, onDone }: { readonly detail: ProjectDetail; readonly onDone: () => void }) {
  const x = useText();
  const offered = PANEL_ACTIONS.filter((a) => detail.actions.includes(a.action));
  if (offered.length === 0) return null;
  return (
    <section aria-labelledby="actions-h" data-testid="project-actions">
      <h2 id="actions-h">{x.actionsTitle}</h2>
      <div className="action-list">
        {offered.map((a) => (
          <ActionButton key={a.action} id={detail.project.id} title={detail.project.title} spec={a} onDone={onDone} />
        ))}
      </div>
    </section>
  );
}

function ActionButton({ id, title, spec, onDone }: { readonly id: string; readonly title: string; readonly spec: (typeof PANEL_ACTIONS)[number]; readonly onDone: () => void }) {
  const x = useText();
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState('');
  const [reasonError, setReasonError] = useState<string | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const said = x.projectAction[spec.action];
  if (said === undefined) return null;
  if (!asking) {
    return (
      <button type="button" className={`button${spec.danger ? ' button-danger' : ''}`} data-testid={`action-${spec.action}`} onClick={() => setAsking(true)}>
        {said.label}
      </button>
    );
  }
  const confirm = async (): Promise<void> => {
    if (spec.reason && reason.trim() === '') {
      setReasonError(x.reasonRequired);
      return;
    }
    setReasonError(undefined);
    setBusy(true);
    setError(null);
    try {
      await projectsApi.take(id, spec.route, reason.trim() === '' ? {} : { comment: reason.trim() });
      setAsking(false);
      onDone();
    } catch (e) {
      setError(e instanceof ApiError ? e : null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="confirm" role="group" aria-label={said.label} data-testid={`action-${spec.action}-confirm`}>
      <p>{said.question(title)}</p>
      <TextField label={spec.reason ? x.reasonLabel : x.reasonOptional} multiline value={reason} onChange={setReason} name="reason" required={spec.reason} error={reasonError} />
      {error !== null && <ErrorState error={error} />}
      <div className="button-row">
        <button type="button" className={`button ${spec.danger ? 'button-danger' : 'button-primary'}`} disabled={busy} onClick={() => void confirm()}>
          {x.confirm}
        </button>
        <button type="button" className="button" onClick={() => setAsking(false)}>
          {x.cancel}
        </button>
      </div>
    </div>
  );
}

type TrailEvent = ProjectTrail['events'][number];

/** The project's audit trail (newest first), read from the log; `version` reloads it after an act. */
export function ProjectTrail({ id, version }: { readonly id: string; readonly version: string }) {
  const { lang } = useI18n();
  const x = useText();
  const state = useAsync((s) => get<ProjectTrail>(`/api/v1/governance/projects/${encodeURIComponent(id)}/trail`, s), [id, version]);
  const when = new Intl.DateTimeFormat(lang === 'fr' ? 'fr-FR' : 'en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
  return (
    <section aria-labelledby="trail-h">
      <h2 id="trail-h">{x.trailTitle}</h2>
      <p className="muted">{x.trailIntro}</p>
      <Async state={state}>
        {({ events, people }) => (
          <DataTable
            caption={x.trailTitle}
            captionHidden
            rows={[...events].reverse()}
            rowKey={(e) => String(e.seq)}
            empty={x.trailEmpty}
            columns={[
              { key: 'when', header: x.colWhen, render: (e) => <time dateTime={e.time}>{when.format(new Date(e.time))}</time> },
              { key: 'what', header: x.colWhat, rowHeader: true, render: (e) => <span data-action={e.action}>{x.trailAction(e.action)}</span> },
              { key: 'who', header: x.colWho, render: (e) => (e.actorKind === 'service' ? x.trailService : <PersonLabel id={e.actorId} people={people} />) },
              { key: 'outcome', header: x.colOutcome, render: (e) => <Badge tone={e.outcome === 'success' ? 'success' : 'danger'}>{x.outcome[e.outcome] ?? e.outcome}</Badge> },
              { key: 'seq', header: x.colSeq, className: 'num', render: (e) => e.seq },
            ]}
          />
        )}
      </Async>
    </section>
  );
}

const ENDED = ['withdrawn', 'rejected', 'closed', 'revoked', 'expired'];

/**
 * The project's team by name and role; its principal investigator adds colleagues by e-mail
 * and removes members (asked twice). Whether the team may change now is the server's to say.
 */
export function TeamSection({ detail, onDone }: { readonly detail: ProjectDetail; readonly onDone: () => void }) {
  const x = useText();
  const { me } = useSession();
  const isPi = detail.project.members.some((m) => m.personId === me?.personId && m.role === 'principal_investigator');
  const open = isPi && !ENDED.includes(detail.project.status);
  const [email, setEmail] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [emailError, setEmailError] = useState<string | undefined>(undefined);
  const enc = encodeURIComponent;
  const add = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) {
      setEmailError(x.teamEmailError);
      return;
    }
    setEmailError(undefined);
    setError(null);
    try {
      await request<unknown>('POST', `/api/v1/governance/projects/${enc(detail.project.id)}/members`, { email: email.trim(), role: 'member' });
      setEmail('');
      onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err : null);
    }
  };
  return (
    <section aria-labelledby="team-h">
      <h2 id="team-h">{x.teamTitle}</h2>
      <ul className="team-list" data-testid="team">
        {detail.project.members.map((m) => (
          <li key={m.personId}>
            <PersonLabel id={m.personId} people={detail.people} role={x.memberRole[m.role] ?? m.role} />{' '}
            {open && m.role !== 'principal_investigator' && (
              <ConfirmButton
                label={x.remove}
                danger
                testId={`remove-member-${m.personId}`}
                question={x.teamRemoveQuestion(detail.people?.[m.personId]?.displayName ?? x.unknownPerson)}
                onConfirm={() => request<unknown>('DELETE', `/api/v1/governance/projects/${enc(detail.project.id)}/members/${enc(m.personId)}`).then(onDone, (err: unknown) => setError(err instanceof ApiError ? err : null))}
              />
            )}
          </li>
        ))}
      </ul>
      {open && (
        <form onSubmit={(e) => void add(e)} aria-labelledby="team-add-h" data-testid="team-add-form">
          <h3 id="team-add-h">{x.teamAddByEmail}</h3>
          <TextField label={x.teamEmail} hint={x.teamEmailHint} type="email" value={email} onChange={setEmail} name="memberEmail" error={emailError} />
          {error !== null && <ErrorState error={error} />}
          <button type="submit" className="button">
            {x.teamAdd}
          </button>
        </form>
      )}
      {open && (
        <DirectoryPicker
          taken={(p) => detail.project.members.some((m) => m.personId === p.id)}
          onPick={(p) => {
            setError(null);
            request<unknown>('POST', `/api/v1/governance/projects/${enc(detail.project.id)}/members`, { personId: p.id, role: 'member' }).then(onDone, (err: unknown) => setError(err instanceof ApiError ? err : null));
          }}
        />
      )}
    </section>
  );
}
