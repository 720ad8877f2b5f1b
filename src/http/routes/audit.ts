import { Hono } from 'hono';
import type { AuditLog } from '../../audit/index.ts';
import { AppError } from '../../errors.ts';
import { ref } from '../api-schemas.ts';
import { authenticate, mountRoutes, principal, roles, SECURITY, wholeNumber, type AuthDeps, type AuthEnv } from '../auth.ts';

/**
 * Public transparency endpoints of the audit log: the latest signed (and witnessed) checkpoint,
 * proofs, and the tree as C2SP tlog-tiles hash tiles, so outside monitors and witnesses can
 * mirror it and detect a rolled-back or forked log. Every route here only reads: none signs or
 * writes (the checkpoint is signed by the schedule, never by a visitor). No event content is
 * public (events name people and projects): the tlog-tiles entry bundles are served to auditors
 * only, when `auth` is given, and each such read is itself recorded.
 */
export function auditRoutes(audit: AuditLog, auth?: AuthDeps): Hono {
  const app = new Hono();
  if (auth !== undefined) {
    const auditors = new Hono<AuthEnv>();
    // Only on this path: a public GET never looks a session up.
    auditors.use('/tile/entries/*', authenticate(auth));
    auditors.use('/events', authenticate(auth));
    mountRoutes(auditors, [{
      method: 'GET',
      path: '/events',
      response: ref('AuditEventsPage'),
      permission: roles('auditor'),
      summary: 'Audit events for auditors, newest first, filtered (?actor=<person id>&target=project:<id>&action=<action or prefix.>&since=&until=<ISO time>&limit≤200&offset), with the total; each read is recorded',
      handler: async (c) => {
        const q = (name: string): string | undefined => {
          const v = c.req.query(name);
          return v === undefined || v.trim() === '' ? undefined : v.trim();
        };
        const time = (name: string): Date | undefined => {
          const v = q(name);
          if (v === undefined) return undefined;
          const d = new Date(v);
          if (Number.isNaN(d.getTime())) throw new AppError('invalid', `${name} must be a date or time`, { hint: `e.g. ${name}=2026-01-31 or ${name}=2026-01-31T12:00:00Z`, details: { field: name } });
          return d;
        };
        const limit = q('limit') === undefined ? 50 : wholeNumber(q('limit'), 'limit');
        if (limit < 1 || limit > 200) throw new AppError('invalid', 'limit must be from 1 to 200', { details: { field: 'limit' } });
        const offset = q('offset') === undefined ? 0 : wholeNumber(q('offset'), 'offset');
        const p = principal(c);
        const actor = q('actor');
        const target = q('target');
        const action = q('action');
        const since = time('since');
        const until = time('until');
        const r = await audit.search({ actor: { kind: 'person', id: p.personId }, requestId: c.get('requestId') }, {
          limit, offset, ...(actor === undefined ? {} : { actor }), ...(target === undefined ? {} : { target }), ...(action === undefined ? {} : { action }),
          ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }),
        });
        c.header('Cache-Control', 'private, no-store');
        return c.json({ total: r.total, offset, limit, events: r.lines });
      },
    }, {
      method: 'GET',
      path: '/tile/entries/*',
      permission: roles('auditor'),
      summary: 'C2SP tlog-tiles entry bundle (the events, for auditors)',
      handler: async (c) => {
        const t = parseTilePath(c.req.path.slice(c.req.path.indexOf('/tile/') + '/tile/'.length));
        const p = principal(c);
        const bundle = await audit.entryBundle({ actor: { kind: 'person', id: p.personId }, requestId: c.get('requestId') }, t.index, t.width);
        if (bundle === null) throw new AppError('not_found', 'entry bundle beyond the latest checkpoint', { hint: 'read GET /api/v1/audit/checkpoint for the tree size' });
        return c.body(new Uint8Array(bundle), 200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'private, no-store' });
      },
    }], auth);
    app.route('/', auditors);
  }
  app.get('/checkpoint', async (c) => {
    const cp = await audit.publishedCheckpoint();
    if (cp === null) throw new AppError('not_found', 'no checkpoint signed yet', { hint: 'the server signs one within ENCLAVE_AUDIT_CHECKPOINT_SECONDS of the first event' });
    return c.body(cp.note, 200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  });
  // The public keys a checkpoint is checked with: the log's (C2SP signed-note vkey) and the
  // witnesses' (tlog-cosignature vkeys). Served for convenience: whoever checks compares them
  // with the ones published out of band (docs/audit.md), as a key served beside what it signs
  // proves nothing on its own.
  app.get('/keys', (c) => c.json({ log: audit.publicKey, witnesses: audit.witnessKeys }));
  app.get('/checkpoints', async (c) => c.json((await audit.checkpoints()).map((x) => ({ treeSize: x.treeSize, rootHash: x.rootHash, createdAt: x.createdAt, note: x.note }))));
  app.get('/proof/inclusion', async (c) => {
    const index = wholeNumber(c.req.query('index'), 'index');
    const size = c.req.query('size');
    return c.json(await audit.inclusionProof(index, size === undefined ? undefined : wholeNumber(size, 'size')));
  });
  app.get('/proof/consistency', async (c) => c.json(await audit.consistencyProof(wholeNumber(c.req.query('from'), 'from'), wholeNumber(c.req.query('to'), 'to'))));
  app.get('/tile/*', async (c) => {
    const path = c.req.path.slice(c.req.path.indexOf('/tile/') + '/tile/'.length);
    const t = parseTilePath(path);
    if (t.level === 'entries') {
      throw new AppError('unauthenticated', 'entry bundles are for auditors: events name people and projects', { hint: 'log in as an auditor, or use `enclave audit export`; the hash tiles here let anyone check the entries' });
    }
    const tile = await audit.hashTile(t.level, t.index, t.width);
    if (tile === null) throw new AppError('not_found', `tile ${path} is beyond the latest checkpoint`, { hint: 'read GET /api/v1/audit/checkpoint for the tree size' });
    // A full tile never changes; a partial one is replaced by wider ones as the log grows.
    return c.body(new Uint8Array(tile), 200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': t.width === 256 ? 'public, max-age=31536000, immutable' : 'no-store' });
  });
  return app;
}

/**
 * A C2SP tlog-tiles tile path `<L>/<N>[.p/<W>]` (or `entries/<N>[.p/<W>]`), N written in
 * groups of three digits, every group but the last prefixed with `x` (1234067 → x001/x234/067).
 */
export function parseTilePath(path: string): { level: number | 'entries'; index: number; width: number } {
  const bad = (why: string): AppError => new AppError('invalid', `tile path ${JSON.stringify(path.slice(0, 100))}: ${why}`, { hint: 'C2SP tlog-tiles: tile/<L>/<N>[.p/<W>], e.g. tile/0/x001/234 or tile/0/000.p/7' });
  const parts = path.split('/');
  const first = parts.shift();
  let level: number | 'entries';
  if (first === 'entries') level = 'entries';
  else if (first !== undefined && /^(0|[1-9][0-9]?)$/.test(first) && Number(first) <= 63) level = Number(first);
  else throw bad('the level must be 0–63 or "entries"');
  let width = 256;
  const p = parts.indexOf(parts.find((x) => x.endsWith('.p')) ?? '\0');
  if (p >= 0) {
    const w = parts[p + 1];
    if (p !== parts.length - 2 || w === undefined || !/^[1-9][0-9]{0,2}$/.test(w) || Number(w) > 255) throw bad('a partial tile ends with .p/<W>, W from 1 to 255');
    width = Number(w);
    parts[p] = (parts[p] ?? '').slice(0, -2);
    parts.pop();
  }
  if (parts.length === 0 || parts.length > 7) throw bad('missing tile index');
  let digits = '';
  for (const [i, s] of parts.entries()) {
    const last = i === parts.length - 1;
    if (!(last ? /^[0-9]{3}$/ : /^x[0-9]{3}$/).test(s)) throw bad('each index element is three digits, all but the last prefixed with x');
    digits += last ? s : s.slice(1);
  }
  if (parts.length > 1 && digits.startsWith('000')) throw bad('the index has a leading zero element');
  const index = Number(digits);
  if (!Number.isSafeInteger(index)) throw bad('index too large');
  return { level, index, width };
}

const problem = { description: 'error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };

export const auditOpenApiPaths: Readonly<Record<string, unknown>> = {
  '/audit/checkpoint': {
    get: {
      summary: 'Latest signed checkpoint of the audit log (C2SP tlog-checkpoint signed note, with witness cosignatures); also the tlog-tiles checkpoint',
      tags: ['audit'],
      security: [],
      responses: { '200': { description: 'signed note', content: { 'text/plain': { schema: { type: 'string' } } } }, '404': problem },
    },
  },
  '/audit/keys': { get: { summary: 'The public keys checkpoints are checked with: {"log": signed-note verifier key, "witnesses": [cosigner verifier keys]}', tags: ['audit'], security: [], responses: { '200': { description: 'verifier keys', content: { 'application/json': { schema: ref('AuditKeys') } } } } } },
  '/audit/checkpoints': { get: { summary: 'Every checkpoint issued', tags: ['audit'], security: [], responses: { '200': { description: 'list of checkpoints', content: { 'application/json': { schema: { type: 'array', items: ref('CheckpointSummary') } } } } } } },
  '/audit/tile/{path}': {
    get: {
      summary: 'C2SP tlog-tiles hash tile: tile/<L>/<N>[.p/<W>] (entry bundles are not public)',
      tags: ['audit'],
      security: [],
      parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' }, description: 'e.g. 0/x001/234 or 0/000.p/7' }],
      responses: { '200': { description: 'concatenated 32-byte hashes', content: { 'application/octet-stream': {} } }, '400': problem, '404': problem },
    },
  },
  '/audit/tile/entries/{path}': {
    get: {
      summary: 'C2SP tlog-tiles entry bundle: the events (uint16 length-prefixed JCS), for auditors; each read is recorded',
      tags: ['audit'],
      security: [{ [SECURITY.session]: [] }, { [SECURITY.bearer]: [] }],
      parameters: [{ name: 'path', in: 'path', required: true, schema: { type: 'string' }, description: 'e.g. 000 or 000.p/7' }],
      responses: { '200': { description: 'entry bundle', content: { 'application/octet-stream': {} } }, '401': problem, '403': problem, '404': problem },
    },
  },
  '/audit/events': {
    get: {
      summary: 'Audit events for auditors, newest first, filtered by actor, target, action and time, paged; each read is recorded',
      tags: ['audit'],
      security: [{ [SECURITY.session]: [] }, { [SECURITY.bearer]: [] }],
      parameters: ['actor', 'target', 'action', 'since', 'until', 'limit', 'offset'].map((name) => ({ name, in: 'query', required: false, schema: { type: name === 'limit' || name === 'offset' ? 'integer' : 'string' } })),
      responses: { '200': { description: 'a page of export lines (index, leafHash, leafSig, event) and the total' }, '400': problem, '401': problem, '403': problem },
    },
  },
  '/audit/proof/inclusion': {
    get: {
      summary: 'RFC 9162 inclusion proof of the event at a leaf index',
      tags: ['audit'],
      security: [],
      parameters: [
        { name: 'index', in: 'query', required: true, schema: { type: 'integer', minimum: 0 } },
        { name: 'size', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } },
      ],
      responses: { '200': { description: 'proof', content: { 'application/json': { schema: ref('InclusionProof') } } }, '400': problem, '404': problem },
    },
  },
  '/audit/proof/consistency': {
    get: {
      summary: 'RFC 9162 consistency proof between two tree sizes',
      tags: ['audit'],
      security: [],
      parameters: [
        { name: 'from', in: 'query', required: true, schema: { type: 'integer', minimum: 1 } },
        { name: 'to', in: 'query', required: true, schema: { type: 'integer', minimum: 1 } },
      ],
      responses: { '200': { description: 'proof', content: { 'application/json': { schema: ref('ConsistencyProof') } } }, '400': problem },
    },
  },
};
