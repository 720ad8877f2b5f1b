/**
 * The complete quarantine report of a delivery, not its first lines: every entry, a page at a
 * time, filtered by rule, table or column (the server pages through the stored report; values
 * arrive reduced to their shape, never the data).
 */
import { useState } from 'react';
import { get } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { Async, DataTable, SelectField, TextField, useAsync } from '../kit/index.ts';
import { useText } from '../text.ts';
import type { QuarantineReportPage } from '../api/generated.ts';

/** Entries per page of the report. */
export const QUARANTINE_PAGE = 50;

export function QuarantineEntries({ dataset, version, rules, tables }: { readonly dataset: string; readonly version: number; readonly rules: readonly string[]; readonly tables: readonly string[] }) {
  const { t, formatNumber } = useI18n();
  const x = useText();
  const [rule, setRule] = useState('');
  const [table, setTable] = useState('');
  const [column, setColumn] = useState('');
  const [offset, setOffset] = useState(0);
  const state = useAsync((s) => {
    const q = new URLSearchParams({ offset: String(offset), limit: String(QUARANTINE_PAGE) });
    if (rule !== '') q.set('rule', rule);
    if (table !== '') q.set('table', table);
    if (column.trim() !== '') q.set('column', column.trim().toUpperCase());
    return get<QuarantineReportPage>(`/api/v1/operator/datasets/${encodeURIComponent(dataset)}/versions/${version}/quarantine?${q.toString()}`, s);
  }, [dataset, version, rule, table, column, offset]);
  const filter = <V,>(set: (v: V) => void) => (v: V): void => {
    set(v);
    setOffset(0);
  };
  return (
    <div className="quarantine-entries" data-testid={`quarantine-${dataset}-${version}`}>
      <div className="three-col">
        <SelectField label={x.qRule} value={rule} onChange={filter(setRule)} options={[{ value: '', label: x.qAll }, ...rules.map((r) => ({ value: r, label: r }))]} />
        <SelectField label={x.qTable} value={table} onChange={filter(setTable)} options={[{ value: '', label: x.qAll }, ...tables.map((r) => ({ value: r, label: r }))]} />
        <TextField label={x.qColumn} value={column} onChange={filter(setColumn)} name="quarantineColumn" />
      </div>
      <Async state={state}>
        {(page) => (
          <>
            <p className="muted" role="status" data-testid="quarantine-range">
              {page.entries.length === 0 ? x.qNone : x.qRange(formatNumber(page.offset + 1), formatNumber(page.offset + page.entries.length))}
            </p>
            <DataTable
              caption={t.colLine}
              captionHidden
              rows={page.entries}
              rowKey={(e) => `${e.file}:${e.line}:${e.column}:${e.rule}`}
              columns={[
                { key: 'file', header: t.colFile, rowHeader: true, render: (e) => <code>{e.file}</code> },
                { key: 'line', header: t.colLine, className: 'num', render: (e) => e.line },
                { key: 'col', header: t.colColumn, render: (e) => <code>{e.column}</code> },
                { key: 'rule', header: t.colRule, render: (e) => <code>{e.rule}</code> },
                { key: 'shape', header: t.colShape, render: (e) => <code>{e.value}</code> },
              ]}
            />
            <p className="button-row">
              <button type="button" className="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - QUARANTINE_PAGE))}>
                {t.previous}
              </button>
              <button type="button" className="button" disabled={page.entries.length < QUARANTINE_PAGE} onClick={() => setOffset(offset + QUARANTINE_PAGE)} data-testid="quarantine-next">
                {t.next}
              </button>
            </p>
          </>
        )}
      </Async>
    </div>
  );
}

/** Versions whose accepted rows fall under this share of the previous version's: worth a look. */
export const SHRINK_WARNING_RATIO = 0.5;

/** For each version, whether it holds far fewer rows than the dataset's previous version. */
export function shrunk<V extends { readonly dataset: string; readonly version: number; readonly rowsAccepted: number }>(versions: readonly V[]): Set<string> {
  const out = new Set<string>();
  for (const v of versions) {
    const prev = versions.filter((o) => o.dataset === v.dataset && o.version < v.version).sort((a, b) => b.version - a.version)[0];
    if (prev !== undefined && prev.rowsAccepted > 0 && v.rowsAccepted < prev.rowsAccepted * SHRINK_WARNING_RATIO) out.add(`${v.dataset}@${v.version}`);
  }
  return out;
}
