/**
 * Test-only access to the reference vectors kept in the repository under `test/vectors/`
 * (origins and licences in its README.md and each folder's NOTICE.md).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `test/vectors/` of this repository (the same folder as test/helpers/vectors.ts names). */
export const vectorsDir: string = fileURLToPath(new URL('../../test/vectors/', import.meta.url));

/** Parses JSON keeping integers beyond 2^53 exact (as bigint), e.g. the 2^64−1 probe index. */
export function parseJsonExact(text: string): unknown {
  const reviver = (_key: string, value: unknown, context?: { source?: string }): unknown => {
    if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value) && context?.source !== undefined) return BigInt(context.source);
    return value;
  };
  return JSON.parse(text, reviver);
}

/** Reads one vector file as JSON. */
export function readVector(relPath: string): unknown {
  return parseJsonExact(readFileSync(join(vectorsDir, relPath), 'utf8'));
}

/** Every `.json` file under a vector folder, recursively, sorted. */
export function listVectorFiles(relDir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(vectorsDir, rel)).sort()) {
      const r = join(rel, name);
      if (statSync(join(vectorsDir, r)).isDirectory()) walk(r);
      else if (name.endsWith('.json')) out.push(r);
    }
  };
  walk(relDir);
  return out;
}
