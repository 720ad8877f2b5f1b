/**
 * Serves the built web portal (web/dist) under `/`: files by exact path, and index.html for
 * every other GET that is not an API path (the portal routes in the browser). Files are read
 * once into memory (the build is a few hundred kilobytes); asset names carry a content hash so
 * they are cached for good, while index.html is always revalidated. The default language of
 * the portal, from configuration, is written into index.html (no inline script: the CSP
 * forbids them).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

interface StaticFile {
  readonly body: Uint8Array;
  readonly type: string;
  readonly etag: string;
  readonly immutable: boolean;
}

export interface PortalOptions {
  /** The Vite build output (web/dist). */
  readonly dir: string;
  /** Default language of the portal (config.language). */
  readonly language: 'fr' | 'en';
}

/** A function answering GET/HEAD for a non-API path, or undefined when it has nothing to say. */
export type Portal = (method: string, path: string, ifNoneMatch: string | undefined) => Response | undefined;

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function load(opts: PortalOptions): Map<string, StaticFile> | undefined {
  if (!existsSync(join(opts.dir, 'index.html'))) return undefined;
  const files = new Map<string, StaticFile>();
  for (const p of walk(opts.dir)) {
    const url = '/' + relative(opts.dir, p).split(sep).join('/');
    let body: Uint8Array = readFileSync(p);
    if (url === '/index.html') {
      body = Buffer.from(
        Buffer.from(body)
          .toString('utf8')
          .replace(/<html lang="[a-z]{2}"/, `<html lang="${opts.language}"`)
          .replace(/(<meta name="enclave-language" content=")[a-z]{2}(")/, `$1${opts.language}$2`),
      );
    }
    files.set(url, {
      body,
      type: TYPES[extname(p).toLowerCase()] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      immutable: url.startsWith('/assets/'),
    });
  }
  return files;
}

/** Paths the portal never answers: the API and health have their own problem+json 404. */
function isReserved(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/healthz';
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Enclave</title></head><body>
<h1>Enclave</h1><p>The web portal is not built. Run <code>npm run web:build</code> (done by <code>npm run up</code>), then reload.</p>
<p>The API is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></body></html>`;

/**
 * @example
 *   createHttpApp({ ..., portal: staticPortal({ dir: 'web/dist', language: config.language }) });
 */
export function staticPortal(opts: PortalOptions): Portal {
  let files = load(opts);
  return (method, path, ifNoneMatch) => {
    if ((method !== 'GET' && method !== 'HEAD') || isReserved(path)) return undefined;
    files ??= load(opts);
    if (files === undefined) {
      return new Response(method === 'HEAD' ? null : NOT_BUILT, { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' } });
    }
    const exact = files.get(path);
    // A missing hashed asset is a real 404 (a stale page asking for an old build), not the app.
    if (exact === undefined && path.startsWith('/assets/')) return undefined;
    const f = exact ?? files.get('/index.html');
    if (f === undefined) return undefined;
    const headers: Record<string, string> = {
      'Content-Type': f.type,
      ETag: f.etag,
      'Cache-Control': f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    };
    if (ifNoneMatch === f.etag) return new Response(null, { status: 304, headers });
    return new Response(method === 'HEAD' ? null : f.body, { status: 200, headers });
  };
}
