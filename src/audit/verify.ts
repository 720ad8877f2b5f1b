/**
 * Verification of an audit log from its export alone: recompute every leaf from its event,
 * check every leaf signature and every signed checkpoint, and name the first index where
 * anything was changed, deleted, inserted or reordered. Needs no database: an auditor runs it
 * offline with the export, the checkpoints and the log's public verifier key.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { canonicalJson, type JsonValue } from './canonical-json.ts';
import { verifyLeafSignature, type AuditEvent } from './event.ts';
import { CompactRange, hashLeaf } from './merkle.ts';
import { decodeBase64Strict, NoteError, openCheckpoint, openNote, parseVerifierKey } from './note.ts';

/** One line of an export (JSON lines): the event (null once archived), its index and leaf hash. */
export interface ExportLine {
  readonly index: number;
  readonly leafHash: string;
  readonly leafSig: string;
  readonly event: AuditEvent | null;
}

/** Leaf signatures held back waiting for a checkpoint at most this many (bounded memory). */
const MAX_PENDING_SIGNATURES = 100_000;

export type ProblemKind = 'changed' | 'forged' | 'deleted' | 'inserted' | 'reordered' | 'truncated' | 'malformed' | 'checkpoint';

export interface VerifyProblem {
  readonly kind: ProblemKind;
  /** First leaf index concerned; null for a checkpoint that fails on its own. */
  readonly index: number | null;
  readonly message: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly treeSize: number;
  /** Base64 root of the recomputed tree. */
  readonly rootHash: string;
  readonly checkpointsVerified: number;
  /** Size of the largest valid checkpoint; events beyond it are not yet anchored. */
  readonly anchoredSize: number;
  readonly firstBadIndex: number | null;
  readonly problems: readonly VerifyProblem[];
}

export interface VerifyLogInput {
  /** Export lines in order (JSON text or parsed), from index 0. */
  readonly events: AsyncIterable<string | ExportLine> | Iterable<string | ExportLine>;
  /** Signed checkpoint notes to check the tree against. */
  readonly checkpoints: Iterable<string> | AsyncIterable<string>;
  /** The log's verifier key, `name+hash+base64` (C2SP vkey). */
  readonly publicKey: string;
  /** Stop after this many problems (default 20). */
  readonly maxProblems?: number;
}

/** The raw Ed25519 public key and origin behind a C2SP verifier key. */
export function logPublicKey(vkey: string): { readonly origin: string; readonly key: KeyObject } {
  parseVerifierKey(vkey);
  const parts = vkey.split('+');
  const raw = Buffer.from(parts.slice(2).join('+'), 'base64').subarray(1);
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  return { origin: parts[0] ?? '', key };
}

function parseLine(l: string | ExportLine): ExportLine {
  const x = (typeof l === 'string' ? JSON.parse(l) : l) as ExportLine;
  if (typeof x !== 'object' || x === null || !Number.isSafeInteger(x.index) || typeof x.leafHash !== 'string' || typeof x.leafSig !== 'string') throw new Error('not an export line');
  return x;
}

/**
 * Recomputes the tree from `events` and checks it against `checkpoints`.
 *
 * @example
 *   const report = await verifyLog({ events: readLines('audit.jsonl'), checkpoints: [note], publicKey: vkey });
 *   if (!report.ok) console.error(report.problems[0]);
 */
