/**
 * Audit: every act recorded in a tamper-evident log anyone can verify (RFC 9162 Merkle tree,
 * RFC 8785 leaves, C2SP signed checkpoints). Other domains import only from here.
 */
export type { JsonValue } from './canonical-json.ts';
export { canonicalJson } from './canonical-json.ts';
export type { Actor, AuditEvent, Outcome } from './event.ts';
export { encodeLeaf, eventLeafHash } from './event.ts';
export type { AuditArchive, AuditDraft, AuditedTx, AuditLogOptions, AuditReader, AuditSearch, ConsistencyProof, InclusionProof, SignedCheckpoint } from './log.ts';
export { AuditLog, DEFAULT_RETENTION_MS, exportLine } from './log.ts';
export { consistencyProof, emptyRoot, hashChildren, hashLeaf, inclusionProof, ProofError, rootFromLeafHashes, verifyConsistency, verifyInclusion } from './merkle.ts';
export type { Checkpoint, LogSigner, NoteVerifier, OpenedNote } from './note.ts';
export { formatCheckpoint, generateLogKey, NoteError, openCheckpoint, openNote, parseCheckpoint, parseSignerKey, parseVerifierKey, signerKeyText, signNote, verifierKey } from './note.ts';
export type { CheckpointSchedule } from './schedule.ts';
export { startCheckpointSchedule } from './schedule.ts';
export type { ExportLine, ProblemKind, VerifyLogInput, VerifyProblem, VerifyReport } from './verify.ts';
export { verifyArchive, verifyLog } from './verify.ts';
