/**
 * Serves the built web portal (web/dist) under `/`: files by exact path, and index.html for
 * every other GET that is not an API path (the portal routes in the browser). Files are read
 * once into memory (the build is a few hundred kilobytes); asset names carry a content hash so
 * they are cached for good, while index.html is always revalidated. The default language of
 * the portal, from configuration, is written into index.html (no inline script: the CSP
 * forbids them). Text files are compressed once at load (brotli and gzip) and sent compressed
 * to browsers that accept it. The build lists the portal's route patterns (routes.json, written
 * by web/vite.config.ts from the router's table): a path none of them matches still gets the
 * app, which shows its "page not found", but with status 404.
 */
import { createHash } from 'node:crypto';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';
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
  /** Compressed copies, when they are smaller (text files only). */
  readonly br: Uint8Array | undefined;
  readonly gzip: Uint8Array | undefined;
  readonly type: string;
  readonly etag: string;
  readonly immutable: boolean;
}

/** Below this a compressed copy saves less than its headers cost. */
const MIN_COMPRESS_BYTES = 512;
const COMPRESSIBLE = /^(text\/|application\/json|image\/svg\+xml)/;

export interface PortalOptions {
  /** The Vite build output (web/dist). */
  readonly dir: string;
  /** Default language of the portal (config.language). */
  readonly language: 'fr' | 'en';
}

/**
 * A function answering GET/HEAD for a non-API path, or undefined when it has nothing to say.
 * `acceptEncoding` is the request's Accept-Encoding header.
 */
export type Portal = (method: string, path: string, ifNoneMatch: string | undefined, acceptEncoding?: string) => Response | undefined;

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

function compressed(body: Uint8Array, type: string): { br: Uint8Array | undefined; gzip: Uint8Array | undefined } {
  if (body.byteLength < MIN_COMPRESS_BYTES || !COMPRESSIBLE.test(type)) return { br: undefined, gzip: undefined };
  const br = brotliCompressSync(body, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: body.byteLength } });
  const gz = gzipSync(body, { level: 9 });
  return { br: br.byteLength < body.byteLength ? br : undefined, gzip: gz.byteLength < body.byteLength ? gz : undefined };
}

/** The portal's route patterns from the build (`/projects/:id`), or undefined in an older build. */
function loadRoutes(dir: string): readonly (readonly string[])[] | undefined {
  const p = join(dir, 'routes.json');
  if (!existsSync(p)) return undefined;
  const parsed: unknown = JSON.parse(readFileSync(p, 'utf8'));
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error(`${p}: expected a JSON array of route patterns; rebuild the portal with npm run web:build`);
  return parsed.map((r: string) => r.split('/').filter(Boolean));
}

function isPortalRoute(routes: readonly (readonly string[])[], path: string): boolean {
  const s = path.split('/').filter(Boolean);
  return routes.some((r) => r.length === s.length && r.every((seg, i) => seg.startsWith(':') || seg === s[i]));
}

/** br before gzip when both are accepted (q=0 refuses one). */
function pickEncoding(accept: string | undefined, f: StaticFile): 'br' | 'gzip' | undefined {
  if (accept === undefined) return undefined;
  const ok = (name: string): boolean => accept.split(',').some((part) => {
    const [token, ...params] = part.trim().split(';');
    return token?.trim().toLowerCase() === name && !params.some((q) => /^\s*q=0(\.0+)?\s*$/.test(q));
  });
  if (f.br !== undefined && ok('br')) return 'br';
  if (f.gzip !== undefined && ok('gzip')) return 'gzip';
  return undefined;
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
    const type = TYPES[extname(p).toLowerCase()] ?? 'application/octet-stream';
    files.set(url, {
      body,
      ...compressed(body, type),
      type,
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
  let routes = files === undefined ? undefined : loadRoutes(opts.dir);
  return (method, path, ifNoneMatch, acceptEncoding) => {
    if ((method !== 'GET' && method !== 'HEAD') || isReserved(path)) return undefined;
    if (files === undefined) {
      files = load(opts);
      routes = files === undefined ? undefined : loadRoutes(opts.dir);
    }
    if (files === undefined) {
      return new Response(method === 'HEAD' ? null : NOT_BUILT, { status: 503, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' } });
    }
    const exact = files.get(path);
    // A missing hashed asset is a real 404 (a stale page asking for an old build), not the app.
    if (exact === undefined && path.startsWith('/assets/')) return undefined;
    const f = exact ?? files.get('/index.html');
    if (f === undefined) return undefined;
    // The app for a path it has no page for: its "page not found", with the status to match.
    const status = exact === undefined && routes !== undefined && !isPortalRoute(routes, path) ? 404 : 200;
    const encoding = pickEncoding(acceptEncoding, f);
    const headers: Record<string, string> = {
      'Content-Type': f.type,
      ETag: encoding === undefined ? f.etag : `${f.etag.slice(0, -1)}-${encoding}"`,
      'Cache-Control': f.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      Vary: 'Accept-Encoding',
    };
    if (encoding !== undefined) headers['Content-Encoding'] = encoding;
    if (status === 200 && ifNoneMatch === headers['ETag']) return new Response(null, { status: 304, headers });
    const body = encoding === 'br' ? f.br : encoding === 'gzip' ? f.gzip : f.body;
    return new Response(method === 'HEAD' ? null : (body ?? f.body), { status, headers });
  };
}
