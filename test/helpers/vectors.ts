/**
 * Where the test vectors live: `test/vectors/` inside the repository (see its README.md for
 * origins and licences). Tests never read reference material from outside the repository.
 */
import { fileURLToPath } from 'node:url';

/** Absolute path of `test/vectors/`, with a trailing separator. */
export const vectorsDir: string = fileURLToPath(new URL('../vectors/', import.meta.url));

/** Absolute path of one file or folder under `test/vectors/`. */
export function vectorPath(rel: string): string {
  return fileURLToPath(new URL(`../vectors/${rel}`, import.meta.url));
}
