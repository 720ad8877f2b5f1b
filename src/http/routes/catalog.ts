/**
 * Public catalogue routes (no login): mounted under /api/v1/catalog. Thrown `AppError`s become
 * problem+json in the app's single error handler.
 */
import { Hono } from 'hono';
import type { CatalogService } from '../../catalog/index.ts';
import { AppError } from '../../errors.ts';
import { listOf, ref } from '../api-schemas.ts';

const MAX_QUERY_LENGTH = 200;

function intParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^\d{1,9}$/.test(value)) {
    throw new AppError('invalid', `query parameter ${name} must be a non-negative integer`, { hint: `e.g. ?${name}=50` });
  }
  return Number(value);
}

/**
 * @example
 *   api.route('/catalog', catalogRoutes(catalog)); // GET /api/v1/catalog/datasets
 */
export function catalogRoutes(catalog: CatalogService): Hono {
  const app = new Hono();
  app.get('/datasets', async (c) => c.json({ datasets: await catalog.listDatasets() }));
  app.get('/datasets/:dataset', async (c) => c.json(await catalog.getDataset(c.req.param('dataset'))));
  // Every table of a dataset with its columns and keys, in one answer: the table page, its
  // diagram and the wizard's column picker need them all (one call instead of one per table).
  app.get('/datasets/:dataset/tables', async (c) => {
    const ds = await catalog.getDataset(c.req.param('dataset'));
    return c.json({ dataset: ds.name, tables: await catalog.getTables(ds.name) });
  });
  app.get('/datasets/:dataset/tables/:table', async (c) =>
    c.json(await catalog.getTable(c.req.param('dataset'), c.req.param('table'))),
  );
  app.get('/search', async (c) => {
    const q = c.req.query('q') ?? '';
    if (q.trim() === '') throw new AppError('invalid', 'query parameter q is required', { hint: 'e.g. /api/v1/catalog/search?q=date+de+soins' });
    if (q.length > MAX_QUERY_LENGTH) {
      throw new AppError('invalid', `query parameter q is longer than ${MAX_QUERY_LENGTH} characters`, { hint: 'search with a few words' });
    }
    const limit = intParam(c.req.query('limit'), 'limit');
    return c.json({ q, hits: await catalog.search(q, limit === undefined ? {} : { limit }) });
  });
  app.get('/nomenclatures', async (c) => c.json({ nomenclatures: await catalog.listNomenclatures() }));
  app.get('/nomenclatures/:name', async (c) => {
    const limit = intParam(c.req.query('limit'), 'limit');
    const offset = intParam(c.req.query('offset'), 'offset');
    const q = c.req.query('q');
    if (q !== undefined && q.length > MAX_QUERY_LENGTH) {
      throw new AppError('invalid', `query parameter q is longer than ${MAX_QUERY_LENGTH} characters`);
    }
    return c.json(
      await catalog.getNomenclature(c.req.param('name'), {
        ...(limit === undefined ? {} : { limit }),
        ...(offset === undefined ? {} : { offset }),
        ...(q === undefined ? {} : { q }),
      }),
    );
  });
  return app;
}

const problem = { description: 'problem+json', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
const json = (description: string, schema: Record<string, unknown>) => ({ description, content: { 'application/json': { schema } } });
const pathParam = (name: string, description: string) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } });
const queryInt = (name: string, description: string) => ({ name, in: 'query', required: false, description, schema: { type: 'integer', minimum: 0 } });

const tags = ['catalog'];
const security: unknown[] = [];

/** OpenAPI 3.1 path items of the catalogue, relative to /api/v1. */
export const catalogOpenApiPaths: Readonly<Record<string, unknown>> = {
  '/catalog/datasets': {
    get: { summary: 'List datasets of the public catalogue', tags, security, responses: { '200': json('Datasets', listOf('datasets', 'DatasetSummary')) } },
  },
  '/catalog/datasets/{dataset}': {
    get: {
      summary: 'A dataset and its tables', tags, security,
      parameters: [pathParam('dataset', 'dataset name, e.g. snds')],
      responses: {
        '200': json('Dataset', ref('Dataset')),
        '404': problem,
      },
    },
  },
  '/catalog/datasets/{dataset}/tables': {
    get: {
      summary: 'Every table of a dataset with its columns, keys and column sensitivity (one call for a page that needs them all)', tags, security,
      parameters: [pathParam('dataset', 'dataset name, e.g. snds')],
      responses: { '200': json('Tables', { type: 'object', required: ['dataset', 'tables'], properties: { dataset: { type: 'string' }, tables: { type: 'array', items: ref('Table') } } }), '404': problem },
    },
  },
  '/catalog/datasets/{dataset}/tables/{table}': {
    get: {
      summary: 'A table with its columns, keys and column sensitivity', tags, security,
      parameters: [pathParam('dataset', 'dataset name'), pathParam('table', 'table name, case-insensitive, e.g. ER_PRS_F')],
      responses: {
        '200': json('Table', ref('Table')),
        '404': problem,
      },
    },
  },
  '/catalog/search': {
    get: {
      summary: 'Search datasets, tables, columns and nomenclatures (every word must match; accents ignored)', tags, security,
      parameters: [
        { name: 'q', in: 'query', required: true, schema: { type: 'string', maxLength: MAX_QUERY_LENGTH } },
        queryInt('limit', 'at most this many hits (default 50, max 200)'),
      ],
      responses: {
        '200': json('Hits, best first', { type: 'object', required: ['q', 'hits'], properties: { q: { type: 'string' }, hits: { type: 'array', items: ref('SearchHit') } } }),
        '400': problem,
      },
    },
  },
  '/catalog/nomenclatures': {
    get: { summary: 'List nomenclatures (code lists)', tags, security, responses: { '200': json('Nomenclatures', listOf('nomenclatures', 'NomenclatureSummary')) } },
  },
  '/catalog/nomenclatures/{name}': {
    get: {
      summary: 'A nomenclature and one page of its codes', tags, security,
      parameters: [
        pathParam('name', 'nomenclature name, e.g. IR_CIM_V'),
        queryInt('limit', 'codes per page (default 100, max 1000)'),
        queryInt('offset', 'codes to skip'),
        { name: 'q', in: 'query', required: false, description: 'filter on code or label', schema: { type: 'string', maxLength: MAX_QUERY_LENGTH } },
      ],
      responses: {
        '200': json('Nomenclature page', ref('NomenclaturePage')),
        '400': problem,
        '404': problem,
      },
    },
  },
};