export async function verifyLog(input: VerifyLogInput): Promise<VerifyReport> {
  const { origin, key } = logPublicKey(input.publicKey);
  const verifier = parseVerifierKey(input.publicKey);
  const max = input.maxProblems ?? 20;
  const problems: VerifyProblem[] = [];
  const add = (p: VerifyProblem): void => {
    if (problems.length < max) problems.push(p);
  };

  const roots = new Map<number, Buffer>();
  let verified = 0;
  for await (const note of input.checkpoints) {
    try {
      const c = openCheckpoint(note, [verifier], origin);
      const size = Number(c.treeSize);
      const prior = roots.get(size);
      if (prior !== undefined && !prior.equals(c.rootHash)) add({ kind: 'checkpoint', index: null, message: `two validly signed checkpoints of size ${size} disagree: the log was forked` });
      roots.set(size, c.rootHash);
      verified++;
    } catch (e) {
      const why = e instanceof NoteError ? e.message : 'unreadable';
      add({ kind: 'checkpoint', index: null, message: `checkpoint rejected (${why}): not signed by ${verifier.name}` });
    }
  }
  const sizes = [...roots.keys()].sort((a, b) => a - b);
  const anchoredSize = sizes.at(-1) ?? 0;
  let lastGoodCheckpoint = 0;

  // Leaf signatures only locate a change the tree alone cannot place (an edited event whose
  // leaf hash was recomputed). They are checked where no signed root vouches for the leaves:
  // in a stretch whose checkpoint does not match, and after the last checkpoint. Ed25519
  // verification is most of the cost of a verification otherwise.
  const pending: Array<{ index: number; leaf: Buffer; sig: string }> = [];
  const checkPending = (): void => {
    for (const p of pending) {
      if (!verifyLeafSignature(key, origin, p.index, p.leaf, decodeBase64Strict(p.sig) ?? Buffer.alloc(0))) add({ kind: 'forged', index: p.index, message: `event ${p.index} is not signed by the log key: written or rewritten outside the application` });
    }
    pending.length = 0;
  };
  const range = new CompactRange();
  let position = 0;
  let broken = false;
  for await (const raw of input.events) {
    let line: ExportLine;
    try {
      line = parseLine(raw);
    } catch {
      add({ kind: 'malformed', index: position, message: `line ${position + 1} is not an export line` });
      broken = true;
      break;
    }
    if (line.index > position) {
      add({ kind: 'deleted', index: position, message: `events ${position}..${line.index - 1} are missing` });
      broken = true;
      break;
    }
    if (line.index < position) {
      add({ kind: line.index === position - 1 ? 'inserted' : 'reordered', index: position, message: `index ${line.index} appears at position ${position}` });
      broken = true;
      break;
    }
    let leaf: Buffer | undefined;
    let changed = false;
    if (line.event !== null) {
      try {
        if (line.event.seq !== position) throw new Error('seq');
        // The leaf is the RFC 8785 form of the event object exactly as exported.
        leaf = hashLeaf(Buffer.from(canonicalJson(line.event as unknown as JsonValue), 'utf8'));
      } catch {
        leaf = undefined;
      }
      // Canonical base64 of the recomputed leaf equals the recorded text exactly when the
      // recorded text is the strict encoding of the same 32 bytes: no decode needed.
      if (leaf !== undefined && leaf.toString('base64') !== line.leafHash) {
        add({ kind: 'changed', index: position, message: `event ${position} does not match its recorded leaf hash` });
        changed = true;
      }
    } else leaf = decodeBase64Strict(line.leafHash);
    if (leaf === undefined || leaf.length !== 32) {
      add({ kind: 'malformed', index: position, message: `event ${position} has no valid leaf hash` });
      broken = true;
      break;
    }
    if (!changed) pending.push({ index: position, leaf, sig: line.leafSig });
    if (pending.length >= MAX_PENDING_SIGNATURES) checkPending();
    range.append(leaf);
    position++;
    const want = roots.get(position);
    if (want !== undefined) {
      if (!range.root().equals(want)) {
        checkPending();
        add({ kind: 'checkpoint', index: lastGoodCheckpoint, message: `tree of size ${position} does not match its signed checkpoint: something in ${lastGoodCheckpoint}..${position - 1} changed` });
      } else {
        // The signed root vouches for every leaf under it: their own signatures add nothing.
        pending.length = 0;
        lastGoodCheckpoint = position;
      }
    }
  }
  checkPending();
  if (!broken && anchoredSize > position) {
    add({ kind: 'truncated', index: position, message: `a checkpoint covers ${anchoredSize} events but the log holds ${position}: events from ${position} were removed` });
  }
  // Leaf-level findings are exact; a checkpoint mismatch only bounds a range from below.
  const exact = problems.filter((p) => p.kind !== 'checkpoint').map((p) => p.index).filter((i): i is number => i !== null);
  const ranged = problems.map((p) => p.index).filter((i): i is number => i !== null);
  const indexed = exact.length > 0 ? exact : ranged;
  return {
    ok: problems.length === 0,
    treeSize: position,
    rootHash: range.root().toString('base64'),
    checkpointsVerified: verified,
    anchoredSize,
    firstBadIndex: indexed.length === 0 ? (problems.length === 0 ? null : 0) : Math.min(...indexed),
    problems,
  };
}

/** Verifies a signed archive file on its own: note, file hash, range, every leaf and signature. */
export async function verifyArchive(content: string, note: string, publicKey: string): Promise<{ readonly from: number; readonly to: number }> {
  const { origin, key } = logPublicKey(publicKey);
  const opened = openNote(note, [parseVerifierKey(publicKey)]);
  const [tag, o, from, to, sha] = opened.text.slice(0, -1).split('\n');
  const { createHash } = await import('node:crypto');
  if (tag !== ARCHIVE_NOTE_TAG || o !== origin || from === undefined || to === undefined || sha !== createHash('sha256').update(content, 'utf8').digest('base64')) {
    throw new NoteError('malformed', 'archive note does not describe this file');
  }
  const lines = content.split('\n').filter((l) => l !== '');
  const f = Number(from), t = Number(to);
  if (lines.length !== t - f) throw new NoteError('malformed', `archive holds ${lines.length} events, note says ${t - f}`);
  lines.forEach((l, i) => {
    const line = parseLine(l);
    if (line.index !== f + i || line.event === null) throw new NoteError('malformed', `archive line ${i + 1} is out of place`);
    const leaf = hashLeaf(Buffer.from(canonicalJson(line.event as unknown as JsonValue), 'utf8'));
    if (leaf.toString('base64') !== line.leafHash || !verifyLeafSignature(key, origin, line.index, leaf, Buffer.from(line.leafSig, 'base64'))) {
      throw new NoteError('invalid_signature', `archive event ${line.index} does not verify`);
    }
  });
  return { from: f, to: t };
}

/** First line of an archive note's text. */
export const ARCHIVE_NOTE_TAG = 'enclave audit archive';
