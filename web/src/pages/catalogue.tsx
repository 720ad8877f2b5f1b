import { useEffect, useState, type FormEvent } from 'react';
import { catalog, type SearchHit } from '../api.ts';
import { useI18n } from '../i18n.tsx';
import { Async, Badge, Empty, SensitivityBadge, useAsync } from '../kit/index.ts';
import { href, Link, useRouter } from '../router.tsx';
import { PageTitle } from './page.tsx';

export function SearchForm({ initial = '' }: { readonly initial?: string }) {
  const { t } = useI18n();
  const { navigate } = useRouter();
  const [q, setQ] = useState(initial);
  useEffect(() => setQ(initial), [initial]);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const v = q.trim();
    if (v !== '') navigate(`/search?q=${encodeURIComponent(v)}`);
  };
  return (
    <form role="search" className="search-form" onSubmit={submit}>
      <label htmlFor="catalogue-search">{t.searchLabel}</label>
      <p id="catalogue-search-hint" className="field-hint">
        {t.searchHint}
      </p>
      <div className="search-row">
        <input id="catalogue-search" name="q" type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder={t.searchPlaceholder} aria-describedby="catalogue-search-hint" maxLength={200} />
        <button type="submit" className="button button-primary">
          {t.searchButton}
        </button>
      </div>
    </form>
  );
}

export function CataloguePage() {
  const { t, formatDate } = useI18n();
  const state = useAsync((s) => catalog.datasets(s), []);
  return (
    <>
      <PageTitle>{t.catalogueTitle}</PageTitle>
      <p className="lead">{t.catalogueIntro}</p>
      <SearchForm />
      <section aria-labelledby="datasets-h">
        <h2 id="datasets-h">{t.datasetsTitle}</h2>
        <Async state={state}>
          {(datasets) =>
            datasets.length === 0 ? (
              <Empty>{t.datasetsEmpty}</Empty>
            ) : (
              <ul className="cards">
                {datasets.map((d) => (
                  <li key={d.name} className="card">
                    <h3>
                      <Link to={href('datasets', d.name)}>{d.title === '' ? d.name : d.title}</Link>
                    </h3>
                    <p className="muted">
                      <code>{d.name}</code> · {t.tablesCount(d.tableCount)} · {t.columnsCount(d.columnCount)}
                    </p>
                    {d.description !== '' && <p className="clamp">{d.description}</p>}
                    <p className="muted small">
                      {t.importedAt} {formatDate(d.importedAt)}
                    </p>
                  </li>
                ))}
              </ul>
            )
          }
        </Async>
      </section>
    </>
  );
}

function hitLink(h: SearchHit): string {
  switch (h.kind) {
    case 'dataset':
      return href('datasets', h.dataset);
    case 'table':
      return href('datasets', h.dataset, 'tables', h.table);
    case 'column':
      return `${href('datasets', h.dataset, 'tables', h.table)}#col-${encodeURIComponent(h.column)}`;
    case 'nomenclature':
      return href('nomenclatures', h.nomenclature);
  }
}

function hitKey(h: SearchHit): string {
  switch (h.kind) {
    case 'dataset':
      return `d:${h.dataset}`;
    case 'table':
      return `t:${h.dataset}.${h.table}`;
    case 'column':
      return `c:${h.dataset}.${h.table}.${h.column}`;
    case 'nomenclature':
      return `n:${h.nomenclature}`;
  }
}

export function SearchPage() {
  const { t } = useI18n();
  const hitDescription = (h: SearchHit): string => {
    switch (h.kind) {
      case 'column':
        return h.description;
      case 'dataset':
      case 'table':
        return h.title === '' ? h.description : h.title;
      case 'nomenclature':
        return `${h.title === '' ? '' : `${h.title} · `}${t.codesCount(h.codeCount)}`;
    }
  };
  const { query } = useRouter();
  const q = (query.get('q') ?? '').trim();
  const state = useAsync((s) => (q === '' ? Promise.resolve([]) : catalog.search(q, s)), [q]);
  return (
    <>
      <PageTitle>{q === '' ? t.searchLabel : t.searchResultsTitle(q)}</PageTitle>
      <SearchForm initial={q} />
      {q !== '' && (
        <Async state={state}>
          {(hits) =>
            hits.length === 0 ? (
              <Empty>{t.searchNoResults(q)}</Empty>
            ) : (
              <section aria-label={t.searchCount(hits.length)}>
                <p role="status" className="muted">
                  {t.searchCount(hits.length)}
                </p>
                <ul className="hits">
                  {hits.map((h) => (
                    <li key={hitKey(h)} className="hit" data-kind={h.kind}>
                      <Badge>{t[`kind_${h.kind}`]}</Badge>{' '}
                      <Link to={hitLink(h)} className="hit-title">
                        {h.kind === 'dataset' ? h.dataset : h.kind === 'table' ? `${h.dataset}.${h.table}` : h.kind === 'column' ? `${h.table}.${h.column}` : h.nomenclature}
                      </Link>{' '}
                      {h.kind === 'column' && (
                        <>
                          <code className="type">{h.type}</code> <SensitivityBadge sensitivity={h.sensitivity} />
                        </>
                      )}
                      <p className="hit-desc">{hitDescription(h)}</p>
                    </li>
                  ))}
                </ul>
              </section>
            )
          }
        </Async>
      )}
    </>
  );
}
