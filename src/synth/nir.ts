/**
 * French NIR (numéro d'inscription au répertoire) control key: 97 − (13-digit number mod 97),
 * with Corsica's 2A/2B replaced by 19/18 for the computation only.
 */

/** The number the key is computed on, or undefined when the 13 characters are not a NIR body. */
function nirBody(body13: string): bigint | undefined {
  if (body13.length !== 13) return undefined;
  const digits = body13.replace(/^(.{5})2A/, '$119').replace(/^(.{5})2B/, '$118');
  if (!/^[0-9]{13}$/.test(digits)) return undefined;
  return BigInt(digits);
}

/** Two-digit control key ('01'…'97') for a 13-character NIR body. */
export function nirControlKey(body13: string): string {
  const n = nirBody(body13);
  if (n === undefined) throw new RangeError('not a 13-character NIR body');
  return String(97n - (n % 97n)).padStart(2, '0');
}

/** True when a 15-character NIR carries the right control key. */
export function isValidNir(nir: string): boolean {
  if (nir.length !== 15) return false;
  const n = nirBody(nir.slice(0, 13));
  return n !== undefined && nir.slice(13) === String(97n - (n % 97n)).padStart(2, '0');
}
