/**
 * The stored Merkle tree (table audit_tree, level 0 = audit_events.leaf_hash): every complete
 * subtree hash, written with its event in the same transaction, so that roots, inclusion and
 * consistency proofs and C2SP tlog-tiles read O(log n) stored hashes instead of every leaf.
 *
 * A node (level, idx) covers leaves [idx·2^level, (idx+1)·2^level). Complete nodes never change
 * as the tree grows. Every subtree an RFC 9162 proof names is [a, b) with a aligned to the
 * largest power of two ≤ b − a, so its hash is the fold, right to left, of the complete nodes
 * of its binary decomposition: at most log2(n) + 1 nodes, and the right-border subtrees of all
 * proof steps share the nodes of the tree's own right edge.
 */
import type { Queryable } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { emptyRoot, hashChildren } from './merkle.ts';

export interface NodeId {
  readonly level: number;
  readonly idx: number;
}

const key = (n: NodeId): string => `${n.level}/${n.idx}`;

/** Largest power of two strictly less than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The complete nodes whose concatenation is [from, to), largest (leftmost) first. */
export function decompose(from: number, to: number): NodeId[] {
  const out: NodeId[] = [];
  let a = from;
  while (a < to) {
    // The largest aligned power of two that starts at a and fits before `to`.
    let level = 0;
    while (level < 62 && a % 2 ** (level + 1) === 0 && a + 2 ** (level + 1) <= to) level++;
    out.push({ level, idx: a / 2 ** level });
    a += 2 ** level;
  }
  return out;
}

/** The subtrees [from, to) whose hashes form the RFC 9162 §2.1.3.1 inclusion proof, leaf level first. */
export function inclusionRanges(index: number, size: number): Array<[number, number]> {
  const path = (m: number, from: number, to: number): Array<[number, number]> => {
    const n = to - from;
    if (n === 1) return [];
    const k = splitPoint(n);
    if (m < k) return [...path(m, from, from + k), [from + k, to]];
    return [...path(m - k, from + k, to), [from, from + k]];
  };
  return path(index, 0, size);
}

/** The subtrees whose hashes form the RFC 9162 §2.1.4.1 consistency proof from size1 to size2. */
export function consistencyRanges(size1: number, size2: number): Array<[number, number]> {
  const sub = (m: number, from: number, to: number, complete: boolean): Array<[number, number]> => {
    const n = to - from;
    if (m === n) return complete ? [] : [[from, to]];
    const k = splitPoint(n);
    if (m <= k) return [...sub(m, from, from + k, complete), [from + k, to]];
    return [...sub(m - k, from + k, to, false), [from, from + k]];
  };
  return sub(size1, 0, size2, true);
}

/**
 * The left siblings an append of leaf `index` merges with: one per trailing 1 bit of `index`,
 * from the leaf level up. Their hashes, with the new leaf, give the new complete nodes.
 */
export function appendSiblings(index: number): NodeId[] {
  const out: NodeId[] = [];
  let i = index;
  let level = 0;
  while (i % 2 === 1) {
    out.push({ level, idx: i - 1 });
    i = (i - 1) / 2;
    level++;
  }
  return out;
}

/** The complete nodes created by appending leaf `index` with hash `leaf`, given its left siblings' hashes (level order). */
export function newNodes(index: number, leaf: Uint8Array, siblings: readonly Uint8Array[]): Array<NodeId & { hash: Buffer }> {
  const out: Array<NodeId & { hash: Buffer }> = [];
  let h: Buffer = Buffer.from(leaf);
  let i = index;
  for (const [level, s] of siblings.entries()) {
    h = hashChildren(s, h);
    i = (i - 1) / 2;
    out.push({ level: level + 1, idx: i, hash: h });
  }
  return out;
}

/** Reads stored node hashes: level 0 from the events, the rest from audit_tree, two queries at most. */
export async function readNodes(q: Queryable, nodes: readonly NodeId[]): Promise<Map<string, Buffer>> {
  const uniq = new Map(nodes.map((n) => [key(n), n]));
  const leaves = [...uniq.values()].filter((n) => n.level === 0).map((n) => n.idx);
  const inner = [...uniq.values()].filter((n) => n.level > 0);
  const found = new Map<string, Buffer>();
  if (leaves.length > 0) {
    const rows = await q.query<{ seq: string; leaf_hash: Uint8Array }>('SELECT seq::text AS seq, leaf_hash FROM audit_events WHERE seq = ANY($1::bigint[])', [leaves.map(String)]);
    for (const r of rows) found.set(`0/${r.seq}`, Buffer.from(r.leaf_hash));
  }
  if (inner.length > 0) {
    const rows = await q.query<{ level: number; idx: string; hash: Uint8Array }>(
      'SELECT t.level, t.idx::text AS idx, t.hash FROM audit_tree t JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx) ON t.level = w.level AND t.idx = w.idx',
      [inner.map((n) => String(n.level)), inner.map((n) => String(n.idx))],
    );
    for (const r of rows) found.set(`${r.level}/${r.idx}`, Buffer.from(r.hash));
  }
  for (const k of uniq.keys()) {
    if (!found.has(k)) throw new AppError('integrity', `the stored audit tree lacks node ${k}`, { hint: 'run enclave audit verify; the tree is rebuilt by migration 0014 from the events' });
  }
  return found;
}

function fold(nodes: readonly NodeId[], hashes: ReadonlyMap<string, Buffer>): Buffer {
  if (nodes.length === 0) return emptyRoot();
  let h = hashes.get(key(nodes[nodes.length - 1] as NodeId)) as Buffer;
  for (let i = nodes.length - 2; i >= 0; i--) h = hashChildren(hashes.get(key(nodes[i] as NodeId)) as Buffer, h);
  return h;
}

/** Hashes of the given subtrees, read from the stored tree in one round of queries. */
export async function rangeHashes(q: Queryable, ranges: ReadonlyArray<readonly [number, number]>): Promise<{ hashes: Buffer[]; nodesRead: number }> {
  const plans = ranges.map(([a, b]) => decompose(a, b));
  const all = plans.flat();
  const hashes = await readNodes(q, all);
  return { hashes: plans.map((p) => fold(p, hashes)), nodesRead: hashes.size };
}

/** Root of the tree of the first `size` leaves, from its right edge: ≤ log2(size) + 1 stored hashes. */
export async function storedRoot(q: Queryable, size: number): Promise<Buffer> {
  return (await rangeHashes(q, [[0, size]])).hashes[0] ?? emptyRoot();
}
