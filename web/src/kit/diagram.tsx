/**
 * The links between tables as an SVG diagram, without a graph library: tables are placed in
 * columns by depth (a table sits right of every table it refers to), ordered within a column by
 * the mean position of their parents to limit crossings. Each box is a keyboard-focusable link;
 * the same links are also given as a list (the text alternative).
 */
import { useMemo } from 'react';
import { useRouter } from '../router.tsx';

export interface DiagramTable {
  readonly name: string;
  readonly title?: string;
  /** Names of the tables this one refers to, with the referencing fields. */
  readonly refs: readonly { readonly table: string; readonly fields: readonly string[] }[];
}

const BOX_W = 150;
const BOX_H = 44;
const GAP_X = 90;
const GAP_Y = 22;
const PAD = 16;

export interface Layout {
  readonly width: number;
  readonly height: number;
  readonly boxes: ReadonlyMap<string, { x: number; y: number }>;
}

/** Pure layout, exported for tests: depth columns, barycentre order. */
export function layoutTables(tables: readonly DiagramTable[]): Layout {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (name: string): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return 0; // a cycle: cut it here
    visiting.add(name);
    const t = byName.get(name);
    const parents = (t?.refs ?? []).map((r) => r.table).filter((p) => p !== name && byName.has(p));
    const d = parents.length === 0 ? 0 : 1 + Math.max(...parents.map(depthOf));
    visiting.delete(name);
    depth.set(name, d);
    return d;
  };
  for (const t of tables) depthOf(t.name);
  const columns: string[][] = [];
  for (const t of tables) {
    const d = depth.get(t.name) ?? 0;
    (columns[d] ??= []).push(t.name);
  }
  const row = new Map<string, number>();
  columns.forEach((col, ci) => {
    if (ci === 0) col.sort((a, b) => a.localeCompare(b));
    else {
      const score = (n: string): number => {
        const ps = (byName.get(n)?.refs ?? []).map((r) => row.get(r.table)).filter((v): v is number => v !== undefined);
        return ps.length === 0 ? Number.MAX_SAFE_INTEGER : ps.reduce((a, b) => a + b, 0) / ps.length;
      };
      col.sort((a, b) => score(a) - score(b) || a.localeCompare(b));
    }
    col.forEach((n, i) => row.set(n, i));
  });
  const tallest = Math.max(1, ...columns.map((c) => c?.length ?? 0));
  const height = PAD * 2 + tallest * BOX_H + (tallest - 1) * GAP_Y;
  const boxes = new Map<string, { x: number; y: number }>();
  columns.forEach((col, ci) => {
    const colHeight = col.length * BOX_H + (col.length - 1) * GAP_Y;
    const top = (height - colHeight) / 2;
    col.forEach((n, i) => boxes.set(n, { x: PAD + ci * (BOX_W + GAP_X), y: top + i * (BOX_H + GAP_Y) }));
  });
  const width = PAD * 2 + columns.length * BOX_W + Math.max(0, columns.length - 1) * GAP_X;
  return { width, height, boxes };
}

interface Props {
  readonly tables: readonly DiagramTable[];
  readonly linkFor: (table: string) => string;
  readonly highlight?: string;
  readonly label: string;
  readonly referencesLabel: string;
  readonly listTitle: string;
  readonly emptyLabel: string;
}

/** Characters of a table's label that fit in its box. */
const TITLE_FIT = 24;

/** A table's label shortened to its box at the last whole word, so that what shows is a run of its words. */
export function shortTitle(title: string): string {
  if (title.length <= TITLE_FIT) return title;
  const cut = title.slice(0, TITLE_FIT - 1);
  const space = cut.lastIndexOf(' ');
  let kept = space > 0 ? cut.slice(0, space) : cut;
  // a parenthesis the cut leaves open goes whole: "Prestations (table…" reads as a broken aside
  const open = kept.lastIndexOf('(');
  if (open > 0 && !kept.slice(open).includes(')')) kept = kept.slice(0, open);
  return `${kept.replace(/[\s,;:–-]+$/, '')}…`;
}

