/** Which catalogue table a delivered file is: by profile rule, name, yearly pattern or period suffix. */
import type { CatalogTable } from '../catalog/index.ts';
import type { InputFile } from './files.ts';
import { stemOf } from './files.ts';
import { DEFAULT_PROFILE, type DeliveryProfile } from './profile.ts';

/** A catalogue name's year placeholder (`T_MCOaaC`) as a pattern: the public schema names yearly PMSI tables so. */
function yearPlaceholderPattern(name: string): string | undefined {
  const at = name.indexOf('aa');
  if (at <= 0) return undefined;
  return `${name.slice(0, at).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([0-9]{2}|[0-9]{4})${name.slice(at + 2).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`;
}

function yearOf(text: string): number {
  const n = Number(text);
  return text.length === 2 ? 2000 + n : n;
}

/**
 * Which catalogue table a file is: the profile's file rules first, then the table's own name,
 * its `yearFromName` pattern or year placeholder (`T_MCOaaC` ← `T_MCO19C`), then a table name
 * followed by a period (`ER_PRS_F_202001`, DCIR monthly files). Undefined when none matches.
 */
export function tableOfFile(f: Pick<InputFile, 'name'>, tables: readonly CatalogTable[], profile: DeliveryProfile = DEFAULT_PROFILE): { table: CatalogTable; year: number | undefined } | undefined {
  const stem = stemOf(f.name);
  const byName = new Map(tables.map((t) => [t.name.toUpperCase(), t]));
  for (const rule of profile.files) {
    const m = new RegExp(rule.pattern, 'i').exec(stem);
    if (m === null) continue;
    const t = byName.get(rule.table.toUpperCase());
    if (t === undefined) continue;
    const y = rule.yearGroup === undefined ? undefined : m[rule.yearGroup];
    return { table: t, year: y === undefined ? undefined : yearOf(y) };
  }
  const exact = byName.get(stem.toUpperCase());
  if (exact !== undefined) return { table: exact, year: undefined };
  for (const t of tables) {
    const declared = t.enclave?.['yearFromName'];
    const pattern = typeof declared === 'string' ? declared : yearPlaceholderPattern(t.name);
    if (pattern === undefined) continue;
    const m = new RegExp(`^(?:${pattern})$`, 'i').exec(stem);
    if (m?.[1] !== undefined) return { table: t, year: yearOf(m[1]) };
  }
  const period = /^(.*?)[_-]?([0-9]{4})(?:[0-9]{2})?$/.exec(stem);
  if (period?.[1] !== undefined) {
    const t = byName.get(period[1].toUpperCase());
    if (t !== undefined) return { table: t, year: undefined };
  }
  return undefined;
}

