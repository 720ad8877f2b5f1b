/**
 * End-to-end harness: a real Enclave server (in-process, on a free port, with a temp data dir
 * and keyring), the real web build, and Debian's Chromium driven by playwright-core. Nothing is
 * downloaded: playwright-core comes from web/node_modules and the browser from apt.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import type { Browser, BrowserContext, Page } from '../../web/node_modules/playwright-core/index.js';
import { ingestCommand } from '../../src/cli/commands/ingest.ts';
import { synthCommand } from '../../src/cli/commands/synth.ts';
import { loadConfig } from '../../src/config.ts';
import { serve } from '@hono/node-server';
import type { Config } from '../../src/config.ts';
import { sessionCookieName } from '../../src/http/auth.ts';
import { EMBEDDED_ISSUER_ID, type Principal, type Role, type SeededDemoPerson } from '../../src/identity/index.ts';
import { createApp, createPlatform, ensureDemoPeople, startServer, type Platform } from '../../src/main.ts';
import { forgetUsedCodes, freshCodeOf, freshCodeWaits } from '../helpers/browser.ts';

export type { Browser, BrowserContext, Page };

export const CHROMIUM = '/usr/bin/chromium';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = join(ROOT, 'web');
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'e2e');

/**
 * Why the e2e suite cannot run here, or undefined when it can. CI installs chromium (.ci/run),
 * so there the suite always runs; it runs on the PGlite pass only (the metadata database is
 * covered by the rest of the suite on both, and a browser run is the slow part).
 */
export function skipReason(): string | undefined {
  if (process.env['ENCLAVE_TEST_DB'] === 'postgres') return 'e2e: browser journeys run on the PGlite pass only';
  if (!existsSync(CHROMIUM)) return `e2e: ${CHROMIUM} not found; install Debian's chromium (apt-get install -y chromium), as .ci/run does`;
  if (!existsSync(join(WEB, 'node_modules', 'playwright-core'))) return 'e2e: web/node_modules missing; run npm run web:install';
  return undefined;
}

function newestMtime(dir: string): number {
  let max = 0;
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const s = statSync(p);
    max = Math.max(max, s.isDirectory() ? newestMtime(p) : s.mtimeMs);
  }
  return max;
}

/**
 * Builds the portal when web/dist is missing or older than its sources. Test files run in
 * parallel, so a directory lock makes one build and the others wait for it.
 */
