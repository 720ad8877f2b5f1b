import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatCheckpoint,
  generateLogKey,
  NoteError,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signerKeyText,
  signNote,
  verifierKey,
} from './note.ts';
import { readVector } from './test-vectors.ts';

interface Vectors {
  go_sumdb_note: {
    keys: Record<string, string>;
    sign: { text: string; want: string }[];
    open_ok: { msg: string; trusted: string[]; want_verified: string[]; want_unverified: string[] }[];
    open_bad_malformed: string[];
    open_bad_signature: { msg: string; trusted: string[]; want_error: string }[];
    bad_verifier_keys: string[];
  };
  c2sp: { verifiable: { verifier: string; note: string }[]; format_only: { note: string }[] };
}
const vectors = (): Vectors => readVector('signed-note/signed-note-vectors.json') as Vectors;

function rejected(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    return e instanceof NoteError;
  }
}

/** The Go test feeds the byte 0xFF; the JSON vector carries it as U+00FF, so rebuild the bytes. */
function asGoBytes(s: string): string | Buffer {
  return s.startsWith('\u00ff') ? Buffer.concat([Buffer.from([0xff]), Buffer.from(s.slice(1), 'utf8')]) : s;
}

test('the signed-note vectors give the SECURITY-TESTS figure 4', () => {
  const v = vectors();
  const g = v.go_sumdb_note;
  const peter = g.keys['verifier_PeterNeumann'] as string;
  const signer = parseSignerKey(g.keys['signer_PeterNeumann'] as string);
  const sign0 = g.sign[0];
  assert.ok(sign0 !== undefined);
  const deterministic = signNote(sign0.text, [signer]) === sign0.want && verifierKey(signer) === peter;

  let opens = 0;
  for (const c of g.open_ok) {
    const n = openNote(c.msg, c.trusted.map(parseVerifierKey));
    if (JSON.stringify(n.sigs.map((s) => s.name)) === JSON.stringify(c.want_verified) && JSON.stringify(n.unverifiedSigs.map((s) => s.name)) === JSON.stringify(c.want_unverified)) opens++;
  }
  for (const c of v.c2sp.verifiable) {
    openNote(c.note, [parseVerifierKey(c.verifier)]);
  }

  const trustedPeter = [parseVerifierKey(peter)];
  let malformed = 0;
  for (const m of g.open_bad_malformed) {
    if (rejected(() => openNote(m, trustedPeter)) && rejected(() => openNote(asGoBytes(m), trustedPeter))) malformed++;
  }
  let badSig = 0;
  for (const c of g.open_bad_signature) {
    try {
      openNote(c.msg, c.trusted.map(parseVerifierKey));
    } catch (e) {
      if (e instanceof NoteError && e.kind === 'invalid_signature' && e.message === c.want_error) badSig++;
    }
  }

  const L = peter.length;
  let substrings = 0, substringsAccepted = 0;
  for (let i = 0; i < L; i++) {
    for (let j = i + 1; j <= L; j++) {
      if (i === 0 && j === L) continue;
      substrings++;
      if (!rejected(() => parseVerifierKey(peter.slice(i, j)))) substringsAccepted++;
    }
  }
  let mutations = 0, mutationsAccepted = 0;
  for (let i = 0; i < L; i++) {
    mutations++;
    const m = peter.slice(0, i) + String.fromCharCode(peter.charCodeAt(i) + 1) + peter.slice(i + 1);
    if (!rejected(() => parseVerifierKey(m))) mutationsAccepted++;
  }
  const badKeys = g.bad_verifier_keys.filter((k) => rejected(() => parseVerifierKey(k))).length;

  console.log(
    `deterministic signature ${deterministic ? 'byte-identical' : 'DIFFERENT'}; ${opens}/${g.open_ok.length} valid opens; ${malformed}/${g.open_bad_malformed.length} malformed rejected; ${badSig}/${g.open_bad_signature.length} bad signature errors (not left silently unverified); ${substrings} substrings and ${mutations} mutations of the key (L=${L}), ${substringsAccepted + mutationsAccepted} accepted`,
  );
  assert.ok(deterministic);
  assert.equal(opens, 2);
  assert.equal(malformed, 7);
  assert.equal(badSig, 1);
  assert.equal(substrings, (L * (L + 1)) / 2 - 1);
  assert.equal(substringsAccepted + mutationsAccepted, 0);
  assert.equal(badKeys, g.bad_verifier_keys.length);
});

test('the C2SP example checkpoint parses into origin, size and root', () => {
  const note = vectors().c2sp.format_only[0]?.note ?? '';
  const body = note.slice(0, note.lastIndexOf('\n\n') + 1);
  const c = parseCheckpoint(body);
  assert.equal(c.origin, 'example.com/behind-the-sofa');
  assert.equal(c.treeSize, 20852163n);
  assert.equal(formatCheckpoint(c), body);
});

test('a note with only unknown signatures is an error, not an empty success', () => {
  const v = vectors();
  const note = v.c2sp.verifiable[0]?.note ?? '';
  assert.throws(() => openNote(note, [parseVerifierKey(v.go_sumdb_note.keys['verifier_PeterNeumann'] as string)]), { kind: 'unverified' });
});

test('checkpoint bodies with leading zeros, short roots, empty extensions or no final newline are refused', () => {
  const root = Buffer.alloc(32, 7).toString('base64');
  for (const bad of [`o\n01\n${root}\n`, `o\n1\n${Buffer.alloc(31).toString('base64')}\n`, `o\n1\n${root}\n\n`, `o\n1\n${root}`, `\n1\n${root}\n`, `o\n-1\n${root}\n`, `o\n18446744073709551616\n${root}\n`]) {
    assert.throws(() => parseCheckpoint(bad), NoteError, JSON.stringify(bad));
  }
  assert.equal(parseCheckpoint(`o\n18446744073709551615\n${root}\next\n`).treeSize, 18446744073709551615n);
});

test('a checkpoint signed with a generated log key opens with its published verifier key and no other', () => {
  const key = generateLogKey('enclave.example/audit');
  const note = signNote(formatCheckpoint({ origin: key.name, treeSize: 3, rootHash: Buffer.alloc(32, 1) }), [key]);
  const c = openCheckpoint(note, [parseVerifierKey(verifierKey(key))], key.name);
  assert.equal(c.treeSize, 3n);
  const other = generateLogKey('enclave.example/audit');
  assert.throws(() => openCheckpoint(note, [parseVerifierKey(verifierKey(other))]), { kind: 'unverified' });
  assert.equal(verifierKey(parseSignerKey(signerKeyText(key))), verifierKey(key));
});
