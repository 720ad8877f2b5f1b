import { lazy, Suspense, useEffect, useState, type ReactNode } from 'react';
import { useI18n } from './i18n.tsx';
import { AuditPage } from './pages/audit.tsx';
import { CataloguePage, SearchPage } from './pages/catalogue.tsx';
import { DatasetPage, TablePage } from './pages/dataset.tsx';
import { NomenclaturePage, NomenclaturesPage } from './pages/nomenclatures.tsx';
import { NotFoundPage } from './pages/page.tsx';
import { RegisterPage } from './pages/register.tsx';
import { useAirlockText } from './pages/airlock-text.ts';
import { Loading } from './kit/index.ts';
import { LoginLink, RequireLogin, SessionExpiredBanner, useSession } from './session.tsx';
import { Link, match, useRouter } from './router.tsx';

import { useText } from './text.ts';
import { HeaderSearch } from './header-search.tsx';

// The workspace brings CodeMirror and Chart.js: loaded only when a member opens it.
const WorkspacePage = lazy(() => import('./pages/workspace.tsx').then((m) => ({ default: m.WorkspacePage })));
// Pages behind a login are split from the public ones: an anonymous visitor of the catalogue
// never downloads the wizard, the review or the operator code.
const OperatorPage = lazy(() => import('./pages/operator.tsx').then((m) => ({ default: m.OperatorPage })));
const ProjectsPage = lazy(() => import('./pages/projects.tsx').then((m) => ({ default: m.ProjectsPage })));
const ProjectPage = lazy(() => import('./pages/projects.tsx').then((m) => ({ default: m.ProjectPage })));
const InboxPage = lazy(() => import('./pages/projects.tsx').then((m) => ({ default: m.InboxPage })));
const WizardPage = lazy(() => import('./pages/wizard.tsx').then((m) => ({ default: m.NewProjectPage })));
const AmendProjectPage = lazy(() => import('./pages/wizard.tsx').then((m) => ({ default: m.AmendProjectPage })));
const EditProjectPage = lazy(() => import('./pages/wizard.tsx').then((m) => ({ default: m.EditProjectPage })));
const ProfilePage = lazy(() => import('./pages/profile.tsx').then((m) => ({ default: m.ProfilePage })));
const NotificationsPage = lazy(() => import('./pages/profile.tsx').then((m) => ({ default: m.NotificationsPage })));
const AuditExplorerPage = lazy(() => import('./pages/audit-explorer.tsx').then((m) => ({ default: m.AuditExplorerPage })));
const AdminPage = lazy(() => import('./pages/admin.tsx').then((m) => ({ default: m.AdminPage })));
const AirlockProjectPage = lazy(() => import('./pages/airlock.tsx').then((m) => ({ default: m.AirlockProjectPage })));
const AirlockQueuePage = lazy(() => import('./pages/airlock.tsx').then((m) => ({ default: m.AirlockQueuePage })));
const AirlockRequestPage = lazy(() => import('./pages/airlock.tsx').then((m) => ({ default: m.AirlockRequestPage })));
const NotificationBell = lazy(() => import('./pages/profile.tsx').then((m) => ({ default: m.NotificationBell })));

interface RouteDef {
  readonly pattern: string;
  readonly render: (p: Record<string, string>) => ReactNode;
}

const ROUTES: readonly RouteDef[] = [
  { pattern: '/', render: () => <CataloguePage /> },
  { pattern: '/search', render: () => <SearchPage /> },
  { pattern: '/datasets/:dataset', render: (p) => <DatasetPage dataset={p['dataset'] ?? ''} /> },
  { pattern: '/datasets/:dataset/tables/:table', render: (p) => <TablePage key={`${p['dataset']}.${p['table']}`} dataset={p['dataset'] ?? ''} table={p['table'] ?? ''} /> },
  { pattern: '/nomenclatures', render: () => <NomenclaturesPage /> },
  { pattern: '/nomenclatures/:name', render: (p) => <NomenclaturePage key={p['name']} name={p['name'] ?? ''} /> },
  { pattern: '/register', render: () => <RegisterPage /> },
  { pattern: '/audit', render: () => <AuditPage /> },
  { pattern: '/projects', render: () => <ProjectsPage /> },
  { pattern: '/projects/new', render: () => <RequireLogin roles={['applicant']}><WizardPage /></RequireLogin> },
  { pattern: '/projects/:id', render: (p) => <ProjectPage id={p['id'] ?? ''} /> },
  { pattern: '/projects/:id/workspace', render: (p) => <Suspense fallback={<Loading />}><WorkspacePage id={p['id'] ?? ''} /></Suspense> },
  { pattern: '/projects/:id/edit', render: (p) => <RequireLogin><EditProjectPage key={p['id']} id={p['id'] ?? ''} /></RequireLogin> },
  { pattern: '/review', render: () => <InboxPage /> },
  { pattern: '/operator', render: () => <OperatorPage /> },
  { pattern: '/projects/:id/airlock', render: (p) => <AirlockProjectPage id={p['id'] ?? ''} /> },
  { pattern: '/airlock', render: () => <AirlockQueuePage /> },
  { pattern: '/airlock/requests/:rid', render: (p) => <AirlockRequestPage rid={p['rid'] ?? ''} /> },
  { pattern: '/profile', render: () => <ProfilePage /> },
  { pattern: '/projects/:id/amend', render: (p) => <RequireLogin><AmendProjectPage key={p['id']} id={p['id'] ?? ''} /></RequireLogin> },
  { pattern: '/notifications', render: () => <NotificationsPage /> },
  { pattern: '/admin', render: () => <AdminPage /> },
  { pattern: '/audit/events', render: () => <AuditExplorerPage /> },
];

