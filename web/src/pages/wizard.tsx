/**
 * The applicant's project wizard: builds the application (and so the permit request) from the
 * catalogue. The SNDS potential-identifier rule is shown live as columns are picked; direct
 * identifiers cannot be picked at all; everything is validated before submission.
 */
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { ApiError, catalog, get, projectsApi, request, type Application, type ApplicationDraft, type Column, type Table } from '../api.ts';
import { useText } from '../text.ts';
import { useI18n } from '../i18n.tsx';
import { Async, ErrorState, SelectField, SensitivityBadge, Stepper, TextField, useAsync } from '../kit/index.ts';
import { href, Link, useRouter } from '../router.tsx';
import { PageTitle } from './page.tsx';
import { DirectoryPicker } from './directory-picker.tsx';

/** The SNDS rule the permit enforces (governance/permit.ts): at most this many without an exception. */
export const MAX_POTENTIAL_IDENTIFIERS = 1;

type Picked = Readonly<Record<string, readonly string[]>>; // table → columns

interface Draft {
  title: string;
  organisation: string;
  purpose: string;
  publicInterest: string;
  legalKind: 'cnil_authorisation' | 'reference_methodology';
  legalReference: string;
  ethicsRef: string;
  funding: string;
  team: { name: string; role: string; organisation: string }[];
  dataset: string;
  picked: Picked;
  yearFrom: string;
  yearTo: string;
  population: string;
  justification: string;
  /** The applicant's case for a potential-identifier exception ('' when none is asked). */
  piJustification: string;
}

const EMPTY: Draft = {
  title: '', organisation: '', purpose: '', publicInterest: '', legalKind: 'reference_methodology', legalReference: 'MR-004', ethicsRef: '', funding: '',
  team: [], dataset: 'snds', picked: {}, yearFrom: '2019', yearTo: '2023', population: '', justification: '', piJustification: '',
};

export type Errors = Partial<Record<keyof Draft | 'columns', string>>;

export function toApplication(d: Draft): Application {
  return {
    title: d.title.trim(),
    organisation: d.organisation.trim(),
    purpose: d.purpose.trim(),
    publicInterest: d.publicInterest.trim(),
    legalBasis: { kind: d.legalKind, reference: d.legalReference.trim() },
    ethicsOpinionReference: d.ethicsRef.trim() === '' ? null : d.ethicsRef.trim(),
    funding: d.funding.trim(),
    team: d.team.filter((m) => m.name.trim() !== ''),
    requestedScope: {
      datasets: [{ dataset: d.dataset, tables: Object.entries(d.picked).filter(([, cols]) => cols.length > 0).map(([table, columns]) => ({ table, columns: [...columns] })) }],
      years: { from: Number(d.yearFrom), to: Number(d.yearTo) },
      population: d.population.trim(),
      justification: d.justification.trim(),
    },
    potentialIdentifierJustification: d.piJustification.trim() === '' ? null : d.piJustification.trim(),
  };
}

/**
 * How many distinct potential identifiers `picked` (`TABLE.COLUMN`) makes, as the server counts
 * them: the copies of one join key (a foreign key of the catalogue) count once.
 */
export function distinctConcepts(picked: readonly string[], tables: ReadonlyMap<string, Table>): number {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r) as string;
    return r;
  };
  for (const tb of tables.values()) {
    for (const fk of tb.foreignKeys) {
      fk.fields.forEach((f, i) => {
        const target = fk.reference.fields[i];
        if (target === undefined) return;
        const a = find(`${tb.name}.${f}`.toUpperCase());
        const b = find(`${fk.reference.resource}.${target}`.toUpperCase());
        if (a !== b) parent.set(a, b);
      });
    }
  }
  return new Set(picked.map((p) => find(p.toUpperCase()))).size;
}

