/**
 * The one validation layer every request passes before any route runs: the body is limited on
 * the stream (a chunked body without Content-Length included), JSON is refused past a nesting
 * depth, and every string of the path, the query and a JSON body is checked for what no text
 * column can hold (NUL) or no well-formed Unicode contains (a lone UTF-16 surrogate), naming
 * the field. A refusal here happens before authentication and before any write: nothing is
 * changed, not even the audit log.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AppError, toProblem } from '../errors.ts';

/** Largest request body of the API unless a route says otherwise (bytes). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Largest body the embedded identity provider is handed (its forms and token requests are a few hundred bytes; its own parsers stop at 8 KiB and 56 KiB). */
export const NODE_MOUNT_MAX_BODY_BYTES = 8 * 1024;
/** Deepest nesting of arrays and objects a JSON body may have. */
export const MAX_JSON_DEPTH = 64;

/** A larger body limit for the routes under a path prefix (e.g. an upload route). */
export interface BodyLimitRule {
  /** Path prefix, e.g. `/api/v1/deliveries/`. */
  readonly prefix: string;
  readonly maxBytes: number;
}

const tooLarge = (maxBytes: number): AppError =>
  new AppError('payload_too_large', `request body exceeds the ${maxBytes}-byte limit`, {
    hint: `send at most ${maxBytes} bytes; large files (deliveries) are ingested with the CLI (enclave ingest)`,
    details: { limitBytes: maxBytes },
  });

/**
 * Limits the body on the stream (Hono's bodyLimit reads chunk by chunk and stops at the limit).
 * The refusal closes the connection, so the server reads nothing more of the body: without
 * `Connection: close` node would read and discard the rest to keep the connection alive.
 */
export function limitBody(defaultMax: number, rules: readonly BodyLimitRule[], skip: (path: string) => boolean): MiddlewareHandler {
  const limiters = new Map<number, MiddlewareHandler>();
  const limiterOf = (maxSize: number): MiddlewareHandler => {
    let l = limiters.get(maxSize);
    if (l === undefined) {
      l = bodyLimit({
        maxSize,
        onError: (c) => {
          c.header('Connection', 'close');
          throw tooLarge(maxSize);
        },
      });
      limiters.set(maxSize, l);
    }
    return l;
  };
  return async (c, next) => {
    if (skip(c.req.path)) return next();
    const rule = rules.find((r) => c.req.path.startsWith(r.prefix));
    return limiterOf(rule?.maxBytes ?? defaultMax)(c, next);
  };
}

export type StringFault = 'nul' | 'lone_surrogate';

/** The first fault of a string: NUL, or a UTF-16 surrogate without its pair. */
export function stringFault(s: string): StringFault | null {
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u === 0) return 'nul';
    if (u >= 0xd800 && u <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return 'lone_surrogate';
    } else if (u >= 0xdc00 && u <= 0xdfff) return 'lone_surrogate';
  }
  return null;
}

const FAULT_TEXT: Record<StringFault | 'encoding', string> = {
  nul: 'contains a NUL character (U+0000), which no text field can hold',
  lone_surrogate: 'contains a lone UTF-16 surrogate, which is not valid Unicode',
  encoding: 'is not valid percent-encoded UTF-8',
};

function badField(location: 'path' | 'query' | 'body', field: string, fault: StringFault | 'encoding'): AppError {
  const where = location === 'path' ? 'path parameter' : location === 'query' ? 'query parameter' : 'body field';
  return new AppError('invalid', `${where} ${field} ${FAULT_TEXT[fault]}`, {
    hint: fault === 'encoding' ? 'percent-encode the text as UTF-8 (encodeURIComponent)' : 'remove the character; send well-formed Unicode text',
    details: { location, field, fault },
  });
}

/** decodeURIComponent, or undefined when the escapes are not UTF-8. */
function decodeStrict(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** Checks every name and value of an application/x-www-form-urlencoded text (a query or a form). */
function checkPairs(text: string, location: 'query' | 'body'): void {
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawKey = (eq < 0 ? pair : pair.slice(0, eq)).replace(/\+/g, ' ');
    const rawValue = (eq < 0 ? '' : pair.slice(eq + 1)).replace(/\+/g, ' ');
    const key = decodeStrict(rawKey);
    const keyFault = key === undefined ? 'encoding' : stringFault(key);
    if (keyFault !== null) throw badField(location, '(a parameter name)', keyFault);
    const value = decodeStrict(rawValue);
    const valueFault = value === undefined ? 'encoding' : stringFault(value);
    if (valueFault !== null) throw badField(location, key ?? rawKey, valueFault);
  }
}

