/**
 * The audit log in the metadata database: appends inside the caller's transaction, signed
 * checkpoints, proofs, export and retention. See ../db/migrations/0002_audit.sql for the tables
 * and the triggers that make them append-only.
 */
import { createHash } from 'node:crypto';
import type { Db, Queryable, SqlParam, Tx } from '../db/index.ts';
import { AppError, isAppError } from '../errors.ts';
import { canonicalJson, type JsonValue } from './canonical-json.ts';
import { eventLeafHash, signLeaf, validateDraftFields, verifyLeafSignature, type Actor, type AuditEvent, type Outcome } from './event.ts';
import { CompactRange } from './merkle.ts';
import { appendSiblings, consistencyRanges, inclusionRanges, newNodes, rangeHashes, readNodes, storedRoot } from './tree.ts';
import { verifyConsistency } from './merkle.ts';
import { WitnessClient, type AddResult, type WitnessEndpoint } from './witness.ts';
import { formatCheckpoint, openCheckpoint, parseVerifierKey, signNote, verifierKey, type LogSigner } from './note.ts';
import { ARCHIVE_NOTE_TAG, logPublicKey, verifyLog, type ExportLine, type VerifyProblem, type VerifyReport } from './verify.ts';

export interface AuditDraft {
  readonly actor: Actor;
  /** Dotted verb, e.g. `catalog.dataset.create`, `workspace.query`, `identity.login`. */
  readonly action: string;
  /** What was acted on, e.g. `project:42`; an object id, never a person identifier. */
  readonly target: string;
  readonly requestId?: string;
  /** Facts about the act (counts, durations, hashes, error codes). Never row values or identifiers. */
  readonly details?: Readonly<Record<string, JsonValue>>;
}

declare const audited: unique symbol;

/** A transaction in which an audit event has been (or will be, at commit) appended. */
export interface AuditedTx extends Tx {
  readonly [audited]: true;
  /** Add details known only after the work, e.g. a created id or a row count. */
  addDetails(d: Readonly<Record<string, JsonValue>>): void;
}

export interface SignedCheckpoint {
  readonly origin: string;
  readonly treeSize: number;
  /** Base64 SHA-256 root. */
  readonly rootHash: string;
  /** The C2SP signed note, to publish as is. */
  readonly note: string;
  readonly createdAt: string;
}

/** RFC 9162 inclusion proof, hashes from the leaf level up, base64. */
export interface InclusionProof {
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly leafHash: string;
  readonly hashes: readonly string[];
}

/** RFC 9162 consistency proof, base64. */
export interface ConsistencyProof {
  readonly size1: number;
  readonly size2: number;
  readonly hashes: readonly string[];
}

/** An archive of events past retention: JSON lines plus a signed note over its hash and range. */
export interface AuditArchive {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly sha256: string;
  readonly content: string;
  readonly note: string;
}

export interface AuditLogOptions {
  /** Events older than this move to archives (default three years). */
  readonly retentionMs?: number;
  /**
   * C2SP tlog-witnesses that cosign each checkpoint and keep the last one where the database
   * owner cannot rewrite it: `checkpoint` refuses to sign a log shorter than or inconsistent
   * with what they hold, and `verify` checks the log against it.
   */
  readonly witnesses?: readonly WitnessEndpoint[];
}

export const DEFAULT_RETENTION_MS = 3 * 365.25 * 24 * 3600 * 1000;
/** Serialises appends across every process that writes the log (any 64-bit constant, shared). */
const AUDIT_APPEND_LOCK_KEY = 7_245_118_302;
const PAGE = 5000;
/**
 * The columns of an export line, shaped for speed (verification reads every row): the time as
 * epoch milliseconds (stored at millisecond precision, so exact) formatted by Date, and the
 * hashes as base64 text made by the database (no bytea decoding then re-encoding per row).
 */
const LINE_COLUMNS = `seq::text AS seq, (extract(epoch FROM time) * 1000)::bigint::text AS time_ms, actor_kind, actor_id, action, target, request_id, outcome,
  details::text AS details, translate(encode(leaf_hash, 'base64'), E'\n', '') AS leaf_hash, translate(encode(leaf_sig, 'base64'), E'\n', '') AS leaf_sig, legacy_v`;

interface EventRow {
  seq: string;
  time_ms: string;
  actor_kind: 'person' | 'service' | null;
  actor_id: string | null;
  action: string | null;
  target: string | null;
  request_id: string | null;
  outcome: Outcome | null;
  details: string | null;
  leaf_hash: string;
  leaf_sig: string;
  legacy_v: number | null;
}