export function TableDiagram({ tables, linkFor, highlight, label, referencesLabel, listTitle, emptyLabel }: Props) {
  const { navigate } = useRouter();
  const layout = useMemo(() => layoutTables(tables), [tables]);
  const edges = tables.flatMap((t) => t.refs.filter((r) => r.table !== t.name && layout.boxes.has(r.table)).map((r) => ({ from: t.name, to: r.table, fields: r.fields })));
  return (
    <figure className="diagram">
      <div className="diagram-scroll">
        <svg viewBox={`0 0 ${layout.width} ${layout.height}`} width={layout.width} height={layout.height} role="group" aria-label={label} className="diagram-svg">
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" className="diagram-arrowhead" />
            </marker>
          </defs>
          {edges.map((e) => {
            const a = layout.boxes.get(e.from);
            const b = layout.boxes.get(e.to);
            if (a === undefined || b === undefined) return null;
            const x1 = a.x;
            const y1 = a.y + BOX_H / 2;
            const x2 = b.x + BOX_W;
            const y2 = b.y + BOX_H / 2;
            const mx = (x1 + x2) / 2;
            const on = highlight !== undefined && (e.from === highlight || e.to === highlight);
            // the join columns, said on the link (the first one and how many more)
            const joinLabel = e.fields.length <= 1 ? (e.fields[0] ?? '') : `${e.fields[0] ?? ''} +${e.fields.length - 1}`;
            return (
              <g key={`${e.from}->${e.to}:${e.fields.join(',')}`}>
                <path d={`M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2 + 2} ${y2}`} className={`diagram-edge${on ? ' diagram-edge-on' : ''}`} markerEnd="url(#arrow)" data-from={e.from} data-to={e.to}>
                  <title>{`${e.from} (${e.fields.join(', ')}) → ${e.to}`}</title>
                </path>
                <text x={mx} y={(y1 + y2) / 2 - 4} textAnchor="middle" className="diagram-edge-label" data-join={e.fields.join(',')} aria-hidden="true">
                  {joinLabel}
                </text>
              </g>
            );
          })}
          {tables.map((t) => {
            const p = layout.boxes.get(t.name);
            if (p === undefined) return null;
            const to = linkFor(t.name);
            return (
              <a
                key={t.name}
                href={to}
                className={`diagram-node${t.name === highlight ? ' diagram-node-current' : ''}`}
                aria-label={t.title === undefined || t.title === '' ? t.name : `${t.name}: ${t.title}`}
                onClick={(ev) => {
                  if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
                  ev.preventDefault();
                  navigate(to);
                }}
                data-table={t.name}
              >
                <rect x={p.x} y={p.y} width={BOX_W} height={BOX_H} rx="6" />
                <text x={p.x + BOX_W / 2} y={p.y + (t.title === undefined || t.title === '' ? BOX_H / 2 : BOX_H / 2 - 7)} dominantBaseline="central" textAnchor="middle">
                  {t.name}
                </text>
                {t.title !== undefined && t.title !== '' && (
                  // the table's label under its name, shortened to the box at a word boundary (the full
                  // one is the link's name); the space between the two texts keeps their words apart, so
                  // the visible words are a run of the link's name (WCAG 2.5.3, label in name)
                  <>
                    {' '}
                    <text x={p.x + BOX_W / 2} y={p.y + BOX_H / 2 + 9} dominantBaseline="central" textAnchor="middle" className="diagram-title" aria-hidden="true">
                      {shortTitle(t.title)}
                    </text>
                  </>
                )}
              </a>
            );
          })}
        </svg>
      </div>
      <figcaption>
        <details>
          <summary>{listTitle}</summary>
          {edges.length === 0 ? (
            <p>{emptyLabel}</p>
          ) : (
            <ul className="diagram-list">
              {edges.map((e) => (
                <li key={`${e.from}->${e.to}:${e.fields.join(',')}`}>
                  <code>{e.from}</code> ({e.fields.join(', ')}) {referencesLabel} <code>{e.to}</code>
                </li>
              ))}
            </ul>
          )}
        </details>
      </figcaption>
    </figure>
  );
}
