/**
 * RFC 9162 (Certificate Transparency v2) §2.1 Merkle tree hashing with SHA-256: tree roots,
 * inclusion and consistency proofs, generation and verification. Byte-compatible with every
 * RFC 6962/9162 implementation (transparency-dev/merkle, Trillian, Rekor).
 *
 * Proof verification follows transparency-dev/merkle `proof/verify.go` and takes sizes and
 * indices as bigint so that 64-bit values from outside (probes, other logs) are judged exactly.
 */
import { createHash } from 'node:crypto';

export const HASH_SIZE = 32;
const LEAF_PREFIX = Buffer.from([0x00]);
const NODE_PREFIX = Buffer.from([0x01]);

/** SHA-256 of the empty string: the root of the empty tree. */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/** Leaf hash: SHA-256(0x00 ‖ leaf). */
export function hashLeaf(leaf: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(leaf).digest();
}

/** Interior node hash: SHA-256(0x01 ‖ left ‖ right). Does not check lengths (RFC 6962 hasher). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/** Largest power of two strictly less than n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Root hash of the tree over `leafHashes` (RFC 9162 MTH), in O(n) time and O(log n) memory.
 *
 * @example
 *   rootFromLeafHashes([hashLeaf(Buffer.from('a'))])
 */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Buffer {
  const range = new CompactRange();
  for (const h of leafHashes) range.append(h);
  return range.root();
}

/**
 * The right edge of a tree: one hash per perfect subtree, as many as the size has bits set.
 * Appending is amortised O(1); the root at any moment is O(log n). Used to compute the roots of
 * every prefix of a stream of leaves (verification) without holding the leaves.
 */
export class CompactRange {
  #size = 0;
  /** Perfect subtree roots from the largest (leftmost) to the smallest. */
  readonly #hashes: Buffer[] = [];

  get size(): number {
    return this.#size;
  }

  /**
   * Restores a range from its size and edge (as `edge()` returned it); throws RangeError when
   * the number of hashes does not match the size.
   */
  static fromEdge(size: number, edge: Uint8Array): CompactRange {
    let bits = 0;
    for (let s = size; s > 0; s = Math.floor(s / 2)) bits += s & 1;
    if (!Number.isSafeInteger(size) || size < 0 || edge.length !== bits * HASH_SIZE) throw new RangeError(`an edge of ${edge.length} bytes does not fit a tree of size ${size}`);
    const r = new CompactRange();
    r.#size = size;
    for (let i = 0; i < bits; i++) r.#hashes.push(Buffer.from(edge.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)));
    return r;
  }

