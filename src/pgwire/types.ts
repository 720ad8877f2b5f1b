/**
 * PostgreSQL types of the engine's columns: type OIDs (as in PostgreSQL's pg_type.dat), and the
 * text and binary wire formats of the workspace's JSON-safe cells (`CellValue`: big integers and
 * decimals as strings, dates and timestamps as ISO strings, intervals as
 * `{months, days, micros}`, lists as arrays, structs as objects).
 */
import type { CellValue } from '../engine/index.ts';

export interface PgType {
  readonly oid: number;
  readonly name: string;
  /** pg_type.typlen (-1: variable). */
  readonly len: number;
  /** Type modifier sent in RowDescription (numeric precision/scale), -1 when none. */
  readonly typmod: number;
}

const T = (oid: number, name: string, len: number): PgType => ({ oid, name, len, typmod: -1 });

export const PG = {
  bool: T(16, 'bool', 1), bytea: T(17, 'bytea', -1), char: T(18, 'char', 1), name: T(19, 'name', 64), int8: T(20, 'int8', 8), int2: T(21, 'int2', 2),
  int4: T(23, 'int4', 4), text: T(25, 'text', -1), oid: T(26, 'oid', 4), json: T(114, 'json', -1), float4: T(700, 'float4', 4), float8: T(701, 'float8', 8),
  varchar: T(1043, 'varchar', -1), date: T(1082, 'date', 4), time: T(1083, 'time', 8), timestamp: T(1114, 'timestamp', 8), timestamptz: T(1184, 'timestamptz', 8),
  interval: T(1186, 'interval', 16), numeric: T(1700, 'numeric', -1), uuid: T(2950, 'uuid', 16), regproc: T(24, 'regproc', 4), regclass: T(2205, 'regclass', 4),
  bpchar: T(1042, 'bpchar', -1),
} as const;

/** Element type OID → its array type OID (pg_type.typarray). */
export const ARRAY_OF: ReadonlyMap<number, PgType> = new Map([
  [16, T(1000, '_bool', -1)], [17, T(1001, '_bytea', -1)], [19, T(1003, '_name', -1)], [21, T(1005, '_int2', -1)], [23, T(1007, '_int4', -1)], [25, T(1009, '_text', -1)],
  [1043, T(1015, '_varchar', -1)], [20, T(1016, '_int8', -1)], [700, T(1021, '_float4', -1)], [701, T(1022, '_float8', -1)], [1082, T(1182, '_date', -1)],
  [1083, T(1183, '_time', -1)], [1114, T(1115, '_timestamp', -1)], [1184, T(1185, '_timestamptz', -1)], [1186, T(1187, '_interval', -1)], [1700, T(1231, '_numeric', -1)],
  [2950, T(2951, '_uuid', -1)], [114, T(199, '_json', -1)], [26, T(1028, '_oid', -1)], [1042, T(1014, '_bpchar', -1)],
]);
const ELEMENT_OF = new Map([...ARRAY_OF].map(([el, arr]) => [arr.oid, el]));

export const TYPES_BY_OID: ReadonlyMap<number, PgType> = new Map([...Object.values(PG), ...ARRAY_OF.values()].map((t) => [t.oid, t]));

/**
 * A column type as the engine names it → its PostgreSQL type. DuckDB's names (`BIGINT`,
 * `DECIMAL(10,2)`, `VARCHAR[]`, `STRUCT(...)`) and Trino's (`varchar(12)`, `char(3)`,
 * `timestamp(3)`, `timestamp(6) with time zone`, `time(3)`, `varbinary`, `array(bigint)`,
 * `row(...)`, `map(...)`, `json`), upper-cased or not.
 */
