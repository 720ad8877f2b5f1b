/**
 * The French NIR (numéro d'inscription au répertoire, "numéro de sécurité sociale"): 13
 * characters and a 2-digit control key = 97 − (NIR13 mod 97), with Corsica's 2A/2B read as
 * 19/18 for the computation. Rules are named constants with boundary tests (nir.test.ts).
 */

/** Sex digit: 1/2 (permanent), 3/4 (foreign-born, provisional), 7/8 (temporary numbers). */
export const NIR_SEX_DIGITS = '123478';
/** Department "00" does not exist: a checksum-valid NIR with it is still refused. */
export const NIR_FORBIDDEN_DEPARTMENT = '00';
export const NIR_MODULUS = 97n;

const NIR_SHAPE = /^([1-8])(\d{2})(\d{2})(\d{2}|2A|2B)(\d{3})(\d{3})(\d{2})$/;

export type NirCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly rule: 'nir_format' | 'nir_key'; readonly reason: string };

export interface NirOptions {
  /** Remove spaces and upper-case before checking (for forms typed by people, never for deliveries). */
  readonly clean?: boolean;
}

/** Control key of the 13 first characters: 97 − (n mod 97), so 01..97, never 00. */
export function nirControlKey(nir13: string): number {
  const digits = nir13.replace('2A', '19').replace('2B', '18');
  return Number(NIR_MODULUS - (BigInt(digits) % NIR_MODULUS));
}

export function checkNir(input: string, options: NirOptions = {}): NirCheck {
  const s = options.clean === true ? input.replace(/\s+/g, '').toUpperCase() : input;
  const m = NIR_SHAPE.exec(s);
  if (m === null) {
    return { ok: false, rule: 'nir_format', reason: s.length === 15 ? 'not a NIR: wrong characters' : `not a NIR: ${s.length} characters instead of 15` };
  }
  const [, sex = '', , month = '', dept = '', , , key = ''] = m;
  if (!NIR_SEX_DIGITS.includes(sex)) return { ok: false, rule: 'nir_format', reason: `sex digit ${sex} is not one of ${NIR_SEX_DIGITS}` };
  const mm = Number(month);
  // 01–12, or 20 and above for unknown or fictitious months of birth.
  if (mm === 0 || (mm > 12 && mm < 20)) return { ok: false, rule: 'nir_format', reason: `month ${month} is not a month` };
  if (dept === NIR_FORBIDDEN_DEPARTMENT) return { ok: false, rule: 'nir_format', reason: 'department 00 does not exist' };
  const expected = nirControlKey(s.slice(0, 13));
  if (Number(key) !== expected) return { ok: false, rule: 'nir_key', reason: 'control key does not match' };
  return { ok: true };
}

/**
 * The same rule as a DuckDB SQL expression over a VARCHAR expression `v`, returning NULL when
 * the NIR is valid (or `v` is NULL), else the rule name. Used by ingestion on whole files.
 */
export function nirViolationSql(v: string): string {
  const shape = `'^[${NIR_SEX_DIGITS}][0-9]{2}(0[1-9]|1[0-2]|[2-9][0-9])([0-9]{2}|2A|2B)[0-9]{8}$'`;
  const digits = `replace(replace(substr(${v}, 1, 13), '2A', '19'), '2B', '18')`;
  return `CASE WHEN ${v} IS NULL THEN NULL
    WHEN NOT regexp_full_match(${v}, ${shape}) OR substr(${v}, 6, 2) = '${NIR_FORBIDDEN_DEPARTMENT}' THEN 'nir_format'
    WHEN 97 - (CAST(${digits} AS HUGEINT) % 97) <> CAST(substr(${v}, 14, 2) AS INTEGER) THEN 'nir_key'
    ELSE NULL END`;
}
