import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  consistencyProof,
  CompactRange,
  emptyRoot,
  hashChildren,
  hashLeaf,
  inclusionProof,
  rootFromLeafHashes,
  verifyConsistency,
  verifyInclusion,
} from './merkle.ts';
import { listVectorFiles, readVector } from './test-vectors.ts';

const b64 = (s: string | null | undefined): Buffer => Buffer.from(s ?? '', 'base64');
const hex = (s: string): Buffer => Buffer.from(s, 'hex');

interface InclusionProbe { leafIdx: number | bigint; treeSize: number | bigint; root: string; leafHash: string; proof: string[] | null; wantErr: boolean }
interface ConsistencyProbe { size1: number | bigint; size2: number | bigint; root1: string; root2: string; proof: string[] | null; wantErr: boolean }

function accepts(fn: () => void): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

test('the verifier agrees with all 196 transparency-dev inclusion and consistency probes (figure 1)', () => {
  let valid = 0, validOk = 0, invalid = 0, invalidOk = 0;
  const wrong: string[] = [];
  for (const kind of ['inclusion', 'consistency'] as const) {
    for (const file of listVectorFiles(`merkle/transparency-dev-testdata/${kind}`)) {
      const p = readVector(file) as InclusionProbe & ConsistencyProbe;
      const proof = (p.proof ?? []).map(b64);
      const ok = kind === 'inclusion'
        ? accepts(() => verifyInclusion(p.leafIdx, p.treeSize, b64(p.leafHash), proof, b64(p.root)))
        : accepts(() => verifyConsistency(p.size1, p.size2, proof, b64(p.root1), b64(p.root2)));
      if (p.wantErr) {
        invalid++;
        if (!ok) invalidOk++; else wrong.push(file);
      } else {
        valid++;
        if (ok) validOk++; else wrong.push(file);
      }
    }
  }
  console.log(`${valid + invalid} probes: ${validOk}/${valid} valid accepted, ${invalidOk}/${invalid} invalid rejected`);
  assert.deepEqual(wrong, []);
  assert.equal(valid + invalid, 196);
  assert.equal(validOk, 12);
  assert.equal(invalidOk, 184);
});

interface Reference {
  hasher: { input?: null; leafInputHex?: string; leftHex?: string; rightHex?: string; want: string }[];
  leafInputsHex: string[];
  rootByTreeSize: string[];
  inclusion: { leafIndex: number; treeSize: number; leafHash: string; root: string; proof: string[] }[];
  consistency: { size1: number; size2: number; root1: string; root2: string; proof: string[] }[];
}
const ref = (): Reference => readVector('merkle/rfc6962-reference.json') as Reference;

test('tree roots and generated proofs are byte-identical to the RFC 6962 reference (figure 2)', () => {
  const r = ref();
  const leaves = r.leafInputsHex.map((h) => hashLeaf(hex(h)));
  let roots = 0;
  r.rootByTreeSize.forEach((want, size) => {
    if (rootFromLeafHashes(leaves.slice(0, size)).toString('hex') === want) roots++;
  });
  let incl = 0;
  for (const c of r.inclusion) {
    const mine = inclusionProof(leaves, c.leafIndex, c.treeSize).map((b) => b.toString('hex'));
    const verifies = accepts(() => verifyInclusion(c.leafIndex, c.treeSize, hex(c.leafHash), c.proof.map(hex), hex(c.root)));
    if (verifies && JSON.stringify(mine) === JSON.stringify(c.proof)) incl++;
  }
  let cons = 0;
  for (const c of r.consistency) {
    const mine = consistencyProof(leaves, c.size1, c.size2).map((b) => b.toString('hex'));
    const verifies = accepts(() => verifyConsistency(c.size1, c.size2, c.proof.map(hex), hex(c.root1), hex(c.root2)));
    if (verifies && JSON.stringify(mine) === JSON.stringify(c.proof)) cons++;
  }
  console.log(`${roots}/${r.rootByTreeSize.length} roots equal; ${incl}/${r.inclusion.length} inclusion and ${cons}/${r.consistency.length} consistency proofs byte-identical`);
  assert.equal(roots, 9);
  assert.equal(incl, 5);
  assert.equal(cons, 5);
});

test('leaf and node hashes are domain-separated and match the hasher vectors (figure 3)', () => {
  const r = ref();
  let ok = 0;
  for (const v of r.hasher) {
    let got: Buffer;
    if (v.leftHex !== undefined && v.rightHex !== undefined) got = hashChildren(hex(v.leftHex), hex(v.rightHex));
    else if (v.leafInputHex !== undefined) got = hashLeaf(hex(v.leafInputHex));
    else got = emptyRoot();
    if (got.toString('hex') === v.want) ok++;
  }
  // A leaf whose bytes are l‖r must never hash like the node over (l, r), nor a node like a leaf.
  let collisions = 0;
  const leaves = r.leafInputsHex.map((h) => hashLeaf(hex(h)));
  for (const l of leaves) {
    for (const rr of leaves) {
      const preimage = Buffer.concat([l, rr]);
      if (hashLeaf(preimage).equals(hashChildren(l, rr))) collisions++;
      if (hashLeaf(Buffer.concat([Buffer.from([1]), preimage])).equals(hashChildren(l, rr))) collisions++;
    }
  }
  console.log(`${ok}/${r.hasher.length} hasher vectors; ${collisions} collisions between leaf and node preimages`);
  assert.equal(ok, 4);
  assert.equal(collisions, 0);
});

test('generated proofs verify for every index and size pair up to 40 leaves', () => {
  const leaves = Array.from({ length: 40 }, (_, i) => hashLeaf(Buffer.from(String(i))));
  const range = new CompactRange();
  for (let n = 1; n <= leaves.length; n++) {
    range.append(leaves[n - 1] as Buffer);
    const root = rootFromLeafHashes(leaves.slice(0, n));
    assert.ok(range.root().equals(root));
    for (let i = 0; i < n; i++) verifyInclusion(i, n, leaves[i] as Buffer, inclusionProof(leaves, i, n), root);
    for (let m = 1; m <= n; m++) verifyConsistency(m, n, consistencyProof(leaves, m, n), rootFromLeafHashes(leaves.slice(0, m)), root);
  }
});
