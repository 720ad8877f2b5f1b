/**
 * Preloaded into every Node process of `npm test` (scripts/test.ts puts it in NODE_OPTIONS): new
 * PGlite databases start from the seed the runner wrote once (TEST_PGLITE_SEED, not an ENCLAVE_
 * name: tests that hand a child process only its own ENCLAVE_ settings keep it) instead of
 * running initdb, seconds of CPU each. Without the variable (a test file run on its own) it
 * does nothing, and initdb runs as in production.
 */
import { usePgliteSeed } from '../../src/db/pglite.ts';

const file = process.env['TEST_PGLITE_SEED'];
if (file !== undefined && file !== '') usePgliteSeed(file);
