/**
 * A small History-API router: the portal has a handful of routes, so a dependency is not worth
 * it. On every navigation focus moves to the page's <h1> (screen readers announce the new page).
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

interface Location {
  readonly path: string;
  readonly query: URLSearchParams;
}

interface Router extends Location {
  readonly navigate: (to: string, opts?: { replace?: boolean }) => void;
  /** In-app navigations so far: 0 on the page the browser loaded. */
  readonly navigations: number;
}

const RouterContext = createContext<Router | null>(null);

function current(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

export function RouterProvider({ children }: { readonly children: ReactNode }) {
  const [loc, setLoc] = useState<Location>(current);
  const [navigations, setNavigations] = useState(0);
  useEffect(() => {
    const onPop = (): void => {
      setLoc(current());
      setNavigations((n) => n + 1);
    };
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  const navigate = useCallback((to: string, opts?: { replace?: boolean }) => {
    if (opts?.replace === true) window.history.replaceState(null, '', to);
    else window.history.pushState(null, '', to);
    setLoc(current());
    setNavigations((n) => n + 1);
    window.scrollTo(0, 0);
  }, []);
  const value = useMemo<Router>(() => ({ ...loc, navigate, navigations }), [loc, navigate, navigations]);
  return <RouterContext.Provider value={value}>{children}</RouterContext.Provider>;
}

export function useRouter(): Router {
  const r = useContext(RouterContext);
  if (r === null) throw new Error('useRouter outside RouterProvider');
  return r;
}

/** `match('/datasets/:dataset', '/datasets/snds')` → `{ dataset: 'snds' }`, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/').filter(Boolean);
  const s = path.split('/').filter(Boolean);
  if (p.length !== s.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const seg = p[i] ?? '';
    const val = s[i] ?? '';
    if (seg.startsWith(':')) {
      try {
        params[seg.slice(1)] = decodeURIComponent(val);
      } catch {
        return null;
      }
    } else if (seg !== val) return null;
  }
  return params;
}

type LinkProps = AnchorHTMLAttributes<HTMLAnchorElement> & { readonly to: string };

/** An ordinary link (opens in a new tab with ctrl/middle click) that navigates in-app. */
export function Link({ to, onClick, children, ...rest }: LinkProps) {
  const { navigate, path } = useRouter();
  const onLinkClick = (e: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  const here = to === path;
  return (
    <a href={to} onClick={onLinkClick} aria-current={here ? 'page' : undefined} {...rest}>
      {children}
    </a>
  );
}

/** Builds a path with encoded segments: `href('datasets', d, 'tables', t)`. */
export function href(...segments: readonly string[]): string {
  return '/' + segments.map(encodeURIComponent).join('/');
}
