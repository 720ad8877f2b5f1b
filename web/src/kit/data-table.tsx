import { useMemo, useState, type ReactNode } from 'react';

export interface ColumnDef<T> {
  readonly key: string;
  readonly header: ReactNode;
  readonly render: (row: T) => ReactNode;
  /** Present when the column can be sorted by clicking its header. */
  readonly sortValue?: (row: T) => string | number;
  readonly className?: string;
  /** The cell that names the row (rendered as a row header for screen readers). */
  readonly rowHeader?: boolean;
}

interface Props<T> {
  readonly caption: ReactNode;
  readonly columns: readonly ColumnDef<T>[];
  readonly rows: readonly T[];
  readonly rowKey: (row: T) => string;
  readonly empty?: ReactNode;
  readonly captionHidden?: boolean;
  readonly rowClassName?: (row: T) => string | undefined;
}

/** An accessible table: caption, scoped headers, sortable columns with aria-sort. */
export function DataTable<T>({ caption, columns, rows, rowKey, empty, captionHidden, rowClassName }: Props<T>) {
  const [sort, setSort] = useState<{ key: string; dir: 1 | -1 } | null>(null);
  const sorted = useMemo(() => {
    if (sort === null) return rows;
    const col = columns.find((c) => c.key === sort.key);
    const value = col?.sortValue;
    if (value === undefined) return rows;
    return [...rows].sort((a, b) => {
      const x = value(a);
      const y = value(b);
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * sort.dir;
    });
  }, [rows, columns, sort]);
  return (
    <div className="table-wrap">
      <table className="data-table">
        <caption className={captionHidden === true ? 'visually-hidden' : undefined}>{caption}</caption>
        <thead>
          <tr>
            {columns.map((c) => {
              const dir = sort?.key === c.key ? sort.dir : 0;
              return (
                <th key={c.key} scope="col" className={c.className} aria-sort={dir === 0 ? undefined : dir === 1 ? 'ascending' : 'descending'}>
                  {c.sortValue === undefined ? (
                    c.header
                  ) : (
                    <button type="button" className="sort-button" onClick={() => setSort({ key: c.key, dir: dir === 1 ? -1 : 1 })}>
                      {c.header}
                      <span aria-hidden="true" className="sort-indicator">
                        {dir === 1 ? '▲' : dir === -1 ? '▼' : '↕'}
                      </span>
                    </button>
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {sorted.length === 0 && empty !== undefined ? (
            <tr>
              <td colSpan={columns.length} className="table-empty">
                {empty}
              </td>
            </tr>
          ) : (
            sorted.map((r) => (
              <tr key={rowKey(r)} className={rowClassName?.(r)}>
                {columns.map((c) =>
                  c.rowHeader === true ? (
                    <th key={c.key} scope="row" className={c.className}>
                      {c.render(r)}
                    </th>
                  ) : (
                    <td key={c.key} className={c.className}>
                      {c.render(r)}
                    </td>
                  ),
                )}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
