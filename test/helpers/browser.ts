/**
 * A browser without a browser, for login flows over real HTTP: keeps cookies per host, follows
 * redirects by hand (so each hop can be checked), submits HTML forms found in pages.
 */
import { totp, base32Decode } from '../../src/identity/index.ts';

export interface Hop {
  readonly url: string;
  readonly status: number;
  readonly location: string | null;
  readonly setCookies: readonly string[];
}

export class HttpClient {
  readonly cookies = new Map<string, Map<string, string>>();
  readonly hops: Hop[] = [];

  #cookieHeader(url: URL): string {
    const jar = this.cookies.get(url.host);
    return jar === undefined ? '' : [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  cookie(base: string, name: string): string | undefined {
    return this.cookies.get(new URL(base).host)?.get(name);
  }

  /** One request, no redirect followed. */
  async request(url: string, init: { method?: string; form?: Record<string, string>; json?: unknown; headers?: Record<string, string> } = {}): Promise<Response> {
    const u = new URL(url);
    const headers: Record<string, string> = { ...init.headers };
    const c = this.#cookieHeader(u);
    if (c !== '') headers['cookie'] = c;
    let body: string | undefined;
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    } else if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    const res = await fetch(u, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, redirect: 'manual', ...(body === undefined ? {} : { body }) });
    const setCookies = res.headers.getSetCookie();
    for (const sc of setCookies) {
      const [pair = '', ...attrs] = sc.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      const jar = this.cookies.get(u.host) ?? new Map<string, string>();
      this.cookies.set(u.host, jar);
      const expired = attrs.some((a) => /^\s*max-age=0/i.test(a) || /^\s*expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.get('location');
    this.hops.push({ url, status: res.status, location: location === null ? null : new URL(location, u).href, setCookies });
    return res;
  }

  /** Follows redirects from `url` (GET) until a non-redirect answer; returns it and its URL. */
  async follow(url: string, init: Parameters<HttpClient['request']>[1] = {}, max = 15): Promise<{ res: Response; url: string }> {
    let res = await this.request(url, init);
    let at = url;
    for (let i = 0; i < max && res.status >= 300 && res.status < 400; i++) {
      const loc = res.headers.get('location');
      if (loc === null) break;
      await res.body?.cancel();
      at = new URL(loc, at).href;
      res = await this.request(at);
    }
    return { res, url: at };
  }
}

/** The action of the form with `id` in an HTML page, absolute. */
export function formAction(html: string, id: string, base: string): string {
  const m = new RegExp(`<form[^>]*action="([^"]+)"[^>]*id="${id}"`).exec(html) ?? new RegExp(`<form[^>]*id="${id}"[^>]*action="([^"]+)"`).exec(html);
  if (m?.[1] === undefined) throw new Error(`no form ${id} in page: ${html.slice(0, 400)}`);
  return new URL(m[1].replace(/&amp;/g, '&'), base).href;
}

/** The current TOTP code of a base32 secret. */
export const codeOf = (secret: string, at: number = Date.now()): string => totp(base32Decode(secret), at);

const usedSteps = new Map<string, number>();

/** The current time step and the first step not used yet for `secret` in this process. */
function nextStep(secret: string): { readonly now: number; readonly step: number } {
  const now = Math.floor(Date.now() / 30_000);
  return { now, step: Math.max(now, (usedSteps.get(secret) ?? -1) + 1) };
}

/**
 * A TOTP code of `secret` not used yet in this process: the embedded provider accepts a code
 * once (RFC 6238 §5.2), so a second login within the same 30 s takes the next step's code
 * (accepted in the ±1 step drift window), and a third waits for the next step.
 */
export async function freshCodeOf(secret: string): Promise<string> {
  for (;;) {
    const { now, step } = nextStep(secret);
    if (step <= now + 1) {
      usedSteps.set(secret, step);
      return codeOf(secret, step * 30_000);
    }
    await new Promise((resolve) => setTimeout(resolve, (now + 1) * 30_000 - Date.now() + 50));
  }
}

/** Whether `freshCodeOf(secret)` would wait for the next time step (two codes used in this one). */
export function freshCodeWaits(secret: string): boolean {
  const { now, step } = nextStep(secret);
  return step > now + 1;
}

/** Forgets the steps used for `secret` in this process (once the provider has forgotten them too). */
export function forgetUsedCodes(secret: string): void {
  usedSteps.delete(secret);
}

/** A wrong code, certainly not accepted within the ±1 step window. */
export function wrongCodeOf(secret: string): string {
  const now = Date.now();
  const valid = new Set([-1, 0, 1].map((d) => codeOf(secret, now + d * 30_000)));
  for (let i = 0; ; i++) {
    const c = String((123456 + i * 7919) % 1_000_000).padStart(6, '0');
    if (!valid.has(c)) return c;
  }
}
