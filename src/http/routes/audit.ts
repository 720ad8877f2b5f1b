import { Hono } from 'hono';
import type { AuditLog } from '../../audit/index.ts';
import { AppError } from '../../errors.ts';

/**
 * Public transparency endpoints of the audit log: the latest signed checkpoint and proofs, so
 * outside witnesses can keep copies and detect a rolled-back or forked log. No event content
 * is served here (events are for auditors, behind login).
 */
export function auditRoutes(audit: AuditLog): Hono {
  const app = new Hono();
  app.get('/checkpoint', async (c) => {
    const cp = (await audit.latestCheckpoint()) ?? (await audit.checkpoint());
    return c.body(cp.note, 200, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  });
  app.get('/checkpoints', async (c) => c.json((await audit.checkpoints()).map((x) => ({ treeSize: x.treeSize, rootHash: x.rootHash, createdAt: x.createdAt, note: x.note }))));
  app.get('/proof/inclusion', async (c) => {
    const index = wholeNumber(c.req.query('index'), 'index');
    const size = c.req.query('size');
    return c.json(await audit.inclusionProof(index, size === undefined ? undefined : wholeNumber(size, 'size')));
  });
  app.get('/proof/consistency', async (c) => c.json(await audit.consistencyProof(wholeNumber(c.req.query('from'), 'from'), wholeNumber(c.req.query('to'), 'to'))));
  return app;
}

function wholeNumber(v: string | undefined, name: string): number {
  if (v === undefined || !/^\d{1,15}$/.test(v)) {
    throw new AppError('invalid', `query parameter ${name} must be a whole number`, { hint: `e.g. ?${name}=10` });
  }
  return Number(v);
}

const problem = { description: 'error', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };

export const auditOpenApiPaths: Readonly<Record<string, unknown>> = {
  '/audit/checkpoint': {
    get: {
      summary: 'Latest signed checkpoint of the audit log (C2SP tlog-checkpoint signed note)',
      tags: ['audit'],
      security: [],
      responses: { '200': { description: 'signed note', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  },
  '/audit/checkpoints': { get: { summary: 'Every checkpoint issued', tags: ['audit'], security: [], responses: { '200': { description: 'list of checkpoints' } } } },
  '/audit/proof/inclusion': {
    get: {
      summary: 'RFC 9162 inclusion proof of the event at a leaf index',
      tags: ['audit'],
      security: [],
      parameters: [
        { name: 'index', in: 'query', required: true, schema: { type: 'integer', minimum: 0 } },
        { name: 'size', in: 'query', required: false, schema: { type: 'integer', minimum: 1 } },
      ],
      responses: { '200': { description: 'proof' }, '400': problem, '404': problem },
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
      responses: { '200': { description: 'proof' }, '400': problem },
    },
  },
};
