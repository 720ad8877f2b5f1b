/**
 * Accessibility checks run in the page after each main step of the e2e journeys: a subset of
 * axe-core's rules (axe-core itself is not among the installed packages), checked on the DOM
 * as rendered: the document's language and title, one <h1>, every form control, button, link
 * and image named, ids unique, every id an ARIA attribute points to present, no positive
 * tabindex, tables with headers, and aria-expanded buttons pointing at what they open.
 * `violations(page)` lists what fails, each with a CSS-ish path to the element.
 */
import { screenshot, type Page } from './harness.ts';

const SCRIPT = `(() => {
  const out = [];
  const where = (el) => {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && parts.length < 4; e = e.parentElement) {
      parts.unshift(e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.getAttribute('data-testid') ? '[data-testid=' + e.getAttribute('data-testid') + ']' : ''));
    }
    return parts.join(' > ');
  };
  const visible = (el) => {
    if (el.closest('[hidden], [aria-hidden="true"]')) return false;
    const s = getComputedStyle(el);
    return s.display !== 'none' && s.visibility !== 'hidden' && el.getClientRects().length > 0;
  };
  const textOf = (el) => (el.textContent || '').replace(/\\s+/g, ' ').trim();
  const labelled = (el) => {
    if ((el.getAttribute('aria-label') || '').trim() !== '') return true;
    const by = el.getAttribute('aria-labelledby');
    if (by && by.split(/\\s+/).some((id) => { const t = document.getElementById(id); return t && textOf(t) !== ''; })) return true;
    if (el.id && [...document.querySelectorAll('label')].some((l) => l.htmlFor === el.id && textOf(l) !== '')) return true;
    if (el.closest('label') && textOf(el.closest('label')) !== '') return true;
    return (el.getAttribute('title') || '').trim() !== '';
  };
  const lang = document.documentElement.getAttribute('lang');
  if (!lang || !/^(fr|en)$/.test(lang)) out.push('html-has-lang: <html lang> is "' + lang + '"');
  if (document.title.trim() === '') out.push('document-title: empty <title>');
  const h1 = [...document.querySelectorAll('h1')].filter(visible);
  if (h1.length !== 1) out.push('page-has-heading-one: ' + h1.length + ' visible <h1>');
  const ids = new Map();
  for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
  for (const [id, n] of ids) if (n > 1) out.push('duplicate-id: #' + id + ' appears ' + n + ' times');
  for (const el of document.querySelectorAll('[aria-describedby], [aria-labelledby], [aria-controls]')) {
    for (const attr of ['aria-describedby', 'aria-labelledby', 'aria-controls']) {
      for (const id of (el.getAttribute(attr) || '').split(/\\s+/).filter(Boolean)) {
        if (!document.getElementById(id)) out.push('aria-valid-attr-value: ' + attr + '="' + id + '" points at nothing, on ' + where(el));
      }
    }
  }
  for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    if (visible(el) && !labelled(el)) out.push('label: unnamed ' + el.tagName.toLowerCase() + ' at ' + where(el));
  }
  for (const el of document.querySelectorAll('button, [role=button]')) {
    if (visible(el) && textOf(el) === '' && !labelled(el)) out.push('button-name: unnamed button at ' + where(el));
  }
  for (const el of document.querySelectorAll('a[href]')) {
    if (visible(el) && textOf(el) === '' && !labelled(el) && !el.querySelector('img[alt]:not([alt=""]), svg title')) out.push('link-name: unnamed link at ' + where(el));
  }
  for (const el of document.querySelectorAll('img')) {
    if (!el.hasAttribute('alt')) out.push('image-alt: <img> without alt at ' + where(el));
  }
  for (const el of document.querySelectorAll('svg')) {
    if (el.getAttribute('aria-hidden') !== 'true' && !el.closest('[aria-hidden="true"]') && !labelled(el) && !el.querySelector('title') && el.getAttribute('role') !== 'presentation' && !el.closest('a, button')) {
      out.push('svg-img-alt: <svg> neither hidden nor named at ' + where(el));
    }
  }
  for (const el of document.querySelectorAll('[tabindex]')) {
    if (Number(el.getAttribute('tabindex')) > 0) out.push('tabindex: positive tabindex at ' + where(el));
  }
  for (const t of document.querySelectorAll('table')) {
    if (visible(t) && t.querySelectorAll('th').length === 0) out.push('td-has-header: table without <th> at ' + where(t));
  }
  if (!document.querySelector('main')) out.push('landmark-one-main: no <main>');
  return out;
})()`;

/** The rules above that fail on the page as it is now. */
export async function violations(page: Page): Promise<string[]> {
  return page.evaluate<string[]>(SCRIPT);
}

/** Saves the page's screenshot after checking it: a main page is never saved with a violation. */
export async function checkedScreenshot(page: Page, name: string): Promise<void> {
  const found = await violations(page);
  if (found.length > 0) throw new Error(`accessibility violations on ${name}:\n${found.join('\n')}`);
  await screenshot(page, name);
}
