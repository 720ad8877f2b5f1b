/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the byte-exact form of an audit event that is
 * hashed into the Merkle tree, so that any independent RFC 8785 implementation computes the
 * same leaf. ECMAScript's own number and string serialisation are the ones RFC 8785 specifies;
 * what JCS adds is sorting object keys by UTF-16 code units and refusing what JSON cannot hold.
 */
import { AppError } from '../errors.ts';

/** A JSON value as the audit log accepts it (no undefined, no functions, finite numbers). */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

function serialiseString(s: string): string {
  // RFC 8785 §3.2.2.2: strings must be valid Unicode; a lone surrogate has no UTF-8 form.
  // (isWellFormed is the native test: every event of a verification goes through here.)
  if (!s.isWellFormed()) throw new AppError('invalid', 'canonical JSON: string holds a lone surrogate');
  return JSON.stringify(s);
}

/**
 * Serialises a value in RFC 8785 canonical form.
 *
 * @example
 *   canonicalJson({ b: 1, a: [true, null, 'é'] }) // '{"a":[true,null,"é"],"b":1}'
 */
export function canonicalJson(value: JsonValue): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new AppError('invalid', 'canonical JSON: numbers must be finite');
      // ES Number::toString is the RFC 8785 §3.2.2.3 algorithm; -0 serialises as 0.
      return JSON.stringify(value);
    case 'string':
      return serialiseString(value);
    case 'object': {
      if (Array.isArray(value)) return `[${(value as readonly JsonValue[]).map(canonicalJson).join(',')}]`;
      const obj = value as { readonly [key: string]: JsonValue };
      // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 requires.
      const keys = Object.keys(obj).sort();
      const parts: string[] = [];
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) throw new AppError('invalid', `canonical JSON: key ${JSON.stringify(k)} is undefined`);
        parts.push(`${serialiseString(k)}:${canonicalJson(v)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new AppError('invalid', `canonical JSON: ${typeof value} is not a JSON value`);
  }
}
