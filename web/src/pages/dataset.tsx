import { useEffect, useMemo, useState } from 'react';
import { catalog, SENSITIVITIES, type Column, type Sensitivity, type Table } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { Async, Badge, DataTable, Empty, SelectField, SensitivityBadge, TableDiagram, TextField, useAsync, type ColumnDef, type DiagramTable } from '../kit/index.ts';
import { href, Link } from '../router.tsx';
import { useText } from '../text.ts';
import { Breadcrumbs, PageTitle } from './page.tsx';

function toDiagram(tables: readonly Table[]): DiagramTable[] {
  return tables.map((t) => ({ name: t.name, title: t.title, refs: t.foreignKeys.map((fk) => ({ table: fk.reference.resource, fields: fk.fields })) }));
}

export function DatasetPage({ dataset }: { readonly dataset: string }) {
  const { t, formatDate } = useI18n();
  const x = useText();
  const state = useAsync(async (s) => {
    const [ds, tables] = await Promise.all([catalog.dataset(dataset, s), catalog.tablesWithKeys(dataset, s)]);
    return { ds, tables };
  }, [dataset]);
  return (
    <Async state={state} page>
      {({ ds, tables }) => (
        <>
          <Breadcrumbs items={[{ label: t.navCatalogue, to: '/' }, { label: ds.name }]} />
          <PageTitle>{ds.title === '' ? ds.name : ds.title}</PageTitle>
          {ds.description !== '' && <p className="lead">{ds.description}</p>}
          <p>
            <Link to="/projects/new" className="button" data-testid="request-data">
              {x.requestData}
            </Link>
          </p>
          <p className="muted">
            <code>{ds.name}</code> · {t.tablesCount(ds.tableCount)} · {t.columnsCount(ds.columnCount)} · {t.importedAt} {formatDate(ds.importedAt)}
            {/^https?:\/\//.test(ds.source) && (
              <>
                {' '}
                · {t.source} : {ds.source}
              </>
            )}
          </p>
          <section aria-labelledby="tables-h">
            <h2 id="tables-h">{t.tablesTitle}</h2>
            <DataTable
              caption={t.tablesTitle}
              captionHidden
              rows={ds.tables}
              rowKey={(r) => r.name}
              empty={<Empty>{t.tablesCount(0)}</Empty>}
              columns={[
                { key: 'name', header: t.colTable, rowHeader: true, sortValue: (r) => r.name, render: (r) => <Link to={href('datasets', ds.name, 'tables', r.name)}>{r.name}</Link> },
                { key: 'title', header: t.colTitle, sortValue: (r) => r.title, render: (r) => r.title },
                { key: 'product', header: t.colProduct, sortValue: (r) => r.product, render: (r) => r.product },
                { key: 'cols', header: t.colColumns, className: 'num', sortValue: (r) => r.columnCount, render: (r) => r.columnCount },
              ]}
            />
          </section>
          <section aria-labelledby="diagram-h">
            <h2 id="diagram-h">{t.diagramTitle}</h2>
            <p className="muted">{t.diagramIntro}</p>
            <TableDiagram tables={toDiagram(tables)} linkFor={(n) => href('datasets', ds.name, 'tables', n)} label={t.diagramTitle} referencesLabel={t.linksTo} listTitle={t.diagramListTitle} emptyLabel={t.diagramNone} />
          </section>
        </>
      )}
    </Async>
  );
}

export function SensitivityLegend() {
  const { t } = useI18n();
  return (
    <details className="legend">
      <summary>{t.sensitivityLegend}</summary>
      <dl>
        {SENSITIVITIES.map((s) => (
          <div key={s}>
            <dt>
              <SensitivityBadge sensitivity={s} />
            </dt>
            <dd>{t[`sensitivityHelp_${s}`]}</dd>
          </div>
        ))}
      </dl>
    </details>
  );
}

export function TablePage({ dataset, table }: { readonly dataset: string; readonly table: string }) {
  const { t } = useI18n();
  const state = useAsync(async (s) => {
    const tables = await catalog.tablesWithKeys(dataset, s);
    const current = tables.find((x) => x.name.toLowerCase() === table.toLowerCase()) ?? (await catalog.table(dataset, table, s));
    return { current, tables };
  }, [dataset, table]);
  return <Async state={state} page>{({ current, tables }) => <TableView table={current} all={tables} />}</Async>;
}

