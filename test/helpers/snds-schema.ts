/**
 * The community SNDS schema's structure (`test/vectors/schema-snds/`, MPL-2.0, see its NOTICE.md)
 * written back as a directory of Table Schema files, one per table under its product folder,
 * as `enclave catalog import` reads them. Descriptions are empty: the repository keeps no prose.
 */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { vectorPath } from './vectors.ts';

interface Digest { communeInDescription: string[]; tables: { path: string; schema: Record<string, unknown> }[] }

async function digest(): Promise<Digest> {
  return JSON.parse(await readFile(vectorPath('schema-snds/tables.json'), 'utf8')) as Digest;
}

/** Writes the 188 table schemas under a new temporary directory and returns its path. */
export async function writeSndsSchemas(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'enclave-schema-snds-'));
  for (const t of (await digest()).tables) {
    const file = join(root, t.path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(t.schema));
  }
  return root;
}

/** `TABLE.COLUMN` of the columns whose upstream description names a commune. */
export async function sndsCommuneColumns(): Promise<Set<string>> {
  return new Set((await digest()).communeInDescription);
}

/** The kept nomenclatures (`ORAVAL/IR_DPT_V`, `ORAVAL/IR_CIM_V`, `DREES/IR_PHA_R`), as a directory. */
export const sndsNomenclaturesDir: string = vectorPath('schema-snds/nomenclatures');
