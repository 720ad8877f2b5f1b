/**
 * Sizes of the scale tests. `npm test` runs them at a size that still takes every path and
 * keeps the suite inside its budget; `npm run test:scale` (ENCLAVE_TEST_SCALE=full) runs them at
 * the size the issues ask for. A variable of the test's own (e.g. ENCLAVE_MIGRATE_ROUNDTRIP_GB)
 * overrides both.
 */
export const fullScale: boolean = process.env['ENCLAVE_TEST_SCALE'] === 'full';

/** The size to test at: `variable` if set, else `full` under test:scale, else `ci`. */
export function scaleSize(variable: string, sizes: { readonly ci: number; readonly full: number }): number {
  const set = process.env[variable];
  if (set === undefined || set === '') return fullScale ? sizes.full : sizes.ci;
  const n = Number(set);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${variable} must be a positive number, got ${JSON.stringify(set)}`);
  return n;
}