function TableView({ table, all }: { readonly table: Table; readonly all: readonly Table[] }) {
  const { t } = useI18n();
  const x = useText();
  const [filter, setFilter] = useState('');
  const [level, setLevel] = useState<Sensitivity | 'all'>('all');
  const pk = new Set(table.primaryKey);
  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return table.columns.filter((c) => (level === 'all' || c.sensitivity === level) && (f === '' || c.name.toLowerCase().includes(f) || c.description.toLowerCase().includes(f)));
  }, [table, filter, level]);
  // A search hit on a column (#col-NAME): scrolled to and highlighted once the table is drawn.
  const [hit, setHit] = useState<string | null>(null);
  useEffect(() => {
    const hash = window.location.hash;
    if (!hash.startsWith('#col-')) return;
    let name: string;
    try {
      name = decodeURIComponent(hash.slice('#col-'.length));
    } catch {
      return;
    }
    if (!table.columns.some((c) => c.name === name)) return;
    setHit(name);
    requestAnimationFrame(() => document.getElementById(`col-${name}`)?.scrollIntoView({ block: 'center' }));
  }, [table]);
  const neighbours = useMemo(() => {
    const linked = new Set<string>([table.name]);
    for (const fk of table.foreignKeys) linked.add(fk.reference.resource);
    for (const o of all) if (o.foreignKeys.some((fk) => fk.reference.resource === table.name)) linked.add(o.name);
    // Only the links that touch this table; the others belong to the dataset's diagram.
    return toDiagram(all.filter((o) => linked.has(o.name))).map((d) => ({ ...d, refs: d.refs.filter((r) => d.name === table.name || r.table === table.name) }));
  }, [table, all]);
  const columns: ColumnDef<Column>[] = [
    {
      key: 'name',
      header: t.colName,
      rowHeader: true,
      sortValue: (c) => c.position,
      render: (c) => (
        <span id={`col-${c.name}`} className="col-name">
          <code>{c.name}</code>
          {pk.has(c.name) && (
            <>
              {' '}
              <Badge tone="info" title={t.primaryKey}>
                {t.primaryKeyShort}
              </Badge>
            </>
          )}
        </span>
      ),
    },
    { key: 'type', header: t.colType, sortValue: (c) => c.type, render: (c) => <code className="type">{c.type}{c.length === null ? '' : `(${c.length})`}</code> },
    { key: 'sensitivity', header: t.colSensitivity, sortValue: (c) => SENSITIVITIES.indexOf(c.sensitivity), render: (c) => <SensitivityBadge sensitivity={c.sensitivity} /> },
    { key: 'description', header: t.colDescription, render: (c) => c.description },
    { key: 'nomenclature', header: t.colNomenclature, render: (c) => (c.nomenclature === null ? '' : <Link to={href('nomenclatures', c.nomenclature)}>{c.nomenclature}</Link>) },
  ];
  return (
    <>
      <Breadcrumbs items={[{ label: t.navCatalogue, to: '/' }, { label: table.dataset, to: href('datasets', table.dataset) }, { label: table.name }]} />
      <PageTitle>
        <code>{table.name}</code> {table.title !== '' && <span className="h1-sub">— {table.title}</span>}
      </PageTitle>
      <p>
        <Link to={`/projects/new?table=${encodeURIComponent(table.name)}`} className="button" data-testid="request-data">
          {x.requestData}
        </Link>
      </p>
      {table.description !== '' && <p className="lead">{table.description}</p>}
      <div className="keys">
        <p>
          <strong>{t.primaryKey} : </strong>
          {table.primaryKey.length === 0 ? t.noPrimaryKey : table.primaryKey.map((k) => <code key={k}>{k} </code>)}
        </p>
        <div>
          <strong>{t.foreignKeys} : </strong>
          {table.foreignKeys.length === 0 ? (
            t.noForeignKeys
          ) : (
            <ul className="fk-list">
              {table.foreignKeys.map((fk) => (
                <li key={fk.reference.resource + fk.fields.join()}>
                  ({fk.fields.join(', ')}) {t.linksTo} <Link to={href('datasets', table.dataset, 'tables', fk.reference.resource)}>{fk.reference.resource}</Link> ({fk.reference.fields.join(', ')})
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
      <section aria-labelledby="columns-h">
        <h2 id="columns-h">{t.columnsTitle}</h2>
        <SensitivityLegend />
        <div className="filters">
          <TextField label={t.filterColumns} hint={t.filterColumnsHint} type="search" value={filter} onChange={setFilter} />
          <SelectField<Sensitivity | 'all'>
            label={t.filterSensitivity}
            value={level}
            onChange={setLevel}
            options={[{ value: 'all', label: t.allSensitivities }, ...SENSITIVITIES.map((s) => ({ value: s, label: t[`sensitivity_${s}`] }))]}
          />
        </div>
        <p className="muted" role="status">
          {t.columnsShown(shown.length, table.columns.length)}
        </p>
        <DataTable caption={t.columnsTitle} captionHidden rows={shown} rowKey={(c) => c.name} columns={columns} empty={t.noColumnMatches} rowClassName={(c) => (c.name === hit ? 'row-hit' : undefined)} />
      </section>
      {neighbours.length > 1 && (
        <section aria-labelledby="neighbours-h">
          <h2 id="neighbours-h">{t.neighbourhoodTitle}</h2>
          <TableDiagram tables={neighbours} highlight={table.name} linkFor={(n) => href('datasets', table.dataset, 'tables', n)} label={t.neighbourhoodTitle} referencesLabel={t.linksTo} listTitle={t.diagramListTitle} emptyLabel={t.diagramNone} />
        </section>
      )}
    </>
  );
}