/** Checks a request body: JSON (depth, then every string), a form, or else any text for NUL. */
function checkBody(text: string, contentType: string): void {
  if (text.trim() === '') return;
  if (/^application\/x-www-form-urlencoded/i.test(contentType)) {
    checkPairs(text, 'body');
    return;
  }
  const depth = jsonDepth(text);
  if (depth > MAX_JSON_DEPTH) {
    throw new AppError('invalid', `JSON body is nested ${depth} levels deep; at most ${MAX_JSON_DEPTH} are accepted`, {
      hint: 'flatten the document', details: { location: 'body', maxDepth: MAX_JSON_DEPTH },
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON: the route's own parser says so; a NUL in it is still refused here.
    if (text.includes('\u0000')) throw badField('body', '(the body)', 'nul');
    return;
  }
  checkJson(parsed);
}

/** A route of the table, as the validation layer needs it to name a path parameter. */
export interface RouteShape {
  readonly method: string;
  readonly path: string;
}

/** Name of the path parameter at segment `index` of `segments`, from the route table. */
function paramName(routes: readonly RouteShape[], method: string, segments: readonly string[], index: number): string {
  let fallback: string | undefined;
  for (const r of routes) {
    const pattern = r.path.split('/');
    if (pattern.length !== segments.length) continue;
    const at = pattern[index] ?? '';
    if (!at.startsWith(':')) continue;
    const fits = pattern.every((p, i) => i === index || p.startsWith(':') || p === segments[i]);
    if (!fits) continue;
    const name = at.slice(1).replace(/\{.*$/, '').replace(/\?$/, '');
    if (r.method === method) return name;
    fallback ??= name;
  }
  return fallback ?? `segment ${index}`;
}

/** Walks a parsed JSON value without recursion; the first bad string (value or key) is refused. */
function checkJson(root: unknown): void {
  const stack: Array<{ v: unknown; path: string }> = [{ v: root, path: '' }];
  while (stack.length > 0) {
    const { v, path } = stack.pop() as { v: unknown; path: string };
    if (typeof v === 'string') {
      const f = stringFault(v);
      if (f !== null) throw badField('body', path === '' ? '(the body)' : path, f);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]` });
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, child] of Object.entries(v)) {
        const f = stringFault(k);
        const keyPath = path === '' ? k : `${path}.${k}`;
        if (f !== null) throw badField('body', `${path === '' ? '' : `${path}.`}(a key)`, f);
        stack.push({ v: child, path: keyPath });
      }
    }
  }
}

/** Deepest nesting of a JSON text, counted without parsing (strings skipped). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++;
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) inString = true;
    else if (ch === 0x5b || ch === 0x7b) {
      depth++;
      if (depth > max) max = depth;
    } else if (ch === 0x5d || ch === 0x7d) depth--;
  }
  return max;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Checks every string of the path, the query and a JSON body. `routes` is the app's route table
 * (read at request time, when every route is registered), used to name path parameters; `skip`
 * names the paths served by node handlers (they get guardNodeRequest instead).
 */
export function validateStrings(routes: () => readonly RouteShape[], skip: (path: string) => boolean): MiddlewareHandler {
  return async (c, next) => {
    if (skip(c.req.path)) return next();
    const url = new URL(c.req.url);
    const rawSegments = url.pathname.split('/');
    const segments = rawSegments.map(decodeStrict);
    for (let i = 0; i < segments.length; i++) {
      const s = segments[i];
      const fault = s === undefined ? 'encoding' : stringFault(s);
      if (fault !== null) {
        const known = segments.map((x, j) => x ?? rawSegments[j] ?? '');
        throw badField('path', paramName(routes(), c.req.method, known, i), fault);
      }
    }
    if (url.search.length > 1) checkPairs(url.search.slice(1), 'query');
    if (BODY_METHODS.has(c.req.method) && c.req.raw.body !== null) checkBody(await c.req.text(), c.req.header('content-type') ?? '');
    await next();
  };
}

/**
 * A node-level guard for handlers that read the raw node request (the embedded OpenID provider):
 * a declared length over the limit is refused at once; a chunked body is counted as the HTTP
 * parser delivers it, and past the limit the server stops reading the socket (push returns
 * false) and answers 413. The query and the body get the API's string checks. The handler is
 * called only once the whole body has arrived and passed (bodies here are a few KiB), so a
 * refused request never reaches it.
 */
export function guardNodeRequest(req: IncomingMessage, res: ServerResponse, maxBytes: number, requestId: string, handle: () => void): void {
  const refuse = (e: AppError): void => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify(toProblem(e, requestId));
    res.writeHead(e.status, { 'Content-Type': 'application/problem+json', 'Content-Length': Buffer.byteLength(body), Connection: 'close', 'X-Request-Id': requestId });
    res.end(body);
  };
  try {
    const search = (req.url ?? '').split('?')[1];
    if (search !== undefined) checkPairs(search, 'query');
  } catch (e) {
    refuse(e as AppError);
    return;
  }
  const declared = Number(req.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > maxBytes) {
    refuse(tooLarge(maxBytes));
    return;
  }
  // A small body may have been parsed with the headers, before this guard ran: take what is
  // buffered, keep a copy, and put it back in front for the handler.
  const chunks: Buffer[] = [];
  for (let b = req.read() as Buffer | null; b !== null; b = req.read() as Buffer | null) chunks.push(b);
  let seen = chunks.reduce((n, b) => n + b.length, 0);
  const passes = (): boolean => {
    try {
      if (seen > maxBytes) throw tooLarge(maxBytes);
      checkBody(Buffer.concat(chunks).toString('utf8'), req.headers['content-type'] ?? '');
      return true;
    } catch (e) {
      refuse(e as AppError);
      return false;
    }
  };
  if (req.complete) {
    if (!passes()) return;
    if (chunks.length > 0) req.unshift(Buffer.concat(chunks));
    handle();
    return;
  }
  if (chunks.length > 0) req.unshift(Buffer.concat(chunks));
  const push = req.push.bind(req);
  // The HTTP parser hands each further chunk to push(), then null at the end; false makes it
  // stop reading the socket. After a refusal nothing more reaches the request stream.
  req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk === null) {
      req.push = push;
      if (!passes()) return false;
      const r = push(null);
      handle();
      return r;
    }
    if (chunk instanceof Uint8Array) {
      seen += chunk.length;
      if (seen > maxBytes) {
        req.push = () => false;
        refuse(tooLarge(maxBytes));
        return false;
      }
      chunks.push(Buffer.from(chunk));
    }
    return push(chunk, encoding);
  };
}
