/**
 * A quick chart of a result (Chart.js): one category or x column, one numeric column, bars or a
 * line. The canvas has a text alternative (its caption says what is drawn, from how many rows),
 * and the rows stay available in the result grid beside it.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { useI18n } from '../i18n.tsx';
import { SelectField } from '../kit/index.ts';
import { isNumericType, MAX_PAGE, type RowsPage, type WorkspaceApi } from '../workspace-api.ts';
import { ApiError } from '../api.ts';
import { ErrorState, Loading } from '../kit/index.ts';

Chart.register(BarController, LineController, BarElement, LineElement, PointElement, CategoryScale, LinearScale, Tooltip, Legend);

type Kind = 'bar' | 'line';

export function QuickChart({ api, queryId, columns, rowCount }: { readonly api: WorkspaceApi; readonly queryId: string; readonly columns: readonly { name: string; type: string }[]; readonly rowCount: number }) {
  const { t, formatNumber } = useI18n();
  const numeric = columns.filter((c) => isNumericType(c.type));
  const firstOther = columns.find((c) => !isNumericType(c.type)) ?? columns[0];
  const [x, setX] = useState(firstOther?.name ?? '');
  const [y, setY] = useState(numeric.find((c) => c.name !== firstOther?.name)?.name ?? numeric[0]?.name ?? '');
  const [kind, setKind] = useState<Kind>('bar');
  const [page, setPage] = useState<RowsPage | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const captionId = useId();

  // One page of up to MAX_PAGE rows: a quick look, not a report (the caption says how many).
  useEffect(() => {
    const ac = new AbortController();
    setPage(null);
    setError(null);
    api.rows(queryId, 0, MAX_PAGE, ac.signal).then(
      (p) => setPage(p),
      (e: unknown) => {
        if (!ac.signal.aborted) setError(e instanceof ApiError ? e : new ApiError({ status: 0, code: 'client', title: 'error', detail: String(e) }));
      },
    );
    return () => ac.abort();
  }, [api, queryId]);

  const data = useMemo(() => {
    if (page === null) return null;
    const xi = page.columns.findIndex((c) => c.name === x);
    const yi = page.columns.findIndex((c) => c.name === y);
    if (xi < 0 || yi < 0) return null;
    const labels = page.rows.map((r) => String(r[xi] ?? '∅'));
    const values = page.rows.map((r) => {
      const v = r[yi];
      const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
      return Number.isFinite(n) ? n : null;
    });
    return { labels, values };
  }, [page, x, y]);

  useEffect(() => {
    if (canvas.current === null || data === null) return undefined;
    const chart = new Chart(canvas.current, {
      type: kind,
      data: { labels: data.labels, datasets: [{ label: y, data: data.values, backgroundColor: '#2b6cb0', borderColor: '#1a4d8f', borderWidth: 1 }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } }, scales: { x: { title: { display: true, text: x } }, y: { title: { display: true, text: y } } } },
    });
    return () => chart.destroy();
  }, [data, kind, x, y]);

  if (numeric.length === 0) return <p className="muted" data-testid="chart-none">{t.ws.chartNoNumeric}</p>;
  const caption = t.ws.chartCaption(kind === 'bar' ? t.ws.chartBar : t.ws.chartLine, y, x, page === null ? 0 : page.rows.length, rowCount);
  return (
    <div className="ws-chart" data-testid="chart">
      <div className="ws-chart-controls">
        <SelectField label={t.ws.chartX} value={x} onChange={setX} options={columns.map((c) => ({ value: c.name, label: `${c.name} (${c.type})` }))} />
        <SelectField label={t.ws.chartY} value={y} onChange={setY} options={numeric.map((c) => ({ value: c.name, label: `${c.name} (${c.type})` }))} />
        <SelectField<Kind> label={t.ws.chartKind} value={kind} onChange={setKind} options={[{ value: 'bar', label: t.ws.chartBar }, { value: 'line', label: t.ws.chartLine }]} />
      </div>
      {error !== null && <ErrorState error={error} />}
      {page === null && error === null && <Loading />}
      <figure className="ws-chart-figure">
        <div className="ws-chart-canvas">
          <canvas ref={canvas} role="img" aria-labelledby={captionId} data-testid="chart-canvas" />
        </div>
        <figcaption id={captionId} data-testid="chart-caption">
          {caption}
          {page !== null && page.rows.length < rowCount && <> {t.ws.chartFirstRows(formatNumber(page.rows.length))}</>}
        </figcaption>
      </figure>
    </div>
  );
}
