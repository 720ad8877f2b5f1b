/**
 * A small, generic Thrift compact-protocol reader and writer.
 *
 * Parquet's metadata (FileMetaData, ColumnChunk, PageHeader, FileCryptoMetaData) is Thrift
 * compact. We only need to change a handful of fields (offsets, sizes, crypto metadata), so
 * structs are kept as ordered lists of `{ id, type, value }` and every field we do not know
 * round-trips byte for byte in meaning: a newer DuckDB adding fields cannot be silently lost.
 */
import { AppError } from '../errors.ts';

/** Compact-protocol wire types. */
export const T = {
  STOP: 0,
  TRUE: 1,
  FALSE: 2,
  I8: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
} as const;

/** A field's type; TRUE and FALSE both mean boolean and are normalised to TRUE when read. */
export type TType = (typeof T)[keyof typeof T];

export type TValue = boolean | number | bigint | Uint8Array | TStruct | TList | TMap;

export interface TField {
  readonly id: number;
  readonly type: TType;
  value: TValue;
}

export interface TStruct {
  readonly kind: 'struct';
  fields: TField[];
}

export interface TList {
  readonly kind: 'list';
  readonly elemType: TType;
  /** True for a Thrift `set` (same wire layout, different type code). */
  readonly isSet: boolean;
  items: TValue[];
}

export interface TMap {
  readonly kind: 'map';
  readonly keyType: TType;
  readonly valueType: TType;
  entries: [TValue, TValue][];
}

/** Nesting deeper than this is not Parquet metadata; refuse rather than recurse unboundedly. */
const MAX_DEPTH = 64;

/** Thrown (internally) when the buffer ends inside a struct: the caller may retry with more bytes. */
export class ThriftTruncated extends Error {
  constructor() {
    super('thrift: truncated input');
    this.name = 'ThriftTruncated';
  }
}

function malformed(what: string): AppError {
  return new AppError('invalid', `Parquet metadata is malformed (${what})`);
}

export class CompactReader {
  readonly buf: Uint8Array;
  pos: number;

  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  private byte(): number {
    const b = this.buf[this.pos];
    if (b === undefined) throw new ThriftTruncated();
    this.pos++;
    return b;
  }

  private varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw malformed('varint too long');
  }

  private varint32(): number {
    const v = this.varint();
    if (v > 0xffffffffn) throw malformed('varint out of range');
    return Number(v);
  }

  private zigzag32(): number {
    const n = this.varint32();
    return (n >>> 1) ^ -(n & 1);
  }

  private zigzag64(): bigint {
    const n = this.varint();
    return (n >> 1n) ^ -(n & 1n);
  }

  private bytes(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) throw new ThriftTruncated();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  readStruct(depth = 0): TStruct {
    if (depth > MAX_DEPTH) throw malformed('nesting too deep');
    const fields: TField[] = [];
    let lastId = 0;
    for (;;) {
      const header = this.byte();
      const type = header & 0x0f;
      if (type === T.STOP) return { kind: 'struct', fields };
      const delta = header >> 4;
      const id = delta === 0 ? this.zigzag32() : lastId + delta;
      lastId = id;
      if (type === T.TRUE || type === T.FALSE) {
        fields.push({ id, type: T.TRUE, value: type === T.TRUE });
      } else {
        const t = checkType(type);
        fields.push({ id, type: t, value: this.readValue(t, depth) });
      }
    }
  }

  private readValue(type: TType, depth: number): TValue {
    switch (type) {
      case T.TRUE:
      case T.FALSE:
        // Inside a collection, a boolean is one byte: 1 true, anything else false.
        return this.byte() === T.TRUE;
      case T.I8: {
        const b = this.byte();
        return b > 127 ? b - 256 : b;
      }
      case T.I16:
      case T.I32:
        return this.zigzag32();
      case T.I64:
        return this.zigzag64();
      case T.DOUBLE: {
        const b = this.bytes(8);
        return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
      }
      case T.BINARY:
        return this.bytes(this.varint32());
      case T.LIST:
      case T.SET: {
        const h = this.byte();
        const size = h >> 4 === 15 ? this.varint32() : h >> 4;
        const elemType = normaliseBool(checkType(h & 0x0f));
        if (size > this.buf.length - this.pos) {
          // Every element takes at least one byte: a larger count is a lie or a truncation.
          throw new ThriftTruncated();
        }
        const items: TValue[] = [];
        for (let i = 0; i < size; i++) items.push(this.readValue(elemType, depth + 1));
        return { kind: 'list', elemType, isSet: type === T.SET, items };
      }
      case T.MAP: {
        const size = this.varint32();
        if (size === 0) return { kind: 'map', keyType: T.I8, valueType: T.I8, entries: [] };
        const kv = this.byte();
        const keyType = normaliseBool(checkType(kv >> 4));
        const valueType = normaliseBool(checkType(kv & 0x0f));
        if (size > this.buf.length - this.pos) throw new ThriftTruncated();
        const entries: [TValue, TValue][] = [];
        for (let i = 0; i < size; i++) {
          const k = this.readValue(keyType, depth + 1);
          entries.push([k, this.readValue(valueType, depth + 1)]);
        }
        return { kind: 'map', keyType, valueType, entries };
      }
      case T.STRUCT:
        return this.readStruct(depth + 1);
      case T.STOP:
        throw malformed('unexpected stop');
    }
  }
}

function checkType(t: number): TType {
  if (t < 0 || t > 12) throw malformed(`unknown wire type ${t}`);
  return t as TType;
}

function normaliseBool(t: TType): TType {
  return t === T.FALSE ? T.TRUE : t;
}

/** Growable output buffer for the writer. */
export class CompactWriter {
  private buf: Uint8Array = new Uint8Array(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b & 0xff;
  }

