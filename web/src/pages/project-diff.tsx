/**
 * What changed between two versions of an application, said with the form's field labels and in
 * the page's language: the requested data as tables and columns added or removed (not as JSON
 * paths and array indexes, which shift when one column is added), the other fields by label,
 * coded values (the legal basis) by their name.
 */
import { get, type Application, type DiffEntry } from '../api.ts';
import { useI18n, type Messages } from '../i18n.tsx';
import { Async, DataTable, useAsync } from '../kit/index.ts';
import { useText, type PortalText } from '../text.ts';

export interface ChangeRow {
  readonly key: string;
  readonly label: string;
  readonly before: string;
  readonly after: string;
}

const FIELD_LABELS: Readonly<Record<string, (t: Messages, x: PortalText) => string>> = {
  '/title': (t) => t.fTitle,
  '/organisation': (t) => t.fOrganisation,
  '/purpose': (t) => t.fPurpose,
  '/publicInterest': (t) => t.fPublicInterest,
  '/legalBasis/kind': (t) => t.fLegalKind,
  '/legalBasis/reference': (t) => t.fLegalReference,
  '/ethicsOpinionReference': (t) => t.fEthicsRef,
  '/funding': (t) => t.fFunding,
  '/requestedScope/years/from': (t) => t.fYearFrom,
  '/requestedScope/years/to': (t) => t.fYearTo,
  '/requestedScope/population': (t) => t.fPopulation,
  '/requestedScope/justification': (t) => t.fJustification,
  '/potentialIdentifierJustification': (t) => t.fPiJustification,
};

function show(v: unknown, path: string, t: Messages): string {
  if (v === null || v === undefined || v === '') return '—';
  if (path === '/legalBasis/kind') return v === 'reference_methodology' ? t.legalMR : v === 'cnil_authorisation' ? t.legalCnil : String(v);
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ');
  return JSON.stringify(v);
}

/** Columns requested per `dataset.table` in an application. */
function columnsOf(a: Application): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of a.requestedScope.datasets) for (const tb of d.tables) out.set(`${d.dataset}.${tb.table}`, [...tb.columns]);
  return out;
}

/** The rows of the change table, from both versions and the server's diff of them. */
export function changeRows(before: Application, after: Application, diff: readonly DiffEntry[], t: Messages, x: PortalText): ChangeRow[] {
  const rows: ChangeRow[] = [];
  for (const c of diff) {
    if (c.path.startsWith('/requestedScope/datasets')) continue; // said below, table by table
    const team = /^\/team\/(\d+)(?:\/(name|role|organisation))?$/.exec(c.path);
    const label = FIELD_LABELS[c.path]?.(t, x)
      ?? (team !== null ? x.diffTeamMember(Number(team[1]) + 1, team[2] === undefined ? undefined : x.diffTeamField[team[2]]) : c.path.split('/').filter(Boolean).join(' › '));
    rows.push({ key: c.path, label, before: show(c.before, c.path, t), after: show(c.after, c.path, t) });
  }
  const b = columnsOf(before);
  const a = columnsOf(after);
  for (const name of [...new Set([...b.keys(), ...a.keys()])].sort()) {
    const was = b.get(name);
    const now = a.get(name);
    const table = name.slice(name.indexOf('.') + 1);
    if (was === undefined) rows.push({ key: `table:${name}`, label: x.diffTableAdded(table), before: '—', after: (now ?? []).join(', ') });
    else if (now === undefined) rows.push({ key: `table:${name}`, label: x.diffTableRemoved(table), before: was.join(', '), after: '—' });
    else {
      const added = now.filter((c) => !was.includes(c));
      const removed = was.filter((c) => !now.includes(c));
      if (added.length + removed.length > 0) {
        rows.push({ key: `cols:${name}`, label: x.diffColumns(table), before: removed.length === 0 ? '—' : `− ${removed.join(', ')}`, after: added.length === 0 ? '—' : `+ ${added.join(', ')}` });
      }
    }
  }
  return rows;
}

export function ApplicationDiff({ id, from, to }: { readonly id: string; readonly from: number; readonly to: number }) {
  const { t } = useI18n();
  const x = useText();
  const enc = encodeURIComponent;
  const state = useAsync(async (s) => {
    const [b, a, d] = await Promise.all([
      get<{ content: Application }>(`/api/v1/governance/projects/${enc(id)}/applications/${from}`, s),
      get<{ content: Application }>(`/api/v1/governance/projects/${enc(id)}/applications/${to}`, s),
      get<{ changes: DiffEntry[] }>(`/api/v1/governance/projects/${enc(id)}/diff?from=${from}&to=${to}`, s),
    ]);
    return { b: b.content, a: a.content, changes: d.changes };
  }, [id, from, to]);
  return (
    <section aria-labelledby="diff-h">
      <h2 id="diff-h">{t.changesTitle(from, to)}</h2>
      <Async state={state}>
        {({ b, a, changes }) => (
          <DataTable
            caption={t.changesTitle(from, to)}
            captionHidden
            rows={changeRows(b, a, changes, t, x)}
            rowKey={(c) => c.key}
            empty={t.noChanges}
            columns={[
              { key: 'field', header: t.colField, rowHeader: true, render: (c) => <span data-diff-field={c.key}>{c.label}</span> },
              { key: 'before', header: t.colBefore, render: (c) => <del className="diff-del">{c.before}</del> },
              { key: 'after', header: t.colAfter, render: (c) => <ins className="diff-add">{c.after}</ins> },
            ]}
          />
        )}
      </Async>
    </section>
  );
}

/** A person as the project's page names them: display name, and their organisation when known. */
export function PersonLabel({ id, people, role }: { readonly id: string; readonly people: Readonly<Record<string, { readonly displayName: string; readonly organisation: string }>> | undefined; readonly role?: string }) {
  const x = useText();
  const p = people?.[id];
  return (
    <span className="person" data-person={id}>
      {p === undefined ? x.unknownPerson : p.displayName}
      {role !== undefined && <span className="muted"> ({role})</span>}
    </span>
  );
}