export function PotentialIdentifierRule({ picked, concepts }: { readonly picked: readonly string[]; readonly concepts?: number }) {
  const { t } = useI18n();
  const over = (concepts ?? picked.length) > MAX_POTENTIAL_IDENTIFIERS;
  return (
    <div className={`notice${over ? ' notice-warning' : ''}`} role="status" aria-live="polite" data-testid="pi-rule">
      <p>
        <strong>{t.piRuleTitle}</strong> {t.piRule(MAX_POTENTIAL_IDENTIFIERS)}
      </p>
      <p data-testid="pi-count">
        {t.piCount(picked.length)}
        {picked.length > 0 && <> : {picked.map((p) => <code key={p}>{p} </code>)}</>}
      </p>
      {over && <p data-testid="pi-over">{t.piOver}</p>}
    </div>
  );
}

/** The draft of an application already filed (to edit it after a return for changes). */
export function fromApplication(a: Application): Draft {
  const ds = a.requestedScope.datasets[0];
  return {
    title: a.title, organisation: a.organisation, purpose: a.purpose, publicInterest: a.publicInterest,
    legalKind: a.legalBasis.kind, legalReference: a.legalBasis.reference, ethicsRef: a.ethicsOpinionReference ?? '', funding: a.funding,
    team: a.team.map((m) => ({ ...m })), dataset: ds?.dataset ?? 'snds', picked: Object.fromEntries((ds?.tables ?? []).map((tb) => [tb.table, tb.columns])),
    yearFrom: String(a.requestedScope.years.from), yearTo: String(a.requestedScope.years.to), population: a.requestedScope.population, justification: a.requestedScope.justification,
    piJustification: a.potentialIdentifierJustification ?? '',
  };
}

export function EditProjectPage({ id }: { readonly id: string }) {
  const state = useAsync((s) => projectsApi.get(id, s), [id]);
  return <Async state={state}>{(d) => <WizardPage projectId={id} initial={fromApplication(d.application.content)} />}</Async>;
}

/** An amendment of an active permit: the application in force, changed, filed as an amendment. */
export function AmendProjectPage({ id }: { readonly id: string }) {
  const state = useAsync((s) => projectsApi.get(id, s), [id]);
  return <Async state={state} page>{(d) => <WizardPage projectId={id} amend initial={fromApplication(d.application.content)} />}</Async>;
}

const draftsApi = {
  list: (s?: AbortSignal) => get<{ drafts: ApplicationDraft[] }>('/api/v1/governance/drafts', s).then((r) => r.drafts),
  get: (id: string, s?: AbortSignal) => get<ApplicationDraft>(`/api/v1/governance/drafts/${encodeURIComponent(id)}`, s),
  create: (content: Draft, step: number) => request<ApplicationDraft>('POST', '/api/v1/governance/drafts', { content, step }),
  save: (id: string, content: Draft, step: number) => request<ApplicationDraft>('PUT', `/api/v1/governance/drafts/${encodeURIComponent(id)}`, { content, step }),
  remove: (id: string) => request<unknown>('DELETE', `/api/v1/governance/drafts/${encodeURIComponent(id)}`),
};

/** A draft read back from the server: its known fields over the empty application. */
function draftFrom(content: Record<string, unknown>): Draft {
  const out: Record<string, unknown> = { ...EMPTY };
  for (const k of Object.keys(EMPTY)) if (k in content && typeof content[k] === typeof (EMPTY as unknown as Record<string, unknown>)[k]) out[k] = content[k];
  return out as unknown as Draft;
}

/**
 * A new application: saved on the server as a draft as the applicant goes (its id in the
 * address), so a reload or an expired session resumes where they were; earlier drafts are
 * offered to resume.
 */
export function NewProjectPage() {
  const { query } = useRouter();
  const draftId = query.get('draft');
  // "request these data" from a table's page: the wizard opens that table in the column picker
  const table = query.get('table');
  if (draftId === null) return <WizardPage {...(table === null ? {} : { focusTable: table })} />;
  return <ResumeDraft key={draftId} id={draftId} />;
}