  private varint(v: bigint): void {
    let n = BigInt.asUintN(64, v);
    while (n >= 0x80n) {
      this.byte(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.byte(Number(n));
  }

  private zigzag32(n: number): void {
    this.varint(BigInt(((n << 1) ^ (n >> 31)) >>> 0));
  }

  private zigzag64(n: bigint): void {
    this.varint(BigInt.asUintN(64, (n << 1n) ^ (n >> 63n)));
  }

  private raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  writeStruct(s: TStruct): void {
    let lastId = 0;
    const fields = [...s.fields].sort((a, b) => a.id - b.id);
    for (const f of fields) {
      const wireType = f.type === T.TRUE ? (f.value === true ? T.TRUE : T.FALSE) : f.type;
      const delta = f.id - lastId;
      if (delta > 0 && delta <= 15) {
        this.byte((delta << 4) | wireType);
      } else {
        this.byte(wireType);
        this.zigzag32(f.id);
      }
      lastId = f.id;
      if (f.type !== T.TRUE) this.writeValue(f.type, f.value);
    }
    this.byte(T.STOP);
  }

  private writeValue(type: TType, v: TValue): void {
    switch (type) {
      case T.TRUE:
      case T.FALSE:
        this.byte(v === true ? T.TRUE : T.FALSE);
        return;
      case T.I8:
        this.byte(num(v));
        return;
      case T.I16:
      case T.I32:
        this.zigzag32(num(v));
        return;
      case T.I64:
        this.zigzag64(typeof v === 'bigint' ? v : BigInt(num(v)));
        return;
      case T.DOUBLE: {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setFloat64(0, num(v), true);
        this.raw(b);
        return;
      }
      case T.BINARY: {
        const b = bin(v);
        this.varint(BigInt(b.length));
        this.raw(b);
        return;
      }
      case T.LIST:
      case T.SET: {
        const l = asList(v);
        if (l.items.length < 15) this.byte((l.items.length << 4) | l.elemType);
        else {
          this.byte(0xf0 | l.elemType);
          this.varint(BigInt(l.items.length));
        }
        for (const item of l.items) this.writeValue(l.elemType, item);
        return;
      }
      case T.MAP: {
        const m = asMap(v);
        this.varint(BigInt(m.entries.length));
        if (m.entries.length === 0) return;
        this.byte((m.keyType << 4) | m.valueType);
        for (const [k, val] of m.entries) {
          this.writeValue(m.keyType, k);
          this.writeValue(m.valueType, val);
        }
        return;
      }
      case T.STRUCT:
        this.writeStruct(asStruct(v));
        return;
      case T.STOP:
        throw new AppError('internal', 'thrift: cannot write a stop value');
    }
  }

  finish(): Buffer {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.len);
  }
}

function num(v: TValue): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new AppError('internal', 'thrift: expected a number');
}

function bin(v: TValue): Uint8Array {
  if (v instanceof Uint8Array) return v;
  throw new AppError('internal', 'thrift: expected binary');
}

export function asStruct(v: TValue | undefined): TStruct {
  if (typeof v === 'object' && !(v instanceof Uint8Array) && v.kind === 'struct') return v;
  throw malformed('expected a struct');
}

export function asList(v: TValue | undefined): TList {
  if (typeof v === 'object' && !(v instanceof Uint8Array) && v.kind === 'list') return v;
  throw malformed('expected a list');
}

function asMap(v: TValue): TMap {
  if (typeof v === 'object' && !(v instanceof Uint8Array) && v.kind === 'map') return v;
  throw malformed('expected a map');
}

/** Serialises one struct. */
export function encodeStruct(s: TStruct): Buffer {
  const w = new CompactWriter();
  w.writeStruct(s);
  return w.finish();
}

/** Parses one struct starting at `pos`; returns it and the position just after it. */
export function decodeStruct(buf: Uint8Array, pos = 0): { struct: TStruct; end: number } {
  const r = new CompactReader(buf, pos);
  const struct = r.readStruct();
  return { struct, end: r.pos };
}

export function getField(s: TStruct, id: number): TField | undefined {
  return s.fields.find((f) => f.id === id);
}

/** The integer value of field `id` (i32 or i64), or undefined when absent. */
export function getInt(s: TStruct, id: number): number | undefined {
  const f = getField(s, id);
  if (f === undefined) return undefined;
  if (typeof f.value === 'number') return f.value;
  if (typeof f.value === 'bigint') {
    if (f.value > BigInt(Number.MAX_SAFE_INTEGER) || f.value < 0n) throw malformed('integer out of range');
    return Number(f.value);
  }
  throw malformed(`field ${id} is not an integer`);
}

export function requireInt(s: TStruct, id: number, what: string): number {
  const v = getInt(s, id);
  if (v === undefined) throw malformed(`missing ${what}`);
  return v;
}

/** Sets (or replaces) field `id`, keeping fields ordered by id. */
export function setField(s: TStruct, id: number, type: TType, value: TValue): void {
  const i = s.fields.findIndex((f) => f.id === id);
  const field: TField = { id, type, value };
  if (i >= 0) s.fields[i] = field;
  else {
    s.fields.push(field);
    s.fields.sort((a, b) => a.id - b.id);
  }
}

/** Keeps the wire type of an integer field (i32 vs i64) when changing its value. */
export function setInt(s: TStruct, id: number, value: number): void {
  const f = getField(s, id);
  if (f === undefined) throw new AppError('internal', `thrift: no field ${id} to update`);
  f.value = f.type === T.I64 ? BigInt(value) : value;
}

export function removeFields(s: TStruct, ...ids: number[]): void {
  s.fields = s.fields.filter((f) => !ids.includes(f.id));
}

export function struct(...fields: TField[]): TStruct {
  return { kind: 'struct', fields };
}