export async function ensureWebBuild(): Promise<void> {
  const index = join(WEB, 'dist', 'index.html');
  const stale = (): boolean => !existsSync(index) || statSync(index).mtimeMs < Math.max(newestMtime(join(WEB, 'src')), statSync(join(WEB, 'index.html')).mtimeMs);
  const lock = join(WEB, '.build-lock');
  for (let i = 0; i < 600 && stale(); i++) {
    try {
      mkdirSync(lock);
    } catch {
      // another test file is building: if its lock is older than 2 minutes it died
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    try {
      if (stale()) {
        const r = spawnSync(join(WEB, 'node_modules', '.bin', 'vite'), ['build', '--logLevel', 'warn'], { cwd: WEB, stdio: 'inherit' });
        if (r.status !== 0) throw new Error('web build failed');
      }
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

export interface Enclave {
  readonly url: string;
  readonly platform: Platform;
  /** Demo people the embedded provider created at this start, with their password and TOTP secret. */
  readonly demo: readonly SeededDemoPerson[];
  close(): Promise<void>;
}

/** The platform whose embedded provider created each demo person (see loginViaOidc). */
const platformOf = new WeakMap<SeededDemoPerson, Platform>();

/** A fresh Enclave with the built-in SNDS catalogue, serving the portal on a free port. */
export async function startEnclave(env: Readonly<Record<string, string>> = {}, opts: { readonly sample?: boolean } = {}): Promise<Enclave> {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-e2e-'));
  const config = loadConfig({
    ENCLAVE_DATA_DIR: join(dir, 'data'),
    ENCLAVE_KEYRING: join(dir, 'keyring.json'),
    ENCLAVE_PORT: '0',
    ENCLAVE_AUDIT_CHECKPOINT_SECONDS: '0',
    ...env,
  });
  const platform = await createPlatform(config, { kind: 'service', id: 'e2e' });
  await platform.catalog.importBuiltin({ kind: 'service', id: 'e2e' });
  if (opts.sample === true) {
    // A tiny synthetic delivery, ingested for real, so the operator pages have a version and keys.
    const quiet = { write: () => true };
    const out = join(dir, 'sample');
    await synthCommand({ people: 30, years: '2022-2023', seed: 7, out, parquet: false, defects: 0.02 }, quiet);
    await ingestCommand(platform, 'snds', [join(out, 'csv')], quiet);
  }
  const { server, url, demoPeopleCreated } = await startServer(platform);
  for (const person of demoPeopleCreated) platformOf.set(person, platform);
  // The schedule is off (ENCLAVE_AUDIT_CHECKPOINT_SECONDS=0) so pages do not change under the
  // browser; one checkpoint signed now gives the public audit page a tree head to show.
  await platform.audit.checkpoint();
  return {
    url,
    platform,
    demo: demoPeopleCreated,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await platform.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The usual setup of a portal test file, in the enclosing `describe`: the web build checked, a
 * fresh Enclave (`startEnclave(env, opts)`) and a Chromium started before its tests, handed to
 * `ready`, and both closed after them (also when a test failed).
 */
export function portalFixture(ready: (enclave: Enclave, browser: Browser) => void, env: Readonly<Record<string, string>> = {}, opts: { readonly sample?: boolean } = {}): void {
  let enclave: Enclave | undefined;
  let browser: Browser | undefined;
  before(async () => {
    await ensureWebBuild();
    [enclave, browser] = await Promise.all([startEnclave(env, opts), launchChromium()]);
    ready(enclave, browser);
  });
  after(async () => {
    await browser?.close();
    await enclave?.close();
  });
}

/**
 * Debian's Chromium with the flags this machine needs (no background networking: the network is
 * closed). `launch` gives every browser a fresh, temporary user-data-dir.
 */
export async function launchChromium(): Promise<Browser> {
  const entry = new URL('../../web/node_modules/playwright-core/index.mjs', import.meta.url).href;
  const pw = (await import(entry)) as typeof import('../../web/node_modules/playwright-core/index.js');
  return pw.chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * A page that records what must never happen: CSP violations, script errors, failed requests
 * outside the server, console errors. `problems()` lists them at the end of a test.
 */
export async function newPage(browser: Browser, base: string, lang: 'fr' | 'en'): Promise<{ page: Page; context: BrowserContext; problems: () => string[] }> {
  const context = await browser.newContext({ baseURL: base, locale: lang === 'fr' ? 'fr-FR' : 'en-GB', viewport: { width: 1280, height: 900 } });
  // A loaded CI machine (two test files at once, Trino beside them) can take longer than
  // Playwright's 30 s default for one step; a step that never comes still fails.
  context.setDefaultTimeout(60_000);
  const page = await context.newPage();
  const seen: string[] = [];
  page.on('pageerror', (e) => seen.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 40[134]/.test(m.text())) seen.push(`console: ${m.text()}`);
  });
  page.on('request', (r) => {
    if (!r.url().startsWith(base) && !r.url().startsWith('data:')) seen.push(`outbound request: ${r.url()}`);
  });
  return { page, context, problems: () => [...seen] };
}

/** Sets the portal's language the way a person does: with the switch in the header. */
export async function useLanguage(page: Page, lang: 'fr' | 'en'): Promise<void> {
  const current = await page.locator('html').getAttribute('lang');
  if (current !== lang) await page.getByTestId('lang-switch').click();
  await page.locator(`html[lang="${lang}"]`).waitFor({ state: 'attached' });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Polls `cond` until it holds (the page's CSP forbids waitForFunction's string evaluation). */
export async function waitUntil(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('waitUntil: condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The same platform served again on a free port with some configuration changed. */
export async function serveWith(e: Enclave, change: Partial<Config>): Promise<{ url: string; close(): Promise<void> }> {
  const app = createApp({ ...e.platform, config: { ...e.platform.config, ...change } });
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
      resolve({ url: `http://127.0.0.1:${info.port}`, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
}

/** Opens a session for a demo person with these roles, as the OIDC callback would, and returns its cookie. */
export async function sessionFor(e: Enclave, subject: string, roles: readonly Role[]): Promise<{ name: string; value: string }> {
  const who = { issuer: 'https://idp.e2e', subject, displayName: subject, email: null, organisation: 'e2e' };
  const id = await e.platform.identity.ensurePerson({ kind: 'service', id: 'e2e' }, who);
  await e.platform.identity.seedRoles({ kind: 'service', id: 'e2e' }, id, roles);
  const s = await e.platform.identity.login({ ...who, acr: 'eidas2', amr: ['pwd', 'otp'] });
  return { name: sessionCookieName(false), value: s.cookieValue };
}

/**
 * Logs a demo person in through the real OpenID Connect flow: the portal's "Log in", the
 * embedded provider's password page, then a TOTP code computed from their secret (as an
 * authenticator app would). Leaves the page back in the portal, logged in.
 */
export async function loginViaOidc(page: Page, person: SeededDemoPerson): Promise<void> {
  await page.getByTestId('login').first().click();
  await page.locator('#login-form').waitFor();
  await page.locator('#username').fill(person.username);
  await page.locator('#password').fill(person.password);
  await page.locator('#login-form button[type="submit"]').click();
  await page.locator('#otp-form').waitFor();
  // a code this person has not used yet in the run: the provider refuses a replayed one. A
  // journey logs one person in a third time within 30 s, where the next code is 30 s away: the
  // harness then clears the steps the provider recorded as used for this person, instead of
  // waiting (the replay rule itself is tested in src/identity and src/http/routes/auth.test.ts).
  const platform = platformOf.get(person);
  if (platform !== undefined && freshCodeWaits(person.totpSecret)) {
    await platform.db.query('UPDATE identity_idp_accounts SET totp_last_step = NULL WHERE username = $1', [person.username]);
    forgetUsedCodes(person.totpSecret);
  }
  await page.locator('#code').fill(await freshCodeOf(person.totpSecret));
  await page.locator('#otp-form button[type="submit"]').click();
  await page.getByTestId('user').waitFor();
}

/** The principal of a demo person (as the embedded provider registered them), for service calls. */
export async function demoPrincipal(e: Enclave, username: string): Promise<Principal> {
  const id = await e.platform.identity.ensurePerson({ kind: 'service', id: 'e2e' }, { issuer: EMBEDDED_ISSUER_ID, subject: username, displayName: username, email: null, organisation: 'Enclave demo' });
  return e.platform.identity.principalOf(id, 'session');
}

/**
 * A project the demo people take to an active permit through the governance service (the
 * browser journey of journeys.test.ts, jumped to its end): `applicant` files it as principal
 * investigator with `member` in the team, the demo reviewers approve each step, and the access
 * committee's two members activate a permit valid from today for a year.
 */
export async function activeProject(e: Enclave, o: { readonly title: string; readonly tables: readonly { readonly table: string; readonly columns: readonly string[] }[]; readonly years: { readonly from: number; readonly to: number }; readonly tools?: readonly ('web_sql' | 'database_protocol')[] }): Promise<string> {
  const gov = e.platform.governance;
  const [applicant, member, ethics, legal, committee1, committee2] = await Promise.all(['applicant', 'member', 'ethics', 'legal', 'committee1', 'committee2'].map((u) => demoPrincipal(e, u)));
  if (applicant === undefined || member === undefined || ethics === undefined || legal === undefined || committee1 === undefined || committee2 === undefined) throw new Error('demo people missing');
  const p = await gov.createProject(applicant, {
    title: o.title, organisation: 'Inserm U1234', purpose: 'Describe drug dispensings by year in the synthetic sample.',
    publicInterest: 'Testing the workspace.', legalBasis: { kind: 'reference_methodology', reference: 'MR-004' }, ethicsOpinionReference: null,
    funding: 'ANR', team: [{ name: 'Alice Martin', role: 'principal investigator', organisation: 'Inserm' }],
    requestedScope: { datasets: [{ dataset: 'snds', tables: o.tables.map((t) => ({ table: t.table, columns: [...t.columns] })) }], years: o.years, population: 'everyone in the sample', justification: 'needed for the analysis' },
  });
  await gov.addMember(applicant, p.id, member.personId, 'member');
  await gov.take(applicant, p.id, 'submit');
  await gov.take(committee1, p.id, 'accept_complete');
  await gov.take(ethics, p.id, 'ethics_favourable');
  await gov.take(legal, p.id, 'legal_approve');
  const today = new Date();
  const day = (d: Date): string => d.toISOString().slice(0, 10);
  const template = await gov.permitTemplate(committee1, p.id, { validFrom: day(today), validUntil: day(new Date(today.getTime() + 365 * 86_400_000)) });
  await gov.proposePermit(committee1, p.id, o.tools === undefined ? template : { ...template, tools: [...o.tools] });
  await gov.take(committee1, p.id, 'committee_approve');
  await gov.take(committee2, p.id, 'committee_approve');
  return p.id;
}

/**
 * A platform (createPlatform, not served) with the demo people, the built-in catalogue, a
 * 30-person synthetic delivery ingested for real, and a project whose active permit gives its
 * member ER_PRS_F's person, date, nature and quantity for 2022-2023, its extract built: the setup
 * of the engine-per-project tests. `env`: the configuration (data directory, keyring, engines…).
 */
export async function platformWithPrsProject(env: Readonly<Record<string, string>>, dir: string): Promise<{ readonly platform: Platform; readonly app: ReturnType<typeof createApp>; readonly project: string }> {
  const platform = await createPlatform(loadConfig(env), { kind: 'person', id: 'local:test' });
  await ensureDemoPeople(platform);
  await platform.catalog.importBuiltin({ kind: 'service', id: 'test' });
  const quiet = { write: () => true };
  await synthCommand({ people: 30, years: '2022-2023', seed: 7, out: join(dir, 'sample'), parquet: false }, quiet);
  await ingestCommand(platform, 'snds', [join(dir, 'sample', 'csv')], quiet);
  const project = await activeProject({ platform } as Enclave, { title: 'Délivrances', tables: [{ table: 'ER_PRS_F', columns: ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF', 'PRS_ACT_QTE'] }], years: { from: 2022, to: 2023 } });
  await platform.extracts.idle();
  return { platform, app: createApp(platform, { baseUrl: 'http://127.0.0.1:1' }), project };
}