export function pgTypeOf(engineType: string): PgType {
  const t = engineType.trim().toUpperCase().replace(/\s+/g, ' ');
  if (t.endsWith('[]')) {
    const el = pgTypeOf(t.slice(0, -2));
    return ARRAY_OF.get(el.oid) ?? PG.json;
  }
  // Trino: array(T); rows and maps have no PostgreSQL type and go as JSON.
  const arr = /^ARRAY\((.*)\)$/.exec(t);
  if (arr !== null) return ARRAY_OF.get(pgTypeOf(arr[1] ?? '').oid) ?? PG.json;
  const dec = /^(?:DECIMAL|NUMERIC)\s*\((\d+)\s*,\s*(\d+)\)$/.exec(t);
  if (dec !== null) return { ...PG.numeric, typmod: ((Number(dec[1]) << 16) | Number(dec[2])) + 4 };
  // Trino's bounded strings. varchar(n) is text, as DuckDB's VARCHAR: Trino types string literals
  // and expressions over them as varchar(n) (`CASE … THEN 'many'` is varchar(4)), where PostgreSQL
  // and DuckDB say text; the extract's columns are unbounded varchar. char(n) is bpchar(n).
  if (/^VARCHAR\(\d+\)$/.test(t)) return PG.text;
  const sized = /^CHAR\((\d+)\)$/.exec(t);
  if (sized !== null) return { ...PG.bpchar, typmod: Number(sized[1]) + 4 };
  // Trino's precisions (timestamp(3), time(6), … with time zone): PostgreSQL keeps microseconds.
  const prec = /^(TIMESTAMP|TIME)\(\d+\)( WITH TIME ZONE)?$/.exec(t);
  if (prec !== null) return prec[1] === 'TIME' ? PG.time : prec[2] === undefined ? PG.timestamp : PG.timestamptz;
  switch (t) {
    case 'BOOLEAN': case 'BOOL': return PG.bool;
    case 'TINYINT': case 'UTINYINT': case 'SMALLINT': return PG.int2;
    case 'USMALLINT': case 'INTEGER': case 'INT': return PG.int4;
    case 'UINTEGER': case 'BIGINT': return PG.int8;
    case 'UBIGINT': case 'HUGEINT': case 'UHUGEINT': case 'DECIMAL': case 'NUMERIC': case 'VARINT': case 'BIGNUM': return PG.numeric;
    case 'FLOAT': case 'REAL': return PG.float4;
    case 'DOUBLE': return PG.float8;
    case 'VARCHAR': case 'TEXT': case 'STRING': case 'ENUM': return PG.text;
    case 'DATE': return PG.date;
    case 'TIME': return PG.time;
    case 'TIMESTAMP': case 'TIMESTAMP_S': case 'TIMESTAMP_MS': case 'TIMESTAMP_NS': case 'DATETIME': return PG.timestamp;
    case 'TIMESTAMP WITH TIME ZONE': case 'TIMESTAMPTZ': return PG.timestamptz;
    case 'INTERVAL': return PG.interval;
    case 'UUID': return PG.uuid;
    case 'BLOB': case 'BYTEA': case 'VARBINARY': return PG.bytea;
    case 'JSON': return PG.json;
    case 'CHAR': return { ...PG.bpchar, typmod: 5 };
    case '"NULL"': case 'NULL': return PG.text;
    default: return t.startsWith('ENUM(') ? PG.text : PG.json;
  }
}

/** `format_type` of a column type, as psql and JDBC show it. */
export function formatType(t: PgType): string {
  const names: Record<string, string> = {
    bool: 'boolean', int2: 'smallint', int4: 'integer', int8: 'bigint', float4: 'real', float8: 'double precision', varchar: 'character varying',
    timestamp: 'timestamp without time zone', timestamptz: 'timestamp with time zone', time: 'time without time zone', bpchar: 'character',
  };
  if ((t.oid === PG.varchar.oid || t.oid === PG.bpchar.oid) && t.typmod > 4) return `${t.oid === PG.varchar.oid ? 'character varying' : 'character'}(${t.typmod - 4})`;
  if (t.oid === PG.numeric.oid && t.typmod > 0) return `numeric(${(t.typmod - 4) >> 16},${(t.typmod - 4) & 0xffff})`;
  if (t.name.startsWith('_')) {
    const el = TYPES_BY_OID.get(ELEMENT_OF.get(t.oid) ?? 25);
    return `${el === undefined ? 'text' : formatType(el)}[]`;
  }
  return names[t.name] ?? t.name;
}