  /** The perfect subtree roots, largest first, concatenated: what `fromEdge` restores. */
  edge(): Buffer {
    return Buffer.concat(this.#hashes);
  }

  append(leafHash: Uint8Array): void {
    let h: Buffer = Buffer.from(leafHash);
    let s = this.#size;
    // Merge with equal-sized subtrees: one per trailing 1 bit of the old size.
    while ((s & 1) === 1) {
      const left = this.#hashes.pop();
      if (left === undefined) throw new Error('compact range corrupted');
      h = hashChildren(left, h);
      s = Math.floor(s / 2);
    }
    this.#hashes.push(h);
    this.#size++;
  }

  root(): Buffer {
    if (this.#hashes.length === 0) return emptyRoot();
    let h = this.#hashes[this.#hashes.length - 1] as Buffer;
    for (let i = this.#hashes.length - 2; i >= 0; i--) h = hashChildren(this.#hashes[i] as Buffer, h);
    return h;
  }
}

function subtreeRoot(leaves: readonly Uint8Array[], from: number, to: number): Buffer {
  return rootFromLeafHashes(leaves.slice(from, to));
}

/**
 * RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaf `index` in the tree of the first
 * `treeSize` leaf hashes, from the leaf level up.
 */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number, treeSize: number = leafHashes.length): Buffer[] {
  if (!Number.isSafeInteger(treeSize) || treeSize < 1 || treeSize > leafHashes.length) throw new RangeError(`tree size ${treeSize} out of range`);
  if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) throw new RangeError(`index ${index} is not in a tree of size ${treeSize}`);
  const path = (m: number, from: number, to: number): Buffer[] => {
    const n = to - from;
    if (n === 1) return [];
    const k = splitPoint(n);
    if (m < k) return [...path(m, from, from + k), subtreeRoot(leafHashes, from + k, to)];
    return [...path(m - k, from + k, to), subtreeRoot(leafHashes, from, from + k)];
  };
  return path(index, 0, treeSize);
}

/**
 * RFC 9162 §2.1.4.1 consistency proof between the tree of the first `size1` leaves and that of
 * the first `size2` (0 < size1 ≤ size2).
 */
export function consistencyProof(leafHashes: readonly Uint8Array[], size1: number, size2: number = leafHashes.length): Buffer[] {
  if (!Number.isSafeInteger(size2) || size2 > leafHashes.length) throw new RangeError(`size ${size2} out of range`);
  if (!Number.isSafeInteger(size1) || size1 < 1 || size1 > size2) throw new RangeError(`consistency needs 0 < size1 ≤ size2, got ${size1}, ${size2}`);
  const subproof = (m: number, from: number, to: number, complete: boolean): Buffer[] => {
    const n = to - from;
    if (m === n) return complete ? [] : [subtreeRoot(leafHashes, from, to)];
    const k = splitPoint(n);
    if (m <= k) return [...subproof(m, from, from + k, complete), subtreeRoot(leafHashes, from + k, to)];
    return [...subproof(m - k, from + k, to, false), subtreeRoot(leafHashes, from, from + k)];
  };
  return subproof(size1, 0, size2, true);
}

/** Why a proof was refused. */
export class ProofError extends Error {
  override readonly name = 'ProofError';
}

function toBig(n: number | bigint, what: string): bigint {
  const b = typeof n === 'bigint' ? n : Number.isSafeInteger(n) ? BigInt(n) : Number.NaN;
  if (typeof b !== 'bigint' || b < 0n || b >= 1n << 64n) throw new ProofError(`${what} is not a 64-bit unsigned integer`);
  return b;
}

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

function onesCount(x: bigint): number {
  let c = 0;
  for (const ch of x.toString(2)) if (ch === '1') c++;
  return c;
}

function trailingZeros(x: bigint): number {
  if (x === 0n) return 64;
  let c = 0;
  while (((x >> BigInt(c)) & 1n) === 0n) c++;
  return c;
}

function decompInclProof(index: bigint, size: bigint): [number, number] {
  const inner = bitLength(index ^ (size - 1n));
  const border = onesCount(index >> BigInt(inner));
  return [inner, border];
}

function chainInner(seed: Buffer, proof: readonly Uint8Array[], index: bigint): Buffer {
  let h = seed;
  proof.forEach((p, i) => {
    h = ((index >> BigInt(i)) & 1n) === 0n ? hashChildren(h, p) : hashChildren(p, h);
  });
  return h;
}

function chainInnerRight(seed: Buffer, proof: readonly Uint8Array[], index: bigint): Buffer {
  let h = seed;
  proof.forEach((p, i) => {
    if (((index >> BigInt(i)) & 1n) === 1n) h = hashChildren(p, h);
  });
  return h;
}

function chainBorderRight(seed: Buffer, proof: readonly Uint8Array[]): Buffer {
  let h = seed;
  for (const p of proof) h = hashChildren(p, h);
  return h;
}

function checkHashes(proof: readonly Uint8Array[]): void {
  for (const p of proof) if (p.length !== HASH_SIZE) throw new ProofError('proof hash is not 32 bytes');
}

/** Recomputes the root implied by an inclusion proof; throws ProofError if the proof is malformed. */
export function rootFromInclusionProof(index: number | bigint, size: number | bigint, leafHash: Uint8Array, proof: readonly Uint8Array[]): Buffer {
  const i = toBig(index, 'index');
  const n = toBig(size, 'size');
  if (i >= n) throw new ProofError(`index is beyond size: ${i} >= ${n}`);
  if (leafHash.length !== HASH_SIZE) throw new ProofError('leaf hash is not 32 bytes');
  checkHashes(proof);
  const [inner, border] = decompInclProof(i, n);
  if (proof.length !== inner + border) throw new ProofError(`wrong proof size ${proof.length}, want ${inner + border}`);
  const res = chainInner(Buffer.from(leafHash), proof.slice(0, inner), i);
  return chainBorderRight(res, proof.slice(inner));
}

/** Verifies an RFC 9162 inclusion proof; throws ProofError when it does not hold. */
export function verifyInclusion(index: number | bigint, size: number | bigint, leafHash: Uint8Array, proof: readonly Uint8Array[], root: Uint8Array): void {
  const calc = rootFromInclusionProof(index, size, leafHash, proof);
  if (!calc.equals(root)) throw new ProofError('inclusion proof does not lead to the root');
}

/**
 * Verifies an RFC 9162 consistency proof between (size1, root1) and (size2, root2); throws
 * ProofError when it does not hold. As transparency-dev/merkle, size1 = 0 with size2 > 0 is
 * refused (also 0 → 0): every tree is trivially consistent with the empty one, so such a proof
 * proves nothing.
 */
export function verifyConsistency(size1: number | bigint, size2: number | bigint, proof: readonly Uint8Array[], root1: Uint8Array, root2: Uint8Array): void {
  const n1 = toBig(size1, 'size1');
  const n2 = toBig(size2, 'size2');
  checkHashes(proof);
  if (n2 < n1) throw new ProofError(`size2 (${n2}) < size1 (${n1})`);
  // transparency-dev/merkle requires 0 < size1, even for 0 → 0: there is nothing to prove.
  if (n1 === 0n) throw new ProofError('size1 must be positive');
  if (n1 === n2) {
    if (proof.length > 0) throw new ProofError('size1 = size2 but the proof is not empty');
    if (!Buffer.from(root1).equals(root2)) throw new ProofError('size1 = size2 but the roots differ');
    return;
  }
  if (proof.length === 0) throw new ProofError('empty proof');
  const [innerRaw, border] = decompInclProof(n1 - 1n, n2);
  let inner = innerRaw;
  const shift = trailingZeros(n1);
  inner -= shift;
  let seed = Buffer.from(proof[0] as Uint8Array);
  let start = 1;
  if (n1 === 1n << BigInt(shift)) {
    seed = Buffer.from(root1);
    start = 0;
  }
  if (proof.length !== start + inner + border) throw new ProofError(`wrong proof size ${proof.length}, want ${start + inner + border}`);
  const rest = proof.slice(start);
  const mask = (n1 - 1n) >> BigInt(shift);
  const h1 = chainBorderRight(chainInnerRight(seed, rest.slice(0, inner), mask), rest.slice(inner));
  if (!h1.equals(root1)) throw new ProofError('consistency proof does not lead to root1');
  const h2 = chainBorderRight(chainInner(seed, rest.slice(0, inner), mask), rest.slice(inner));
  if (!h2.equals(root2)) throw new ProofError('consistency proof does not lead to root2');
}
