/**
 * Amending an active permit in the portal: the principal investigator files an amendment (the
 * wizard, from the application in force); reviewers see what it changes, by field label, and
 * record their decision step by step; the committee proposes the amended permit and votes (two
 * distinct members). The permit in force stays so meanwhile. Actions offered are the server's.
 */
import { useState, type FormEvent } from 'react';
import { ApiError, get, request, type AmendmentDetail, type Application, type ProjectDetail } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { Async, Badge, ConfirmButton, DataTable, ErrorState, SelectField, TextField, useAsync } from '../kit/index.ts';
import { href, Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { useText } from '../text.ts';
import { changeRows, PersonLabel } from './project-diff.tsx';

const OPEN = ['submitted', 'ethics_review', 'legal_review', 'committee_review', 'changes_requested'];
/** The review step of each status: its route and the decision behind each action. */
const STEP: Readonly<Record<string, { readonly route: string; readonly decisions: Readonly<Record<string, 'approve' | 'return' | 'reject'>> }>> = {
  submitted: { route: 'completeness', decisions: { accept_complete: 'approve', return_incomplete: 'return' } },
  ethics_review: { route: 'ethics-opinion', decisions: { ethics_favourable: 'approve', ethics_return: 'return', ethics_unfavourable: 'reject' } },
  legal_review: { route: 'legal-review', decisions: { legal_approve: 'approve', legal_return: 'return', legal_reject: 'reject' } },
  committee_review: { route: 'committee-decision', decisions: { committee_approve: 'approve', committee_return: 'return', committee_reject: 'reject' } },
};

export function AmendmentPanel({ detail, onDone }: { readonly detail: ProjectDetail; readonly onDone: () => void }) {
  const x = useText();
  const { me } = useSession();
  const isPi = detail.project.members.some((m) => m.personId === me?.personId && m.role === 'principal_investigator');
  const open = detail.amendment !== null && detail.amendment !== undefined && OPEN.includes(detail.amendment.status);
  if (!open) {
    if (detail.project.status !== 'active' || !isPi) return null;
    return (
      <section aria-labelledby="amend-h">
        <h2 id="amend-h">{x.amendmentTitle}</h2>
        <p>{x.amendmentIntro}</p>
        <p>
          <Link to={href('projects', detail.project.id, 'amend')} className="button" data-testid="amend">
            {x.amendAction}
          </Link>
        </p>
      </section>
    );
  }
  return <OpenAmendment id={detail.project.id} people={detail.people} onDone={onDone} />;
}

function OpenAmendment({ id, people, onDone }: { readonly id: string; readonly people: ProjectDetail['people']; readonly onDone: () => void }) {
  const { t, formatDate } = useI18n();
  const x = useText();
  const enc = encodeURIComponent;
  const [tick, setTick] = useState(0);
  const state = useAsync(async (s) => {
    const d = await get<AmendmentDetail>(`/api/v1/governance/projects/${enc(id)}/amendment`, s);
    const base = await get<{ content: Application }>(`/api/v1/governance/projects/${enc(id)}/applications/${d.amendment.baseApplicationVersion}`, s);
    return { d, base: base.content };
  }, [id, tick]);
  const done = (): void => {
    setTick((n) => n + 1);
    onDone();
  };
  return (
    <section aria-labelledby="amend-h" data-testid="amendment">
      <h2 id="amend-h">{x.amendmentTitle}</h2>
      <Async state={state}>
        {({ d, base }) => {
          const step = STEP[d.amendment.status];
          const actions: readonly string[] = d.actions;
          const decisions = step === undefined ? [] : Object.entries(step.decisions).filter(([a]) => actions.includes(a)).map(([, dec]) => dec);
          const needsProposal = d.amendment.status === 'committee_review' && d.proposal === null && d.actions.includes('committee_approve');
          // The server's rule (the one its vote enforces): approve is not among this member's
          // actions once their approval counts for this proposal's permit version; an approval of
          // an earlier version (the permit in force) does not count, so it is offered again.
          const votedOnProposal = d.amendment.status === 'committee_review' && d.proposal !== null && d.actions.includes('committee_return') && !d.actions.includes('committee_approve');
          return (
            <>
              <p>
                <Badge tone="info">
                  <span data-amendment-status={d.amendment.status}>{x.amendmentStatus[d.amendment.status] ?? d.amendment.status}</span>
                </Badge>{' '}
                {x.amendmentInForce}
              </p>
              <DataTable
                caption={x.amendmentChanges}
                rows={changeRows(base, d.application.content, d.changes, t, x)}
                rowKey={(c) => c.key}
                empty={t.noChanges}
                columns={[
                  { key: 'field', header: t.colField, rowHeader: true, render: (c) => <span data-diff-field={c.key}>{c.label}</span> },
                  { key: 'before', header: t.colBefore, render: (c) => <del className="diff-del">{c.before}</del> },
                  { key: 'after', header: t.colAfter, render: (c) => <ins className="diff-add">{c.after}</ins> },
                ]}
              />
              {d.reviews.length > 0 && (
                <ul className="review-list">
                  {d.reviews.map((r) => (
                    <li key={r.id}>
                      {t.stepName[r.step] ?? r.step} — <strong>{t.decision[r.decision] ?? r.decision}</strong> {t.by} <PersonLabel id={r.reviewerId} people={people} {...(x.stepRole[r.step] === undefined ? {} : { role: x.stepRole[r.step] })} /> ({formatDate(r.createdAt)})
                      {r.comment !== '' && <q>{r.comment}</q>}
                    </li>
                  ))}
                </ul>
              )}
              {d.approvalsNeeded !== null && d.proposal !== null && <p className="notice" data-testid="amendment-approvals">{t.fourEyesCommittee(d.approvalsNeeded)}</p>}
              {votedOnProposal && <p className="notice" data-testid="amendment-voted">{t.fourEyesAlreadyVoted}</p>}
              {needsProposal && <ProposeAmendedPermit id={id} onDone={done} />}
              {step !== undefined && decisions.length > 0 && !needsProposal && <AmendmentDecision key={`${d.amendment.status}:${decisions.join()}`} id={id} route={step.route} decisions={decisions} onDone={done} />}
              {step !== undefined && decisions.length > 0 && needsProposal && <AmendmentDecision key={`${d.amendment.status}:r`} id={id} route={step.route} decisions={decisions.filter((y) => y !== 'approve')} onDone={done} />}
              {d.actions.includes('withdraw') && (
                <ConfirmButton label={x.amendmentWithdraw} question={x.amendmentWithdrawQuestion} danger testId="amendment-withdraw" onConfirm={() => request<unknown>('POST', `/api/v1/governance/projects/${enc(id)}/amendment/withdraw`, {}).then(done, done)} />
              )}
            </>
          );
        }}
      </Async>
    </section>
  );
}

function AmendmentDecision({ id, route, decisions, onDone }: { readonly id: string; readonly route: string; readonly decisions: readonly ('approve' | 'return' | 'reject')[]; readonly onDone: () => void }) {
  const { t } = useI18n();
  const x = useText();
  const [decision, setDecision] = useState<'approve' | 'return' | 'reject'>(decisions[0] ?? 'return');
  const [comment, setComment] = useState('');
  const [commentError, setCommentError] = useState<string | undefined>(undefined);
  const [error, setError] = useState<ApiError | null>(null);
  if (decisions.length === 0) return null;
  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (decision !== 'approve' && comment.trim() === '') {
      setCommentError(t.errRequired);
      return;
    }
    setCommentError(undefined);
    setError(null);
    try {
      await request<unknown>('POST', `/api/v1/governance/projects/${encodeURIComponent(id)}/amendment/${route}`, { decision, comment: comment.trim() });
      onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err : null);
    }
  };
  return (
    <form onSubmit={(e) => void submit(e)} aria-labelledby="amend-decision-h" data-testid="amendment-decision">
      <h3 id="amend-decision-h">{x.amendmentDecide}</h3>
      <SelectField label={t.fDecision} value={decision} onChange={setDecision} options={decisions.map((dec) => ({ value: dec, label: t.decision[dec] ?? dec }))} />
      <TextField label={t.fComment} hint={t.fCommentHint} multiline value={comment} onChange={setComment} error={commentError} required={decision !== 'approve'} name="amendmentComment" />
      {error !== null && <ErrorState error={error} />}
      <button type="submit" className="button button-primary">
        {t.decide}
      </button>
    </form>
  );
}

function ProposeAmendedPermit({ id, onDone }: { readonly id: string; readonly onDone: () => void }) {
  const x = useText();
  const [error, setError] = useState<ApiError | null>(null);
  const enc = encodeURIComponent;
  return (
    <div data-testid="amendment-propose">
      <p>{x.amendmentProposeHint}</p>
      {error !== null && <ErrorState error={error} />}
      <button
        type="button"
        className="button button-primary"
        onClick={() => {
          setError(null);
          get<Record<string, unknown>>(`/api/v1/governance/projects/${enc(id)}/amendment/permit-template`)
            .then((doc) => request<unknown>('PUT', `/api/v1/governance/projects/${enc(id)}/amendment/permit`, doc))
            .then(onDone, (e: unknown) => setError(e instanceof ApiError ? e : null));
        }}
      >
        {x.amendmentPropose}
      </button>
    </div>
  );
}