/** An interval's microseconds: the engine sends them as a string (they exceed 2^53). */
function bigintOf(v: CellValue | undefined): bigint {
  return typeof v === 'string' || typeof v === 'number' ? BigInt(v) : 0n;
}

function intervalText(v: { readonly [k: string]: CellValue }): string {
  const months = Number(v['months'] ?? 0);
  const days = Number(v['days'] ?? 0);
  let micros = bigintOf(v['micros']);
  const parts: string[] = [];
  const y = Math.trunc(months / 12);
  const m = months % 12;
  if (y !== 0) parts.push(`${y} year${Math.abs(y) === 1 ? '' : 's'}`);
  if (m !== 0) parts.push(`${m} mon${Math.abs(m) === 1 ? '' : 's'}`);
  if (days !== 0) parts.push(`${days} day${Math.abs(days) === 1 ? '' : 's'}`);
  if (micros !== 0n || parts.length === 0) {
    const neg = micros < 0n;
    if (neg) micros = -micros;
    const h = micros / 3_600_000_000n;
    const mi = (micros / 60_000_000n) % 60n;
    const s = (micros / 1_000_000n) % 60n;
    const frac = micros % 1_000_000n;
    const pad = (n: bigint): string => n.toString().padStart(2, '0');
    parts.push(`${neg ? '-' : ''}${pad(h)}:${pad(mi)}:${pad(s)}${frac === 0n ? '' : `.${frac.toString().padStart(6, '0').replace(/0+$/, '')}`}`);
  }
  return parts.join(' ');
}

/** DuckDB prints a BLOB with `\xNN` escapes for non-printable bytes. */
function blobBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
      out.push(parseInt(s.slice(i + 2, i + 4), 16));
      i += 3;
    } else out.push(...Buffer.from(s[i] ?? '', 'utf8'));
  }
  return Buffer.from(out);
}

function arrayElementText(v: CellValue, el: PgType): string {
  if (v === null) return 'NULL';
  const s = toText(v, el);
  if (s === null) return 'NULL';
  if (s === '' || /[{}",\\\s]/.test(s) || s.toUpperCase() === 'NULL') return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
  return s;
}

/** The text format of a cell of type `t` (null for SQL NULL). */
export function toText(v: CellValue, t: PgType): string | null {
  if (v === null) return null;
  if (Array.isArray(v)) {
    const el = TYPES_BY_OID.get(ELEMENT_OF.get(t.oid) ?? -1);
    if (el === undefined) return JSON.stringify(v);
    return `{${v.map((x: CellValue) => arrayElementText(x, el)).join(',')}}`;
  }
  if (typeof v === 'object') return t.oid === PG.interval.oid ? intervalText(v as { readonly [k: string]: CellValue }) : JSON.stringify(v);
  if (typeof v === 'boolean') return t.oid === PG.bool.oid ? (v ? 't' : 'f') : String(v);
  if (t.oid === PG.bytea.oid && typeof v === 'string') return `\\x${blobBytes(v).toString('hex')}`;
  return String(v);
}

const PG_EPOCH_DAYS = 10957; // 2000-01-01 − 1970-01-01
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);

/** Microseconds since 2000-01-01 of `YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM]]`. */
function timestampMicros(s: string): bigint {
  // Trino names UTC as a zone (`… 10:00:00.000 UTC`); other zone names are not offsets and fail.
  const m = /^(-?\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(?:([+-])(\d\d)(?::?(\d\d))?)?$/.exec(s.trim().replace(/ (?:UTC|Z)$|Z$/, '+00'));
  if (m === null) throw new Error(`not a timestamp: ${s.slice(0, 40)}`);
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const frac = BigInt((m[7] ?? '').padEnd(6, '0').slice(0, 6));
  const off = m[8] === undefined ? 0 : (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10] ?? 0)) * 60_000;
  return BigInt(ms - off - PG_EPOCH_MS) * 1000n + frac;
}

