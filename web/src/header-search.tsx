import { useState, type FormEvent } from 'react';
import { useI18n } from './i18n.tsx';
import { useRouter } from './router.tsx';
import { useText } from './text.ts';

/**
 * The catalogue search on every page, in the header: a search landmark whose field opens the
 * results page. A text field (not a second searchbox) so that a page's own search field stays
 * the one searchbox on it.
 */
export function HeaderSearch() {
  const { t } = useI18n();
  const x = useText();
  const { navigate, path, query } = useRouter();
  const [q, setQ] = useState(path === '/search' ? (query.get('q') ?? '') : '');
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (q.trim() === '') return;
    navigate(`/search?q=${encodeURIComponent(q.trim())}`);
  };
  return (
    <form role="search" aria-label={x.headerSearch} className="header-search" onSubmit={submit} data-testid="header-search">
      <input type="text" enterKeyHint="search" aria-label={t.searchLabel} placeholder={x.headerSearchPlaceholder} value={q} onChange={(e) => setQ(e.target.value)} name="q" />
      <button type="submit" className="button button-ghost">
        {t.searchButton}
      </button>
    </form>
  );
}