function rowToLine(r: EventRow): ExportLine {
  const seq = Number(r.seq);
  const event: AuditEvent | null =
    r.actor_kind === null || r.actor_id === null || r.action === null || r.target === null || r.outcome === null || r.details === null
      ? null
      : {
          seq,
          time: new Date(Number(r.time_ms)).toISOString(),
          actor: { kind: r.actor_kind, id: r.actor_id },
          action: r.action,
          target: r.target,
          requestId: r.request_id,
          outcome: r.outcome,
          details: JSON.parse(r.details) as Record<string, JsonValue>,
          ...(r.legacy_v === 1 ? { v: 1 as const } : {}),
        };
  return { index: seq, leafHash: r.leaf_hash, leafSig: r.leaf_sig, event };
}

/** Who reads the log (an auditor, an operator): their read is an event too. */
/** A filter of the auditor's explorer (AuditLog.search). */
export interface AuditSearch {
  readonly actor?: string;
  readonly target?: string;
  /** An exact action, or a prefix ending in '.' (`governance.project.`). */
  readonly action?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly limit: number;
  readonly offset: number;
}

export interface AuditReader {
  readonly actor: Actor;
  readonly requestId?: string;
}

function readerDraft(r: AuditReader): { actor: Actor; requestId?: string } {
  return r.requestId === undefined ? { actor: r.actor } : { actor: r.actor, requestId: r.requestId };
}

/**
 * One export line: JSON, ending with the only line break it holds. JSON.stringify escapes
 * CR and LF but leaves U+0085, U+2028 and U+2029, which some log pipelines split on; they are
 * escaped too (still valid JSON, same parsed value, so the leaf hash is unchanged).
 */
