import { useEffect, useRef, type ReactNode } from 'react';
import { useI18n } from '../i18n.tsx';
import { Link, useRouter } from '../router.tsx';

/**
 * The page's <h1>: takes focus after an in-app navigation so that screen readers announce the
 * new page (on the page the browser loaded, focus stays at the top: the skip link comes first),
 * and sets the document title.
 */
export function PageTitle({ children, title }: { readonly children: ReactNode; readonly title?: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  const { t } = useI18n();
  const { navigations, path } = useRouter();
  useEffect(() => {
    const text = title ?? ref.current?.textContent ?? '';
    document.title = text === '' ? t.appName : `${text} · ${t.appName}`;
  }, [title, children, t]);
  useEffect(() => {
    if (navigations > 0) ref.current?.focus({ preventScroll: true });
  }, [navigations, path]);
  return (
    <h1 ref={ref} tabIndex={-1} id="page-title">
      {children}
    </h1>
  );
}

export interface Crumb {
  readonly label: ReactNode;
  readonly to?: string;
}

export function Breadcrumbs({ items }: { readonly items: readonly Crumb[] }) {
  return (
    <nav aria-label="breadcrumb" className="breadcrumbs">
      <ol>
        {items.map((c, i) => (
          <li key={i}>{c.to === undefined ? <span aria-current="page">{c.label}</span> : <Link to={c.to}>{c.label}</Link>}</li>
        ))}
      </ol>
    </nav>
  );
}

export function NotFoundPage() {
  const { t } = useI18n();
  return (
    <>
      <PageTitle>{t.notFoundTitle}</PageTitle>
      <p>{t.notFoundText}</p>
      <p>
        <Link to="/">{t.backToCatalogue}</Link>
      </p>
    </>
  );
}