/** The airlock's entry in the main menu: output checkers' queue. */
function AirlockNav() {
  const { a } = useAirlockText();
  return (
    <li>
      <Link to="/airlock">{a.nav}</Link>
    </li>
  );
}

function Page() {
  const { path } = useRouter();
  for (const r of ROUTES) {
    const params = match(r.pattern, path);
    if (params !== null) return <Suspense fallback={<Loading />}>{r.render(params)}</Suspense>;
  }
  return <NotFoundPage />;
}

function LanguageSwitch() {
  const { lang, setLang, t } = useI18n();
  const other = lang === 'fr' ? 'en' : 'fr';
  return (
    <button type="button" className="button button-ghost lang-switch" lang={other} aria-label={t.switchLanguageLabel} onClick={() => setLang(other)} data-testid="lang-switch">
      {t.switchLanguage}
    </button>
  );
}

function UserMenu() {
  const { t } = useI18n();
  const x = useText();
  const { me, logout } = useSession();
  const { navigate } = useRouter();
  if (me === undefined) return null;
  if (me === null) return <LoginLink className="button button-ghost" />;
  return (
    <>
      <Suspense fallback={null}>
        <NotificationBell />
      </Suspense>
      <Link to="/profile" className="header-user" data-testid="user" aria-label={`${t.loggedInAs(me.displayName)} · ${x.navProfile}`}>
        {t.loggedInAs(me.displayName)}
      </Link>
      <button type="button" className="button button-ghost" data-testid="logout" onClick={() => void logout().then(() => navigate('/'))}>
        {t.logout}
      </button>
    </>
  );
}

export function App() {
  const { t } = useI18n();
  const x = useText();
  const { me, hasRole } = useSession();
  const { path } = useRouter();
  // Under 600 px the navigation folds behind a menu button; it folds again after each navigation.
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [path]);
  return (
    <>
      <a href="#main" className="skip-link">
        {t.skipToContent}
      </a>
      <header className="site-header">
        <div className="header-inner">
          <Link to="/" className="brand">
            <svg aria-hidden="true" viewBox="0 0 32 32" width="28" height="28">
              <rect width="32" height="32" rx="6" className="brand-mark" />
              <path d="M9 9h14v3H13v3h8v3h-8v3h10v3H9z" className="brand-letter" />
            </svg>
            <span className="brand-name">{t.appName}</span>
            <span className="brand-tagline">{t.tagline}</span>
          </Link>
          <div className="header-tools">
            <HeaderSearch />
            <LanguageSwitch />
            <UserMenu />
          </div>
        </div>
        <button type="button" className="button button-ghost menu-button" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen((o) => !o)} data-testid="menu-button">
          <svg aria-hidden="true" viewBox="0 0 20 20" width="16" height="16" className="menu-icon">
            <path d="M2 4h16v2H2zm0 5h16v2H2zm0 5h16v2H2z" />
          </svg>{' '}
          {x.menu}
        </button>
        <nav aria-label={t.navMain} className={`main-nav${menuOpen ? ' open' : ''}`} id="main-nav">
          <ul>
            <li>
              <Link to="/">{t.navCatalogue}</Link>
            </li>
            <li>
              <Link to="/nomenclatures">{t.navNomenclatures}</Link>
            </li>
            <li>
              <Link to="/register">{t.navRegister}</Link>
            </li>
            <li>
              <Link to="/audit">{t.navAudit}</Link>
            </li>
            {me !== null && me !== undefined && (
              <li>
                <Link to="/projects">{t.navProjects}</Link>
              </li>
            )}
            {(hasRole('access_committee') || hasRole('ethics_reviewer') || hasRole('legal_reviewer')) && (
              <li>
                <Link to="/review">{t.navReview}</Link>
              </li>
            )}
            {hasRole('output_checker') && <AirlockNav />}
            {hasRole('operator') && (
              <li>
                <Link to="/operator">{t.navOperator}</Link>
              </li>
            )}
            {hasRole('admin') && (
              <li>
                <Link to="/admin">{x.navAdmin}</Link>
              </li>
            )}
            {hasRole('auditor') && (
              <li>
                <Link to="/audit/events">{x.navExplorer}</Link>
              </li>
            )}
          </ul>
        </nav>
      </header>
      <main id="main" className="main">
        <SessionExpiredBanner />
        <Page />
      </main>
      <footer className="site-footer">
        <p>
          {t.appName} · {t.tagline} · <a href="/api/v1/openapi.json">API</a>
        </p>
      </footer>
    </>
  );
}
