/**
 * The application: validated with zod, stored as versions, compared with `diffApplications`.
 */
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Application } from './types.ts';

const text = (max: number) => z.string().trim().min(1).max(max);
const scopeTable = z.object({ table: z.string().regex(/^[A-Za-z0-9_]{1,64}$/), columns: z.array(z.string().regex(/^[A-Za-z0-9_]{1,64}$/)).min(1).max(500) }).strict();

export const applicationSchema = z.object({
  title: text(300),
  organisation: text(300),
  purpose: text(10_000),
  publicInterest: text(10_000),
  legalBasis: z.object({
    kind: z.enum(['cnil_authorisation', 'reference_methodology']),
    reference: text(100),
  }).strict(),
  ethicsOpinionReference: z.string().trim().max(100).nullable().default(null),
  funding: z.string().trim().max(2_000).default(''),
  team: z.array(z.object({ name: text(200), role: text(200), organisation: text(300) }).strict()).max(200).default([]),
  requestedScope: z.object({
    datasets: z.array(z.object({ dataset: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/), tables: z.array(scopeTable).min(1).max(200) }).strict()).min(1).max(20),
    years: z.object({ from: z.number().int().min(1950).max(2100), to: z.number().int().min(1950).max(2100) }).strict(),
    population: text(2_000),
    justification: text(10_000),
  }).strict(),
  /**
   * Why the study needs more than one potential identifier (SNDS rule): the committee may grant
   * the exception in the permit terms, which then name the columns and record this text.
   */
  potentialIdentifierJustification: z.string().trim().min(40, 'explain in at least 40 characters why each potential identifier is needed').max(4_000).nullable().default(null),
}).strict();

/** Validates an application body; every problem is reported at once with its path. */
export function parseApplication(body: unknown): Application {
  const r = applicationSchema.safeParse(body);
  if (!r.success) {
    const problems = r.error.issues.slice(0, 30).map((i) => `/${i.path.join('/')}: ${i.message}`);
    throw new AppError('invalid', `the application is incomplete or malformed:\n  ${problems.join('\n  ')}`, {
      hint: 'see the Application schema in /api/v1/openapi.json',
      details: { problems },
    });
  }
  if (r.data.requestedScope.years.from > r.data.requestedScope.years.to) {
    throw new AppError('invalid', 'requestedScope.years: from is after to', { hint: 'e.g. {"from": 2019, "to": 2023}' });
  }
  return r.data;
}

export interface DiffEntry {
  /** JSON pointer of the changed value. */
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** Leaf-level differences between two JSON values (arrays compared index by index). */
export function diffJson(before: unknown, after: unknown, path = ''): DiffEntry[] {
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
  if (isObj(before) && isObj(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffJson(before[k], after[k], `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path: path === '' ? '/' : path, before: before ?? null, after: after ?? null }];
}

export function diffApplications(a: Application, b: Application): DiffEntry[] {
  return diffJson(a, b);
}