function numericBinary(s: string): Buffer {
  const t = s.trim();
  if (t === 'NaN') return Buffer.from([0, 0, 0, 0, 0xc0, 0, 0, 0]);
  const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(t);
  if (m === null) throw new Error(`not a numeric: ${t.slice(0, 40)}`);
  const neg = m[1] === '-';
  const intPart = (m[2] ?? '').replace(/^0+/, '');
  const fracPart = m[3] ?? '';
  const dscale = fracPart.length;
  const ip = intPart.padStart(Math.ceil(intPart.length / 4) * 4, '0');
  const fp = fracPart.padEnd(Math.ceil(fracPart.length / 4) * 4, '0');
  const digits: number[] = [];
  for (let i = 0; i < ip.length; i += 4) digits.push(Number(ip.slice(i, i + 4)));
  let weight = digits.length - 1;
  for (let i = 0; i < fp.length; i += 4) digits.push(Number(fp.slice(i, i + 4)));
  while (digits.length > 0 && digits[0] === 0) {
    digits.shift();
    weight--;
  }
  while (digits.length > 0 && digits[digits.length - 1] === 0) digits.pop();
  if (digits.length === 0) weight = 0;
  const b = Buffer.alloc(8 + 2 * digits.length);
  b.writeInt16BE(digits.length, 0);
  b.writeInt16BE(weight, 2);
  b.writeUInt16BE(neg && digits.length > 0 ? 0x4000 : 0, 4);
  b.writeInt16BE(dscale, 6);
  digits.forEach((d, i) => b.writeInt16BE(d, 8 + 2 * i));
  return b;
}

