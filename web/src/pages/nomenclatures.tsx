import { useEffect, useState } from 'react';
import { catalog } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { Async, DataTable, Empty, TextField, useAsync } from '../kit/index.ts';
import { href, Link } from '../router.tsx';
import { Breadcrumbs, PageTitle } from './page.tsx';

export function NomenclaturesPage() {
  const { t } = useI18n();
  const state = useAsync((s) => catalog.nomenclatures(s), []);
  return (
    <>
      <PageTitle>{t.nomenclaturesTitle}</PageTitle>
      <p className="lead">{t.nomenclaturesIntro}</p>
      <Async state={state}>
        {(list) =>
          list.length === 0 ? (
            <Empty>{t.nomenclaturesEmpty}</Empty>
          ) : (
            <DataTable
              caption={t.nomenclaturesTitle}
              captionHidden
              rows={list}
              rowKey={(n) => n.name}
              columns={[
                { key: 'name', header: t.colName, rowHeader: true, sortValue: (n) => n.name, render: (n) => <Link to={href('nomenclatures', n.name)}>{n.name}</Link> },
                { key: 'title', header: t.colTitle, render: (n) => n.title },
                { key: 'dataset', header: t.colDatasets, render: (n) => n.dataset ?? '' },
                { key: 'codes', header: t.colCode, className: 'num', sortValue: (n) => n.codeCount, render: (n) => (n.codesAvailable ? t.codesCount(n.codeCount) : t.codesUnavailable) },
              ]}
            />
          )
        }
      </Async>
    </>
  );
}

const PAGE = 50;

export function NomenclaturePage({ name }: { readonly name: string }) {
  const { t } = useI18n();
  const [q, setQ] = useState('');
  const [debounced, setDebounced] = useState('');
  const [offset, setOffset] = useState(0);
  useEffect(() => {
    const h = setTimeout(() => {
      setDebounced(q.trim());
      setOffset(0);
    }, 250);
    return () => clearTimeout(h);
  }, [q]);
  const state = useAsync((s) => catalog.nomenclature(name, { limit: PAGE, offset, q: debounced }, s), [name, offset, debounced]);
  return (
    <>
      <Breadcrumbs items={[{ label: t.navNomenclatures, to: '/nomenclatures' }, { label: name }]} />
      <PageTitle>
        <code>{name}</code>
      </PageTitle>
      <TextField label={t.filterCodes} hint={t.filterCodesHint} type="search" value={q} onChange={setQ} />
      <Async state={state}>
        {(page) => (
          <>
            {page.title !== '' && <p className="lead">{page.title}</p>}
            {page.description !== '' && <p>{page.description}</p>}
            {!page.codesAvailable ? (
              <Empty>{t.codesUnavailable}</Empty>
            ) : (
              <>
                <DataTable
                  caption={name}
                  captionHidden
                  rows={page.codes}
                  rowKey={(c) => c.code}
                  empty={t.noCodes}
                  columns={[
                    { key: 'code', header: t.colCode, rowHeader: true, render: (c) => <code>{c.code}</code> },
                    { key: 'label', header: t.colLabel, render: (c) => c.label ?? '' },
                  ]}
                />
                <Pager offset={page.offset} shown={page.codes.length} total={page.codeCount} onOffset={setOffset} />
              </>
            )}
          </>
        )}
      </Async>
    </>
  );
}

/**
 * Previous / next paging. When a filter is on, the total is the nomenclature's, so "next" is
 * offered only while a full page came back.
 */
function Pager({ offset, shown, total, onOffset }: { readonly offset: number; readonly shown: number; readonly total: number; readonly onOffset: (n: number) => void }) {
  const { t } = useI18n();
  if (shown === 0) return null;
  return (
    <nav className="pager" aria-label={t.pageOf(offset + 1, offset + shown, total)}>
      <button type="button" className="button" disabled={offset === 0} onClick={() => onOffset(Math.max(0, offset - PAGE))}>
        {t.previous}
      </button>
      <span aria-live="polite">{t.pageOf(offset + 1, offset + shown, total)}</span>
      <button type="button" className="button" disabled={shown < PAGE || offset + shown >= total} onClick={() => onOffset(offset + PAGE)}>
        {t.next}
      </button>
    </nav>
  );
}