export function exportLine(l: ExportLine): string {
  return `${JSON.stringify(l).replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

function errorCode(e: unknown): string {
  return isAppError(e) ? e.code : 'internal';
}

/**
 * The tamper-evident audit log. Every state change goes through `transaction`, every read or
 * refused attempt through `record`.
 *
 * @example
 *   const log = new AuditLog(db, signer);
 *   const id = await log.transaction({ actor, action: 'catalog.dataset.create', target: 'dataset' }, async (tx) => {
 *     const id = await datasets.create(tx, input);
 *     tx.addDetails({ datasetId: id });
 *     return id;
 *   });
 */
export class AuditLog {
  readonly #db: Db;
  readonly #signer: LogSigner;
  readonly #retentionMs: number;
  readonly #witnesses: readonly WitnessClient[];
  /** The log origin: the checkpoint's first line and the key name. */
  readonly origin: string;
  /** The public verifier key (C2SP vkey) to publish beside checkpoints. */
  readonly publicKey: string;
  /** The cosigner keys of the witnesses asked to cosign each checkpoint (public, C2SP vkeys). */
  readonly witnessKeys: readonly string[];

  constructor(db: Db, signer: LogSigner, options: AuditLogOptions = {}) {
    this.#db = db;
    this.#signer = signer;
    this.origin = signer.name;
    this.publicKey = verifierKey(signer);
    this.#retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#witnesses = (options.witnesses ?? []).map((w) => new WitnessClient(w));
    this.witnessKeys = (options.witnesses ?? []).map((w) => w.key);
  }

  /** Appends one event inside `tx`; the caller's commit makes it durable, its rollback erases it. */
  async #append(tx: Queryable, draft: AuditDraft, outcome: Outcome, details: Readonly<Record<string, JsonValue>>): Promise<string> {
    validateDraftFields({ ...draft, details });
    // Held until commit: the next writer waits, then sees this row, so seq = previous + 1.
    await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_APPEND_LOCK_KEY]);
    const [head] = await tx.query<{ next: string; time: string }>(
      `SELECT coalesce(max(seq) + 1, 0)::text AS next,
              to_char(date_trunc('milliseconds', clock_timestamp()) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS time
         FROM audit_events`,
    );
    if (head === undefined) throw new AppError('internal', 'audit head unreadable');
    const seq = Number(head.next);
    const event: AuditEvent = {
      seq,
      time: head.time,
      actor: { kind: draft.actor.kind, id: draft.actor.id },
      action: draft.action,
      target: draft.target,
      requestId: draft.requestId ?? null,
      outcome,
      details,
    };
    const leafHash = eventLeafHash(event);
    const leafSig = signLeaf(this.#signer.privateKey, this.origin, seq, leafHash);
    // The complete subtrees this leaf closes, stored with it (same transaction): proofs and
    // tiles then read O(log n) hashes. Half the appends close none and read nothing more.
    const siblings = appendSiblings(seq);
    const known = siblings.length === 0 ? new Map<string, Buffer>() : await readNodes(tx, siblings);
    const nodes = newNodes(seq, leafHash, siblings.map((n) => known.get(`${n.level}/${n.idx}`) as Buffer));
    const insertEvent = `INSERT INTO audit_events (seq, time, actor_kind, actor_id, action, target, request_id, outcome, details, leaf_hash, leaf_sig)
       VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11)`;
    const params: SqlParam[] = [head.next, event.time, event.actor.kind, event.actor.id, event.action, event.target, event.requestId, outcome, canonicalJson(details), leafHash, leafSig];
    if (nodes.length === 0) await tx.query(insertEvent, params);
    else {
      await tx.query(
        `WITH e AS (${insertEvent} RETURNING seq)
         INSERT INTO audit_tree (level, idx, hash) SELECT level, idx, decode(hash, 'hex') FROM unnest($12::smallint[], $13::bigint[], $14::text[]) AS n(level, idx, hash), e`,
        [...params, nodes.map((n) => String(n.level)), nodes.map((n) => String(n.idx)), nodes.map((n) => n.hash.toString('hex'))],
      );
    }
    return head.next;
  }

  /**
   * Runs `fn` in one transaction that also appends the event (outcome 'success'). If `fn`
   * throws, nothing of it is kept and an event with outcome 'failure' (or 'denied' for
   * AppError forbidden/unauthenticated) and the error code is appended in its own transaction;
   * then the error is rethrown. If the event cannot be written, the act does not happen.
   */
  async transaction<T>(draft: AuditDraft, fn: (tx: AuditedTx) => Promise<T>): Promise<T> {
    validateDraftFields({ ...draft, details: draft.details ?? {} });
    const extra: Record<string, JsonValue> = {};
    // Where it failed decides what is recorded: the work or its commit (a failure event), or
    // the append itself (the audit store is unusable: nothing more can be recorded).
    const progress: { stage: 'work' | 'append' | 'commit' } = { stage: 'work' };
    try {
      return await this.#db.transaction(async (tx) => {
        const atx = {
          inTransaction: true as const,
          query: tx.query.bind(tx),
          addDetails(d: Readonly<Record<string, JsonValue>>): void {
            Object.assign(extra, d);
          },
        } as unknown as AuditedTx;
        const result = await fn(atx);
        progress.stage = 'append';
        // Appended last, so the append lock is held only from here to the commit.
        await this.#append(tx, draft, 'success', { ...draft.details, ...extra });
        progress.stage = 'commit';
        return result;
      });
    } catch (e) {
      if (progress.stage === 'append') {
        if (isAppError(e) && e.code === 'invalid') throw e;
        throw new AppError('unavailable', 'the audit log could not record this act, so it was not done', { cause: e, hint: 'check the metadata database; retry later' });
      }
      const code = errorCode(e);
      const outcome: Outcome = code === 'forbidden' || code === 'unauthenticated' ? 'denied' : 'failure';
      try {
        await this.#db.transaction((tx) => this.#append(tx, draft, outcome, { ...draft.details, error: code }));
      } catch (auditError) {
        throw new AppError('unavailable', 'the audit log could not record a failed act', { cause: auditError, details: { error: code } });
      }
      throw e;
    }
  }

  /** Records a read or a refused attempt that changes no state (a query, a download, a failed login). */
  async record(draft: AuditDraft & { readonly outcome?: Outcome }): Promise<{ seq: string }> {
    try {
      const seq = await this.#db.transaction((tx) => this.#append(tx, draft, draft.outcome ?? 'success', draft.details ?? {}));
      return { seq };
    } catch (e) {
      if (isAppError(e) && e.code === 'invalid') throw e;
      throw new AppError('unavailable', 'the audit log could not record this act', { cause: e, hint: 'the caller must not serve the result' });
    }
  }

  /**
   * Signs a checkpoint of the whole log (or returns the latest if nothing was appended since).
   * Refuses to sign when the stored tree no longer extends the latest checkpoint, or a leaf
   * since then is not signed by the log key: signing would launder a tampering.
   */
  async checkpoint(): Promise<SignedCheckpoint> {
    const latest = await this.latestCheckpoint();
    if (latest !== null) {
      try {
        openCheckpoint(latest.note, [parseVerifierKey(this.publicKey)], this.origin);
      } catch {
        throw new AppError('integrity', 'the latest stored checkpoint is not signed by the log key; refusing to sign', { hint: 'run enclave audit verify' });
      }
    }
    // Incremental: start from the edge kept with the latest checkpoint (checked against its
    // signed root) and read only the events appended since; without an edge, from leaf 0.
    let range = new CompactRange();
    if (latest !== null) {
      const [e] = await this.#db.query<{ edge: Uint8Array | null }>('SELECT edge FROM audit_checkpoints WHERE tree_size = $1', [latest.treeSize]);
      if (e?.edge != null) {
        try {
          const r = CompactRange.fromEdge(latest.treeSize, e.edge);
          if (r.root().toString('base64') === latest.rootHash) range = r;
        } catch {
          // A malformed edge is ignored: the tree is recomputed from the leaves.
        }
      }
    }
    const from = range.size;
    const { key } = logPublicKey(this.publicKey);
    const rows = await this.#db.query<{ seq: string; leaf_hash: Uint8Array; leaf_sig: Uint8Array }>('SELECT seq::text AS seq, leaf_hash, leaf_sig FROM audit_events WHERE seq >= $1 ORDER BY audit_events.seq', [from]);
    const checkFrom = latest?.treeSize ?? 0;
    for (const [i, r] of rows.entries()) {
      const seq = from + i;
      if (Number(r.seq) !== seq) throw new AppError('integrity', `audit log has a gap or duplicate at ${seq}`, { hint: 'run enclave audit verify' });
      const leaf = Buffer.from(r.leaf_hash);
      if (seq >= checkFrom && !verifyLeafSignature(key, this.origin, seq, leaf, Buffer.from(r.leaf_sig))) {
        throw new AppError('integrity', `audit event ${seq} is not signed by the log key; refusing to sign`, { hint: 'run enclave audit verify' });
      }
      range.append(leaf);
      if (latest !== null && range.size === latest.treeSize && range.root().toString('base64') !== latest.rootHash) {
        throw new AppError('integrity', 'the audit log no longer matches its latest checkpoint; refusing to sign', { hint: 'run enclave audit verify to locate the change' });
      }
    }
    if (latest !== null && latest.treeSize > range.size) throw new AppError('integrity', 'the audit log no longer matches its latest checkpoint; refusing to sign', { hint: 'run enclave audit verify to locate the change' });
    const size = range.size;
    const root = range.root();
    const missing = await this.#uncosigned(size);
    // Without witnesses nothing new means nothing to do. With them, they are asked every time:
    // an older checkpoint whose later rows were deleted must not pass for the latest.
    if (latest !== null && latest.treeSize === size && this.#witnesses.length === 0) return latest;
    // Proofs and tiles are served from the stored tree: it must agree with the events.
    if (!(await storedRoot(this.#db, size)).equals(root)) {
      throw new AppError('integrity', 'the stored Merkle tree (audit_tree) disagrees with the events; refusing to sign', { hint: 'run enclave audit verify to locate the change' });
    }
    const heads = await this.#witnessHeads(size, root);
    let cp = latest;
    if (cp === null || cp.treeSize !== size) {
      const note = signNote(formatCheckpoint({ origin: this.origin, treeSize: size, rootHash: root }), [this.#signer]);
      await this.#db.query('INSERT INTO audit_checkpoints (tree_size, root_hash, note, edge) VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING', [size, root, note, range.edge()]);
      const [row] = await this.#db.query<CheckpointRow>(`SELECT tree_size::text AS tree_size, root_hash, note, ${CREATED_SQL} AS created_at FROM audit_checkpoints WHERE tree_size = $1`, [size]);
      if (row === undefined) throw new AppError('internal', 'checkpoint vanished');
      cp = this.#toCheckpoint(row);
    }
    await this.#submit(cp, heads.filter((h) => missing.includes(h.client)));
    return cp;
  }

  /** Witnesses that hold no cosignature (in this database) of the checkpoint of `size`. */
  async #uncosigned(size: number): Promise<WitnessClient[]> {
    if (this.#witnesses.length === 0) return [];
    const rows = await this.#db.query<{ witness: string }>('SELECT witness FROM audit_cosignatures WHERE tree_size = $1', [size]);
    const have = new Set(rows.map((r) => r.witness));
    return this.#witnesses.filter((w) => !have.has(w.verifier.vkey));
  }

  /**
   * Asks every witness for the last checkpoint it cosigned and refuses (integrity) when the
   * log is shorter than it or not provably consistent with it: signing would launder a
   * truncation or a rewrite. At least one witness must answer.
   */
  async #witnessHeads(size: number, root: Buffer): Promise<Array<{ client: WitnessClient; size: number }>> {
    if (this.#witnesses.length === 0) return [];
    const verifier = parseVerifierKey(this.publicKey);
    const out: Array<{ client: WitnessClient; size: number }> = [];
    const down: string[] = [];
    for (const client of this.#witnesses) {
      let head: { size: number; root: Buffer } | null;
      try {
        head = await client.latest(this.origin, verifier);
      } catch (e) {
        down.push(`${client.name}: ${e instanceof Error ? e.message : 'unreachable'}`);
        continue;
      }
      if (head !== null && head.size > size) {
        throw new AppError('integrity', `the audit log holds ${size} events but witness ${client.name} cosigned a checkpoint of ${head.size}: events were removed; refusing to sign`, { hint: 'run enclave audit verify; restore the removed events from a backup' });
      }
      if (head !== null && head.size > 0) {
        try {
          const proof = head.size === size ? [] : (await this.consistencyProof(head.size, size)).hashes.map((h) => Buffer.from(h, 'base64'));
          verifyConsistency(head.size, size, proof, head.root, root);
        } catch {
          throw new AppError('integrity', `the audit log is not consistent with the checkpoint of ${head.size} events that witness ${client.name} cosigned: it was rewritten; refusing to sign`, { hint: 'run enclave audit verify to locate the change' });
        }
      }
      out.push({ client, size: head?.size ?? 0 });
    }
    if (out.length === 0) throw new AppError('unavailable', `no audit witness answered (${down.join('; ')}); refusing to sign a checkpoint no witness can vouch for`, { hint: 'check ENCLAVE_AUDIT_WITNESSES and that the witness is running' });
    return out;
  }

  /** Sends the checkpoint to each witness (C2SP add-checkpoint) and keeps the cosignatures. */
  async #submit(cp: SignedCheckpoint, heads: ReadonlyArray<{ client: WitnessClient; size: number }>): Promise<void> {
    const failed: string[] = [];
    for (const { client, size } of heads) {
      let old = size;
      let result: AddResult | undefined;
      for (let attempt = 0; attempt < 2; attempt++) {
        const proof = old === 0 || old === cp.treeSize ? [] : (await this.consistencyProof(old, cp.treeSize)).hashes.map((h) => Buffer.from(h, 'base64'));
        result = await client.add(old, proof, cp.note).catch((e: unknown) => ({ kind: 'refused', status: 0, message: e instanceof Error ? e.message : 'unreachable' }) as const);
        if (result.kind !== 'conflict' || result.size > cp.treeSize || result.size === old) break;
        old = result.size;
      }
      if (result?.kind === 'cosigned') {
        await this.#db.query('INSERT INTO audit_cosignatures (tree_size, witness, signature_line) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [cp.treeSize, client.verifier.vkey, result.line]);
      } else failed.push(`${client.name}: ${result?.kind === 'conflict' ? `holds a checkpoint of ${result.size}` : result?.kind === 'refused' ? `${result.status} ${result.message}` : 'no answer'}`);
    }
    if (failed.length > 0) {
      throw new AppError(failed.length === heads.length ? 'unavailable' : 'integrity', `checkpoint ${cp.treeSize} is signed but not cosigned by ${failed.join('; ')}`, { hint: 'the next checkpoint retries; check the witness' });
    }
  }

  /** The latest checkpoint with the witnesses' cosignatures appended, as monitors fetch it; reads only. */
  async publishedCheckpoint(): Promise<SignedCheckpoint | null> {
    const cp = await this.latestCheckpoint();
    if (cp === null) return null;
    const rows = await this.#db.query<{ signature_line: string }>('SELECT signature_line FROM audit_cosignatures WHERE tree_size = $1 ORDER BY witness', [cp.treeSize]);
    return { ...cp, note: cp.note + rows.map((r) => r.signature_line).join('') };
  }

  #toCheckpoint(r: CheckpointRow): SignedCheckpoint {
    return { origin: this.origin, treeSize: Number(r.tree_size), rootHash: Buffer.from(r.root_hash).toString('base64'), note: r.note, createdAt: r.created_at };
  }

  /** The most recent signed checkpoint, or null before the first one. */
  async latestCheckpoint(): Promise<SignedCheckpoint | null> {
    const [row] = await this.#db.query<CheckpointRow>(`SELECT tree_size::text AS tree_size, root_hash, note, ${CREATED_SQL} AS created_at FROM audit_checkpoints ORDER BY audit_checkpoints.tree_size DESC LIMIT 1`);
    return row === undefined ? null : this.#toCheckpoint(row);
  }

  /** Every signed checkpoint, oldest first (for witnesses and verification). */
  async checkpoints(): Promise<SignedCheckpoint[]> {
    const rows = await this.#db.query<CheckpointRow>(`SELECT tree_size::text AS tree_size, root_hash, note, ${CREATED_SQL} AS created_at FROM audit_checkpoints ORDER BY audit_checkpoints.tree_size`);
    return rows.map((r) => this.#toCheckpoint(r));
  }

  /** Number of events in the log (archived ones included): one indexed read. */
  async size(q: Queryable = this.#db): Promise<number> {
    const [r] = await q.query<{ n: string }>('SELECT (coalesce(max(seq), -1) + 1)::text AS n FROM audit_events');
    return Number(r?.n ?? 0);
  }

  /**
   * Inclusion proof of event `seq` in the tree of `treeSize` leaves (default: the latest
   * checkpoint), from the stored tree: O(log n) hashes read, never the leaves.
   */
  async inclusionProof(seq: number | string, treeSize?: number): Promise<InclusionProof> {
    const size = treeSize ?? (await this.latestCheckpoint())?.treeSize;
    if (size === undefined) throw new AppError('not_found', 'no checkpoint yet', { hint: 'ask for a checkpoint first' });
    const index = Number(seq);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new AppError('not_found', `event ${String(seq)} is not in a tree of size ${size}`);
    const held = await this.size();
    if (held < size) throw new AppError('not_found', `the log holds ${held} events, fewer than ${size}`);
    const { hashes } = await rangeHashes(this.#db, [[index, index + 1], ...inclusionRanges(index, size)]);
    const [leaf, ...path] = hashes;
    return { leafIndex: index, treeSize: size, leafHash: (leaf as Buffer).toString('base64'), hashes: path.map((h) => h.toString('base64')) };
  }

  /** Consistency proof between two tree sizes (0 < from ≤ to), from the stored tree: O(log n) hashes read. */
  async consistencyProof(from: number, to: number): Promise<ConsistencyProof> {
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || from > to) throw new AppError('invalid', 'consistency needs 0 < from ≤ to', { hint: 'e.g. ?from=10&to=20' });
    const held = await this.size();
    if (held < to) throw new AppError('not_found', `the log holds ${held} events, fewer than ${to}`);
    const { hashes } = await rangeHashes(this.#db, consistencyRanges(from, to));
    return { size1: from, size2: to, hashes: hashes.map((h) => h.toString('base64')) };
  }

  /**
   * A C2SP tlog-tiles hash tile: `width` hashes of tree level 8·`level` from node 256·`index`,
   * concatenated; only nodes complete within the latest checkpoint are served. One range read.
   * Returns null when the tile does not exist (yet).
   */
  async hashTile(level: number, index: number, width: number): Promise<Buffer | null> {
    const size = (await this.latestCheckpoint())?.treeSize ?? 0;
    const complete = Math.floor(size / 2 ** (8 * level));
    const from = index * 256;
    if (width < 1 || width > 256 || from + width > complete) return null;
    const rows = level === 0
      ? await this.#db.query<{ h: Uint8Array }>('SELECT leaf_hash AS h FROM audit_events WHERE seq >= $1 AND seq < $2 ORDER BY audit_events.seq', [from, from + width])
      : await this.#db.query<{ h: Uint8Array }>('SELECT hash AS h FROM audit_tree WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY audit_tree.idx', [8 * level, from, from + width]);
    if (rows.length !== width) throw new AppError('integrity', `the stored audit tree lacks nodes of tile ${level}/${index}`, { hint: 'run enclave audit verify' });
    return Buffer.concat(rows.map((r) => r.h));
  }

  /**
   * A C2SP tlog-tiles entry bundle for an auditor: the leaf data (JCS of each event, exactly
   * what the leaf hashes) of events [256·index, 256·index + width), each prefixed by its length
   * as a big-endian uint16, within the latest checkpoint. The read is recorded first
   * (`audit.tile.entries`) and nothing is served if it cannot be. Null when the bundle does not
   * exist (yet).
   */
  async entryBundle(reader: AuditReader, index: number, width: number): Promise<Buffer | null> {
    const size = (await this.latestCheckpoint())?.treeSize ?? 0;
    const from = index * 256;
    if (width < 1 || width > 256 || from + width > size) return null;
    await this.record({ ...readerDraft(reader), action: 'audit.tile.entries', target: `audit_events:${from}-${from + width}` });
    const parts: Buffer[] = [];
    for await (const l of this.lines({ fromSeq: from, toSeq: from + width })) {
      if (l.event === null) throw new AppError('not_found', `event ${l.index} is archived: its content is in a signed archive file`, { hint: 'see enclave audit archive' });
      const entry = Buffer.from(canonicalJson(l.event as unknown as JsonValue), 'utf8');
      const len = Buffer.alloc(2);
      len.writeUInt16BE(entry.length);
      parts.push(len, entry);
    }
    return Buffer.concat(parts);
  }

  /** Root of the first `size` leaves from the stored tree (O(log n) hashes). */
  async storedRoot(size: number): Promise<Buffer> {
    return storedRoot(this.#db, size);
  }

  /** Export lines in index order, optionally limited to events with since ≤ time < until, or to a seq range. */
  async *lines(options: { readonly since?: Date; readonly until?: Date; readonly fromSeq?: number; readonly toSeq?: number } = {}): AsyncGenerator<ExportLine> {
    const page = (cursor: number): Promise<EventRow[]> => this.#db.query<EventRow>(
      `SELECT ${LINE_COLUMNS}
         FROM audit_events
        WHERE seq >= $1 AND ($2::bigint IS NULL OR seq < $2) AND ($3::timestamptz IS NULL OR time >= $3) AND ($4::timestamptz IS NULL OR time < $4)
        ORDER BY audit_events.seq LIMIT ${PAGE}`,
      [cursor, options.toSeq ?? null, options.since?.toISOString() ?? null, options.until?.toISOString() ?? null],
    );
    let next = page(options.fromSeq ?? 0);
    for (;;) {
      const rows = await next;
      const last = rows.at(-1);
      const more = rows.length === PAGE && last !== undefined;
      // The next page is read while the caller works on this one (on PostgreSQL the two overlap).
      if (more) {
        next = page(Number(last.seq) + 1);
        next.catch(() => undefined);
      }
      for (const r of rows) yield rowToLine(r);
      if (!more) return;
    }
  }

  /**
   * The log as JSON lines (event, leaf index, leaf hash, leaf signature) for a SIEM or an
   * auditor, each line ending with a newline and holding no other line break (see `exportLine`).
   */
  async *export(since?: Date, until?: Date): AsyncGenerator<string> {
    const opts: { since?: Date; until?: Date } = {};
    if (since !== undefined) opts.since = since;
    if (until !== undefined) opts.until = until;
    for await (const l of this.lines(opts)) yield exportLine(l);
  }

  /**
   * The export an auditor asks for: the read itself is recorded first (`audit.export`), and
   * nothing is served if it cannot be (fail closed).
   */
  async *exportFor(reader: AuditReader, since?: Date, until?: Date): AsyncGenerator<string> {
    await this.record({ ...readerDraft(reader), action: 'audit.export', target: 'audit_events', details: { since: since?.toISOString() ?? null, until: until?.toISOString() ?? null } });
    yield* this.export(since, until);
  }

  /**
   * Every event whose target is `target` or lies under it (`project:42` also matches
   * `project:42:extract`), oldest first, in one indexed query. The read is recorded first
   * (`audit.history`) and nothing is served if it cannot be.
   */
  async history(target: string, reader: AuditReader): Promise<ExportLine[]> {
    await this.record({ ...readerDraft(reader), action: 'audit.history', target });
    const rows = await this.#db.query<EventRow>(
      `SELECT ${LINE_COLUMNS}
         FROM audit_events
        WHERE target = $1 OR starts_with(target, $1 || ':')
        ORDER BY audit_events.seq`,
      [target],
    );
    return rows.map(rowToLine);
  }

  /**
   * Events matching a filter, newest first, a page at a time, for an auditor's explorer: by
   * actor id, target (exact or under it), action (exact or a prefix ending in '.') and time.
   * The read is recorded first (`audit.search`, with the filter's shape) and nothing is served
   * if it cannot be.
   */
  async search(reader: AuditReader, f: AuditSearch): Promise<{ readonly lines: ExportLine[]; readonly total: number }> {
    const where: string[] = [];
    const params: (string | number | Date)[] = [];
    const add = (sql: (p: string) => string, v: string | number | Date): void => {
      params.push(v);
      where.push(sql(`$${params.length}`));
    };
    if (f.actor !== undefined) add((p) => `actor_id = ${p}`, f.actor);
    if (f.target !== undefined) add((p) => `(target = ${p} OR starts_with(target, ${p} || ':'))`, f.target);
    if (f.action !== undefined) add((p) => (f.action?.endsWith('.') === true ? `starts_with(action, ${p})` : `action = ${p}`), f.action);
    if (f.since !== undefined) add((p) => `time >= ${p}`, f.since);
    if (f.until !== undefined) add((p) => `time < ${p}`, f.until);
    await this.record({ ...readerDraft(reader), action: 'audit.search', target: 'audit_events', details: { filters: [f.actor === undefined ? '' : 'actor', f.target === undefined ? '' : 'target', f.action === undefined ? '' : 'action', f.since === undefined && f.until === undefined ? '' : 'time'].filter((x) => x !== '').join(',') } });
    const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
    const [count] = await this.#db.query<{ n: string }>(`SELECT count(*)::text AS n FROM audit_events ${clause}`, params);
    const rows = await this.#db.query<EventRow>(
      `SELECT ${LINE_COLUMNS} FROM audit_events ${clause} ORDER BY audit_events.seq DESC LIMIT ${String(Math.trunc(f.limit))} OFFSET ${String(Math.trunc(f.offset))}`,
      params,
    );
    return { lines: rows.map(rowToLine), total: Number(count?.n ?? 0) };
  }

  /**
   * Verifies the whole log in the database against its own signed checkpoints, `extra` copies
   * (files an auditor kept) and the last checkpoint each configured witness cosigned: a tail
   * removed with its checkpoint rows, or a rewrite re-signed with the log key, shows against
   * the witness's copy. A witness that cannot be asked is a problem too: without it a
   * truncation cannot be ruled out.
   */
  async verify(extraCheckpoints: readonly string[] = []): Promise<VerifyReport & { readonly witnessed: ReadonlyArray<{ readonly witness: string; readonly size: number }> }> {
    const cps = (await this.checkpoints()).map((c) => c.note);
    const verifier = parseVerifierKey(this.publicKey);
    const witnessed: Array<{ witness: string; size: number }> = [];
    const notes: string[] = [];
    const problems: VerifyProblem[] = [];
    for (const w of this.#witnesses) {
      try {
        const head = await w.latest(this.origin, verifier);
        if (head !== null) {
          notes.push(head.note);
          witnessed.push({ witness: w.name, size: head.size });
        }
      } catch (e) {
        problems.push({ kind: 'checkpoint', index: null, message: `witness ${w.name} could not be asked for its checkpoint (${e instanceof Error ? e.message : 'error'}): a truncation cannot be ruled out` });
      }
    }
    const r = await verifyLog({ events: this.lines(), checkpoints: [...cps, ...extraCheckpoints, ...notes], publicKey: this.publicKey });
    return { ...r, ok: r.ok && problems.length === 0, problems: [...r.problems, ...problems], witnessed };
  }

  /**
   * Moves events older than the retention period (and already covered by a checkpoint) into a
   * signed archive. `store` must durably keep the archive before it returns: only then are the
   * events tombstoned, in one audited transaction. Returns null when nothing is due.
   */
  async archive(store: (archive: AuditArchive) => Promise<void>, options: { readonly now?: Date; readonly maxEvents?: number } = {}): Promise<AuditArchive | null> {
    const cutoff = new Date((options.now ?? new Date()).getTime() - this.#retentionMs);
    const anchored = (await this.latestCheckpoint())?.treeSize ?? 0;
    const [first] = await this.#db.query<{ seq: string | null }>('SELECT min(seq)::text AS seq FROM audit_events WHERE archived_at IS NULL');
    if (first?.seq === null || first === undefined) return null;
    const from = Number(first.seq);
    const [stop] = await this.#db.query<{ seq: string | null }>('SELECT min(seq)::text AS seq FROM audit_events WHERE seq >= $1 AND time >= $2', [from, cutoff.toISOString()]);
    let to = Math.min(stop?.seq == null ? Number.MAX_SAFE_INTEGER : Number(stop.seq), anchored, from + (options.maxEvents ?? 1_000_000));
    const [count] = await this.#db.query<{ n: string }>('SELECT count(*)::text AS n FROM audit_events WHERE seq >= $1', [from]);
    to = Math.min(to, from + Number(count?.n ?? 0));
    if (to <= from) return null;
    let content = '';
    for await (const l of this.lines({ fromSeq: from, toSeq: to })) content += exportLine(l);
    const sha = createHash('sha256').update(content, 'utf8').digest();
    const note = signNote(`${ARCHIVE_NOTE_TAG}\n${this.origin}\n${from}\n${to}\n${sha.toString('base64')}\n`, [this.#signer]);
    const archive: AuditArchive = { name: `audit-${String(from).padStart(12, '0')}-${String(to).padStart(12, '0')}.jsonl`, from, to, sha256: sha.toString('hex'), content, note };
    await store(archive);
    await this.transaction({ actor: { kind: 'service', id: 'audit-retention' }, action: 'audit.archive', target: `audit_events:${from}-${to}`, details: { from, to, events: to - from, sha256: archive.sha256 } }, async (tx) => {
      await tx.query('INSERT INTO audit_archives (from_seq, to_seq, name, sha256, note) VALUES ($1, $2, $3, $4, $5)', [from, to, archive.name, sha, note]);
      await tx.query('SELECT audit_tombstone_archived($1)', [from]);
    });
    return archive;
  }
}

interface CheckpointRow {
  tree_size: string;
  root_hash: Uint8Array;
  note: string;
  created_at: string;
}
const CREATED_SQL = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