/** The binary format of a cell of type `t` (null for SQL NULL); throws for a type without one here. */
export function toBinary(v: CellValue, t: PgType): Buffer | null {
  if (v === null) return null;
  const el = ELEMENT_OF.get(t.oid);
  if (el !== undefined && Array.isArray(v)) {
    const elType = TYPES_BY_OID.get(el) ?? PG.text;
    const items = v.map((x: CellValue) => toBinary(x, elType));
    const head = Buffer.alloc(20);
    head.writeInt32BE(1, 0);
    head.writeInt32BE(items.some((x) => x === null) ? 1 : 0, 4);
    head.writeInt32BE(el, 8);
    head.writeInt32BE(items.length, 12);
    head.writeInt32BE(1, 16);
    const parts: Buffer[] = [head];
    for (const x of items) {
      const len = Buffer.alloc(4);
      len.writeInt32BE(x === null ? -1 : x.length, 0);
      parts.push(len);
      if (x !== null) parts.push(x);
    }
    if (items.length === 0) {
      // An empty array has no dimensions: ndim 0, no null flag, the element type.
      const empty = Buffer.alloc(12);
      empty.writeInt32BE(el, 8);
      return empty;
    }
    return Buffer.concat(parts);
  }
  const s = typeof v === 'object' ? '' : String(v);
  switch (t.oid) {
    case PG.bool.oid: return Buffer.from([v === true || s === 't' || s === 'true' ? 1 : 0]);
    case PG.int2.oid: { const b = Buffer.alloc(2); b.writeInt16BE(Number(s)); return b; }
    case PG.int4.oid: case PG.oid.oid: { const b = Buffer.alloc(4); if (t.oid === PG.oid.oid) b.writeUInt32BE(Number(s)); else b.writeInt32BE(Number(s)); return b; }
    case PG.int8.oid: { const b = Buffer.alloc(8); b.writeBigInt64BE(BigInt(s)); return b; }
    case PG.float4.oid: { const b = Buffer.alloc(4); b.writeFloatBE(Number(s)); return b; }
    case PG.float8.oid: { const b = Buffer.alloc(8); b.writeDoubleBE(Number(s)); return b; }
    case PG.numeric.oid: return numericBinary(s);
    case PG.date.oid: {
      const b = Buffer.alloc(4);
      b.writeInt32BE(Math.round(Date.parse(`${s}T00:00:00Z`) / 86_400_000) - PG_EPOCH_DAYS);
      return b;
    }
    case PG.timestamp.oid: case PG.timestamptz.oid: { const b = Buffer.alloc(8); b.writeBigInt64BE(timestampMicros(s)); return b; }
    case PG.time.oid: {
      const m = /^(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?/.exec(s);
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(m === null ? 0n : BigInt(((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1_000_000) + BigInt((m[4] ?? '').padEnd(6, '0')));
      return b;
    }
    case PG.interval.oid: {
      const o = v as { readonly [k: string]: CellValue };
      const b = Buffer.alloc(16);
      b.writeBigInt64BE(bigintOf(o['micros']), 0);
      b.writeInt32BE(Number(o['days'] ?? 0), 8);
      b.writeInt32BE(Number(o['months'] ?? 0), 12);
      return b;
    }
    case PG.uuid.oid: return Buffer.from(s.replace(/-/g, ''), 'hex');
    case PG.bytea.oid: return blobBytes(s);
    default: return Buffer.from(toText(v, t) ?? '', 'utf8');
  }
}

/**
 * A bound parameter as a SQL literal for the engine (the workspace runs SQL text, and its
 * policy refuses placeholders): text-format values are quoted strings (the engine casts a
 * string literal where a number or a date is expected), binary ones decoded by their type.
 */
export function parameterLiteral(value: Buffer | null, format: number, typeOid: number): string {
  if (value === null) return 'NULL';
  const quote = (s: string): string => {
    if (s.includes('\u0000')) throw new Error('a parameter holds a NUL character');
    return `'${s.replace(/'/g, "''")}'`;
  };
  if (format === 0) {
    const s = value.toString('utf8');
    if ((typeOid === PG.int2.oid || typeOid === PG.int4.oid || typeOid === PG.int8.oid) && /^-?\d{1,19}$/.test(s.trim())) return s.trim();
    if ((typeOid === PG.float4.oid || typeOid === PG.float8.oid || typeOid === PG.numeric.oid) && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s.trim())) return s.trim();
    if (typeOid === PG.bool.oid) return /^(t|true|on|1|yes|y)$/i.test(s.trim()) ? 'true' : 'false';
    return quote(s);
  }
  switch (typeOid) {
    case PG.int2.oid: return String(value.readInt16BE(0));
    case PG.int4.oid: return String(value.readInt32BE(0));
    case PG.int8.oid: return value.readBigInt64BE(0).toString();
    case PG.float4.oid: return String(value.readFloatBE(0));
    case PG.float8.oid: return String(value.readDoubleBE(0));
    case PG.bool.oid: return value[0] === 1 ? 'true' : 'false';
    case PG.date.oid: return `DATE ${quote(new Date((value.readInt32BE(0) + PG_EPOCH_DAYS) * 86_400_000).toISOString().slice(0, 10))}`;
    case PG.timestamp.oid: case PG.timestamptz.oid: {
      const us = value.readBigInt64BE(0);
      const d = new Date(Number(us / 1000n) + PG_EPOCH_MS);
      return `TIMESTAMP ${quote(`${d.toISOString().slice(0, 19).replace('T', ' ')}.${(((us % 1_000_000n) + 1_000_000n) % 1_000_000n).toString().padStart(6, '0')}`)}`;
    }
    case PG.text.oid: case PG.varchar.oid: case PG.name.oid: case 0: return quote(value.toString('utf8'));
    default: throw new Error(`parameters of type ${TYPES_BY_OID.get(typeOid)?.name ?? typeOid} must be sent in text format`);
  }
}