function ResumeDraft({ id }: { readonly id: string }) {
  const state = useAsync((s) => draftsApi.get(id, s), [id]);
  return <Async state={state} page>{(d) => <WizardPage draftId={d.id} initial={draftFrom(d.content)} initialStep={Math.min(d.step, 3)} />}</Async>;
}

function DraftList() {
  const { formatDate } = useI18n();
  const x = useText();
  const state = useAsync((s) => draftsApi.list(s), []);
  if (state.status !== 'ok' || state.data.length === 0) return null;
  return (
    <section className="notice" aria-labelledby="drafts-h" data-testid="drafts">
      <h2 id="drafts-h">{x.draftsTitle}</h2>
      <ul>
        {state.data.map((dr) => (
          <li key={dr.id}>
            <Link to={`/projects/new?draft=${encodeURIComponent(dr.id)}`}>{typeof dr.content['title'] === 'string' && dr.content['title'].trim() !== '' ? dr.content['title'] : x.draftUntitled}</Link>{' '}
            <span className="muted small">{x.draftSavedOn(formatDate(dr.updatedAt))}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function WizardPage({ projectId, initial, amend, draftId: initialDraftId, initialStep, focusTable }: { readonly projectId?: string; readonly initial?: Draft; readonly amend?: boolean; readonly draftId?: string; readonly initialStep?: number; readonly focusTable?: string } = {}) {
  const { t, lang } = useI18n();
  const x = useText();
  const [step, setStep] = useState(initialStep ?? 0);
  const [d, setD] = useState<Draft>(initial ?? EMPTY);
  const { navigate: go } = useRouter();
  // Server-side draft of a new application: saved a moment after each change and at each step.
  const [draftId, setDraftId] = useState<string | undefined>(initialDraftId);
  const [savedAt, setSavedAt] = useState<Date | null>(null);
  const [saveError, setSaveError] = useState<ApiError | null>(null);
  const saving = useRef<Promise<unknown>>(Promise.resolve());
  const firstRender = useRef(true);
  const keepsDraft = projectId === undefined;
  useEffect(() => {
    if (!keepsDraft) return undefined;
    if (firstRender.current) {
      firstRender.current = false;
      return undefined;
    }
    const timer = setTimeout(() => {
      saving.current = saving.current.then(async () => {
        try {
          if (draftId === undefined) {
            const created = await draftsApi.create(d, step);
            setDraftId(created.id);
            // the draft's address: a reload (or a new login after expiry) comes back to it
            // (the browser's history only: the router would remount the wizard it is in)
            window.history.replaceState(null, '', `/projects/new?draft=${encodeURIComponent(created.id)}`);
          } else await draftsApi.save(draftId, d, step);
          setSavedAt(new Date());
          setSaveError(null);
        } catch (e) {
          setSaveError(e instanceof ApiError ? e : null);
        }
      });
    }, 800);
    return () => clearTimeout(timer);
  }, [d, step, keepsDraft]);
  const [errors, setErrors] = useState<Errors>({});
  const [submitError, setSubmitError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const navigate = go;
  const tables = useAsync((s) => catalog.tablesWithKeys(d.dataset, s), [d.dataset]);
  const set = <K extends keyof Draft>(k: K) => (v: Draft[K]) => setD((x) => ({ ...x, [k]: v }));
  const steps = [t.wizProject, t.wizData, t.wizPeriod, t.wizReview];
  const byName = useMemo(() => new Map((tables.status === 'ok' ? tables.data : []).map((tb) => [tb.name, tb])), [tables]);
  const pickedColumns = (pred: (c: Column) => boolean): string[] =>
    Object.entries(d.picked).flatMap(([tb, cols]) => cols.filter((c) => { const col = byName.get(tb)?.columns.find((x) => x.name === c); return col !== undefined && pred(col); }).map((c) => `${tb}.${c}`));
  const potential = pickedColumns((c) => c.sensitivity === 'potential_identifier');
  const concepts = distinctConcepts(potential, byName);
  const over = concepts > MAX_POTENTIAL_IDENTIFIERS;
  const columnCount = Object.values(d.picked).reduce((n, c) => n + c.length, 0);

  const validate = (s: number): Errors => {
    const e: Errors = {};
    const req = (k: keyof Draft, v: string): void => {
      if (v.trim() === '') e[k] = t.errRequired;
    };
    if (s === 0) {
      req('title', d.title); req('organisation', d.organisation); req('purpose', d.purpose); req('publicInterest', d.publicInterest); req('legalReference', d.legalReference);
    }
    if (s === 1 && columnCount === 0) e.columns = t.errNoColumns;
    if (s === 2) {
      const from = Number(d.yearFrom);
      const to = Number(d.yearTo);
      if (!/^\d{4}$/.test(d.yearFrom)) e.yearFrom = t.errYear;
      if (!/^\d{4}$/.test(d.yearTo)) e.yearTo = t.errYear;
      else if (from > to) e.yearTo = t.errYearOrder;
      req('population', d.population);
      req('justification', d.justification);
      if (over && d.justification.trim().length < 40) e.justification = t.errPiJustify;
      // the server's rule: a justification, when given, is at least 40 characters
      if (d.piJustification.trim() !== '' && d.piJustification.trim().length < 40) e.piJustification = t.errPiJustification;
      if (over && d.piJustification.trim() === '') e.piJustification = t.errPiJustification;
    }
    return e;
  };
  const next = (e: FormEvent): void => {
    e.preventDefault();
    const errs = validate(step);
    setErrors(errs);
    if (Object.keys(errs).length > 0) {
      // Move focus to the first invalid control (WCAG 3.3.1).
      setTimeout(() => (document.querySelector('[aria-invalid="true"], .field-error') as HTMLElement | null)?.focus(), 0);
      return;
    }
    if (step < steps.length - 1) setStep(step + 1);
  };
  const submit = async (): Promise<void> => {
    for (const s of [0, 1, 2]) {
      const errs = validate(s);
      if (Object.keys(errs).length > 0) {
        setErrors(errs);
        setStep(s);
        return;
      }
    }
    setBusy(true);
    setSubmitError(null);
    try {
      let id = projectId;
      if (amend === true && id !== undefined) {
        await request<unknown>('POST', `/api/v1/governance/projects/${encodeURIComponent(id)}/amendment`, toApplication(d));
        navigate(href('projects', id));
        return;
      }
      if (id === undefined) id = (await projectsApi.create(toApplication(d))).id;
      else await projectsApi.update(id, toApplication(d));
      await projectsApi.take(id, 'submit');
      // filed: the draft has served (a failure here leaves a draft to delete, nothing worse)
      await saving.current;
      if (draftId !== undefined) await draftsApi.remove(draftId).catch(() => undefined);
      navigate(href('projects', id));
    } catch (e) {
      setSubmitError(e instanceof ApiError ? e : new ApiError({ status: 0, code: 'client', title: 'error', detail: String(e) }));
    } finally {
      setBusy(false);
    }
  };
  /** Adds columns to tables at once (the picker's helpers), never a direct identifier. */
  const pick = (add: Readonly<Record<string, readonly string[]>>): void => {
    setD((cur) => {
      const next: Record<string, readonly string[]> = { ...cur.picked };
      for (const [table, cols] of Object.entries(add)) {
        const allowed = cols.filter((c) => byName.get(table)?.columns.find((col) => col.name === c)?.sensitivity !== 'direct_identifier');
        next[table] = [...new Set([...(next[table] ?? []), ...allowed])];
      }
      return { ...cur, picked: next };
    });
  };
  const toggle = (table: string, column: string, on: boolean): void => {
    setD((x) => {
      const cur = x.picked[table] ?? [];
      return { ...x, picked: { ...x.picked, [table]: on ? [...cur, column] : cur.filter((c) => c !== column) } };
    });
  };

  return (
    <>
      <PageTitle>{amend === true ? x.amendTitle : projectId === undefined ? t.wizTitle : t.wizEditTitle}</PageTitle>
      {keepsDraft && draftId === undefined && <DraftList />}
      <Stepper steps={steps} current={step} />
      {keepsDraft && (
        <p className="muted small" role="status" data-testid="draft-status">
          {saveError !== null ? x.draftNotSaved : savedAt !== null ? x.draftSaved(savedAt.toLocaleTimeString(lang === 'fr' ? 'fr-FR' : 'en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' })) : draftId !== undefined ? x.draftResumed : x.draftWillSave}
        </p>
      )}
      <form onSubmit={next} noValidate aria-labelledby="wiz-step-h">
        <h2 id="wiz-step-h">{steps[step]}</h2>
        {step === 0 && (
          <>
            <TextField label={t.fTitle} required value={d.title} onChange={set('title')} error={errors.title} name="title" />
            <TextField label={t.fOrganisation} required value={d.organisation} onChange={set('organisation')} error={errors.organisation} name="organisation" />
            <TextField label={t.fPurpose} hint={t.fPurposeHint} required multiline value={d.purpose} onChange={set('purpose')} error={errors.purpose} name="purpose" />
            <TextField label={t.fPublicInterest} hint={t.fPublicInterestHint} required multiline value={d.publicInterest} onChange={set('publicInterest')} error={errors.publicInterest} name="publicInterest" />
            <div className="two-col">
              <SelectField label={t.fLegalKind} value={d.legalKind} onChange={set('legalKind')} options={[{ value: 'reference_methodology', label: t.legalMR }, { value: 'cnil_authorisation', label: t.legalCnil }]} />
              <TextField label={t.fLegalReference} hint={t.fLegalReferenceHint} required value={d.legalReference} onChange={set('legalReference')} error={errors.legalReference} name="legalReference" />
            </div>
            <div className="two-col">
              <TextField label={t.fEthicsRef} value={d.ethicsRef} onChange={set('ethicsRef')} name="ethicsRef" />
              <TextField label={t.fFunding} value={d.funding} onChange={set('funding')} name="funding" />
            </div>
            <TeamEditor team={d.team} onChange={set('team')} />
          </>
        )}
        {step === 1 && (
          <>
            <p>{t.wizDataIntro}</p>
            <PotentialIdentifierRule picked={potential} concepts={concepts} />
            {errors.columns !== undefined && (
              <p className="field-error" role="alert" tabIndex={-1}>
                {errors.columns}
              </p>
            )}
            <Async state={tables}>{(list) => <ColumnPicker tables={list} picked={d.picked} onToggle={toggle} onPick={pick} {...(focusTable === undefined ? {} : { focus: focusTable })} />}</Async>
          </>
        )}
        {step === 2 && (
          <>
            <div className="two-col">
              <TextField label={t.fYearFrom} required inputMode="numeric" value={d.yearFrom} onChange={set('yearFrom')} error={errors.yearFrom} name="yearFrom" />
              <TextField label={t.fYearTo} required inputMode="numeric" value={d.yearTo} onChange={set('yearTo')} error={errors.yearTo} name="yearTo" />
            </div>
            <TextField label={t.fPopulation} hint={t.fPopulationHint} required multiline value={d.population} onChange={set('population')} error={errors.population} name="population" />
            <PotentialIdentifierRule picked={potential} concepts={concepts} />
            <TextField label={t.fJustification} hint={t.fJustificationHint} required multiline value={d.justification} onChange={set('justification')} error={errors.justification} name="justification" />
            {(over || d.piJustification !== '') && (
              <TextField label={t.fPiJustification} hint={t.fPiJustificationHint} required={over} multiline value={d.piJustification} onChange={set('piJustification')} error={errors.piJustification} name="potentialIdentifierJustification" />
            )}
          </>
        )}
        {step === 3 && <ReviewSummary app={toApplication(d)} potential={potential} concepts={concepts} />}
        {submitError !== null && <ErrorState error={submitError} />}
        <div className="button-row">
          {step > 0 && (
            <button type="button" className="button" onClick={() => setStep(step - 1)}>
              {t.previous}
            </button>
          )}
          {step < steps.length - 1 ? (
            <button type="submit" className="button button-primary">
              {t.next}
            </button>
          ) : (
            <button type="button" className="button button-primary" disabled={busy} onClick={() => void submit()}>
              {busy ? t.loading : t.wizSubmit}
            </button>
          )}
          <Link to="/projects">{t.cancel}</Link>
        </div>
      </form>
    </>
  );
}

/**
 * The catalogue's tables, each a disclosure of its columns. A table is open when it holds picks
 * or is the one the wizard was opened from, until the person closes or opens it (or ticks in it:
 * unticking its last column does not close it); picks added by a helper open the tables they
 * land in. Only open tables render their columns: the whole SNDS catalogue holds thousands, and
 * rendering them all made every tick re-render them all.
 */
function ColumnPicker({ tables, picked, onToggle, onPick, focus }: { readonly tables: readonly Table[]; readonly picked: Picked; readonly onToggle: (t: string, c: string, on: boolean) => void; readonly onPick: (add: Readonly<Record<string, readonly string[]>>) => void; readonly focus?: string }) {
  const { t } = useI18n();
  const x = useText();
  // what the person chose for a table (open or closed), over the default above
  const [chosen, setChosen] = useState<ReadonlyMap<string, boolean>>(new Map());
  const pickOpening = (add: Readonly<Record<string, readonly string[]>>): void => {
    setChosen((m) => new Map([...m].filter(([name]) => !(name in add))));
    onPick(add);
  };
  // a table the person ticks in stays open, even once its last column is unticked
  const tick = (table: string, column: string, on: boolean): void => {
    setChosen((m) => (m.get(table) === true ? m : new Map(m).set(table, true)));
    onToggle(table, column, on);
  };
  return (
    <div className="picker">
      {tables.map((tb) => {
        const n = picked[tb.name]?.length ?? 0;
        const open = chosen.get(tb.name) ?? (n > 0 || tb.name === focus);
        return (
          <details
            key={tb.name}
            className="picker-table"
            open={open}
            data-table={tb.name}
            onToggle={(e) => {
              const now = e.currentTarget.open;
              if (now !== open) setChosen((m) => new Map(m).set(tb.name, now));
            }}
          >
            <summary>
              <code>{tb.name}</code> — {tb.title} {n > 0 && <span className="badge badge-info">{t.pickedCount(n)}</span>}
            </summary>
            {open && (
              <>
                <p className="button-row picker-helpers">
                  <button type="button" className="button button-small" data-testid={`select-all-${tb.name}`} onClick={() => pickOpening({ [tb.name]: tb.columns.map((c) => c.name) })}>
                    {x.selectAll}
                  </button>
                  {tb.foreignKeys.map((fk) => (
                    <button
                      key={`${fk.reference.resource}:${fk.fields.join()}`}
                      type="button"
                      className="button button-small"
                      data-testid={`join-key-${tb.name}-${fk.reference.resource}`}
                      onClick={() => pickOpening({ [tb.name]: fk.fields, [fk.reference.resource]: fk.reference.fields })}
                    >
                      {x.selectJoinKey(fk.reference.resource, fk.fields.join(', '))}
                    </button>
                  ))}
                </p>
                <fieldset>
                  <legend className="visually-hidden">{tb.name}</legend>
                  {tb.columns.map((c) => {
                    const id = `pick-${tb.name}-${c.name}`;
                    const forbidden = c.sensitivity === 'direct_identifier';
                    return (
                      <div key={c.name} className="picker-col">
                        <input id={id} type="checkbox" disabled={forbidden} checked={picked[tb.name]?.includes(c.name) ?? false} onChange={(e) => tick(tb.name, c.name, e.target.checked)} data-column={`${tb.name}.${c.name}`} />
                        <label htmlFor={id}>
                          <code>{c.name}</code> <SensitivityBadge sensitivity={c.sensitivity} /> <span className="muted">{c.description}</span>
                          {forbidden && <span className="muted"> — {t.directNever}</span>}
                        </label>
                      </div>
                    );
                  })}
                </fieldset>
              </>
            )}
          </details>
        );
      })}
    </div>
  );
}

export function ReviewSummary({ app, potential, concepts }: { readonly app: Application; readonly potential: readonly string[]; readonly concepts?: number }) {
  const { t } = useI18n();
  const s = app.requestedScope;
  return (
    <>
      <dl className="facts">
        <div><dt>{t.fTitle}</dt><dd>{app.title}</dd></div>
        <div><dt>{t.fOrganisation}</dt><dd>{app.organisation}</dd></div>
        <div><dt>{t.fPurpose}</dt><dd>{app.purpose}</dd></div>
        <div><dt>{t.fPublicInterest}</dt><dd>{app.publicInterest}</dd></div>
        <div><dt>{t.fLegalKind}</dt><dd>{app.legalBasis.kind === 'reference_methodology' ? t.legalMR : t.legalCnil} — {app.legalBasis.reference}</dd></div>
        <div><dt>{t.colPeriod}</dt><dd>{s.years.from}–{s.years.to}</dd></div>
        <div><dt>{t.fPopulation}</dt><dd>{s.population}</dd></div>
        <div><dt>{t.fJustification}</dt><dd>{s.justification}</dd></div>
        <div><dt>{t.fPiJustification}</dt><dd data-testid="pi-justification">{app.potentialIdentifierJustification ?? t.piJustificationNone}</dd></div>
      </dl>
      <h3>{t.wizData}</h3>
      <ul data-testid="scope">
        {s.datasets.flatMap((ds) => ds.tables.map((tb) => (
          <li key={`${ds.dataset}.${tb.table}`}>
            <code>{ds.dataset}.{tb.table}</code> : {tb.columns.join(', ')}
          </li>
        )))}
      </ul>
      <PotentialIdentifierRule picked={potential} {...(concepts === undefined ? {} : { concepts })} />
    </>
  );
}

/** The research team named in the application: add and remove people (name, role, organisation). */
function TeamEditor({ team, onChange }: { readonly team: Draft['team']; readonly onChange: (t: Draft['team']) => void }) {
  const x = useText();
  const [name, setName] = useState('');
  const [role, setRole] = useState('');
  const [organisation, setOrganisation] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const add = (): void => {
    if (name.trim() === '') {
      setError(x.teamNameRequired);
      return;
    }
    setError(undefined);
    onChange([...team, { name: name.trim(), role: role.trim() === '' ? x.teamDefaultRole : role.trim(), organisation: organisation.trim() }]);
    setName('');
    setRole('');
    setOrganisation('');
  };
  return (
    <fieldset className="team-editor" data-testid="team-editor">
      <legend>{x.teamTitle}</legend>
      <p className="field-hint">{x.teamHint}</p>
      {team.length > 0 && (
        <ul className="team-list">
          {team.map((m, i) => (
            <li key={`${m.name}-${i}`}>
              {m.name} <span className="muted">({m.role}{m.organisation === '' ? '' : `, ${m.organisation}`})</span>{' '}
              <button type="button" className="button button-small" onClick={() => onChange(team.filter((_, j) => j !== i))} aria-label={x.teamRemove(m.name)}>
                {x.remove}
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="three-col">
        <TextField label={x.teamName} value={name} onChange={setName} name="teamName" error={error} />
        <TextField label={x.teamRole} value={role} onChange={setRole} name="teamRole" placeholder={x.teamDefaultRole} />
        <TextField label={x.teamOrganisation} value={organisation} onChange={setOrganisation} name="teamOrganisation" />
      </div>
      <button type="button" className="button" onClick={add} data-testid="team-add">
        {x.teamAdd}
      </button>
      <DirectoryPicker
        taken={(p) => team.some((m) => m.name === p.displayName && m.organisation === p.organisation)}
        onPick={(p) => onChange([...team, { name: p.displayName, role: x.teamDefaultRole, organisation: p.organisation }])}
      />
    </fieldset>
  );
}
