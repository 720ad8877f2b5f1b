/**
 * Accessibility checks with the real axe-core (web/node_modules/axe-core, a dev dependency of the
 * portal), run in the page as rendered after each main step of the e2e journeys, with the WCAG
 * 2.0/2.1 A and AA rules.
 *
 * The portal's Content-Security-Policy allows only its own scripts ('self', no inline, no eval),
 * and that policy is not weakened for the tests: axe's source is evaluated through the DevTools
 * protocol (playwright's `page.evaluate` with a string runs as `Runtime.evaluate`, which CSP does
 * not govern), the same path the old hand-written checks took.
 *
 * `violations(page)` lists what fails, one line per element: rule, impact, target selector and the
 * page's URL; `assertAccessible` and `checkedScreenshot` fail with that list.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { screenshot, type Page } from './harness.ts';

const AXE_SOURCE = readFileSync(new URL('../../web/node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

/** WCAG 2.0 and 2.1, levels A and AA: the level the portal promises. */
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] as const;

interface AxeResultNode { readonly target: readonly unknown[]; readonly failureSummary?: string }
interface AxeViolation { readonly id: string; readonly impact: string | null; readonly help: string; readonly nodes: readonly AxeResultNode[] }

/** Runs axe in the page, injecting it first when this document does not hold it yet. */
async function runAxe(page: Page): Promise<AxeViolation[]> {
  const present = await page.evaluate<boolean>('typeof window.axe === "object"');
  // axe.min.js is a UMD bundle that sets window.axe when neither module nor define exists
  if (!present) await page.evaluate(AXE_SOURCE);
  const tags = JSON.stringify(AXE_TAGS);
  return page.evaluate<AxeViolation[]>(`window.axe.run(document, { runOnly: { type: 'tag', values: ${tags} }, resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary })) })))`);
}

/** The axe violations of the page as it is now, each as "rule (impact) at selector on URL: help". */
export async function violations(page: Page): Promise<string[]> {
  const found = await runAxe(page);
  const url = page.url();
  const out: string[] = [];
  for (const v of found) {
    for (const n of v.nodes) {
      const target = n.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : String(t))).join(' ');
      const why = (n.failureSummary ?? '').replace(/\s+/g, ' ').trim();
      out.push(`${v.id} (${v.impact ?? 'unknown'}) at ${target} on ${url}: ${v.help}${why === '' ? '' : ` — ${why}`}`);
    }
  }
  return out;
}

/** Fails with the readable list of violations on the page as it is now. */
export async function assertAccessible(page: Page, where: string): Promise<void> {
  const found = await violations(page);
  assert.deepEqual(found, [], `axe-core: ${found.length} accessibility violation(s) on ${where}:\n${found.join('\n')}`);
}

/** Saves the page's screenshot after checking it: a main page is never saved with a violation. */
export async function checkedScreenshot(page: Page, name: string): Promise<void> {
  await assertAccessible(page, name);
  await screenshot(page, name);
}
