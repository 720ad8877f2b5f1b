/**
 * `enclave audit …`: verify (from the database, or offline from an export, checkpoints and the
 * public key only), export for a SIEM, checkpoint, proofs, archive, a target's history and the
 * public verifier key. Thin printers over AuditLog and verifyLog.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { exportLine, verifyLog, type AuditArchive, type AuditLog, type AuditReader, type ExportLine, type VerifyReport } from '../../audit/index.ts';
import { AppError } from '../../errors.ts';
import type { Output } from '../services.ts';
import { formatTable } from '../table.ts';

/** Text for a terminal line: control and line-separator characters shown as escapes, never raw. */
export function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function printReport(r: VerifyReport & { readonly witnessed?: ReadonlyArray<{ readonly witness: string; readonly size: number }> }, out: Output): void {
  if (r.ok) {
    out.write(`audit log verified: ${r.treeSize} events, root ${r.rootHash}\n`);
    out.write(`  ${r.checkpointsVerified} signed checkpoints verified; anchored up to ${r.anchoredSize}${r.treeSize > r.anchoredSize ? ` (${r.treeSize - r.anchoredSize} newer events not yet checkpointed)` : ''}\n`);
    if (r.witnessed !== undefined) {
      out.write(r.witnessed.length === 0
        ? '  no witness configured (ENCLAVE_AUDIT_WITNESSES): a tail removed with its checkpoints cannot be ruled out\n'
        : r.witnessed.map((w) => `  witness ${oneLine(w.witness)} cosigned ${w.size} events: consistent\n`).join(''));
    }
    return;
  }
  out.write(`audit log FAILED verification: first bad index ${r.firstBadIndex ?? 'unknown'}\n`);
  for (const p of r.problems) out.write(`  ${p.kind}${p.index === null ? '' : ` at ${p.index}`}: ${oneLine(p.message)}\n`);
  out.write(`  (${r.treeSize} events read, ${r.checkpointsVerified} checkpoints verified)\n`);
}

function failIfBad(r: VerifyReport): void {
  if (!r.ok) {
    throw new AppError('integrity', `the audit log does not verify: first bad index ${r.firstBadIndex ?? 'unknown'} (${r.problems[0]?.kind ?? 'unknown'})`, {
      hint: 'keep the export and the checkpoints as evidence; compare with a witness copy of the checkpoints',
    });
  }
}

/**
 * Signed notes in a checkpoint file: one C2SP note as served by GET /api/v1/audit/checkpoint,
 * or the JSON array served by GET /api/v1/audit/checkpoints.
 */
export async function readCheckpointFile(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  if (text.trimStart().startsWith('[')) {
    const arr = JSON.parse(text) as unknown;
    if (!Array.isArray(arr)) throw new AppError('invalid', `${path} is not a checkpoint list`);
    return arr.map((x: unknown) => {
      const note = typeof x === 'string' ? x : typeof x === 'object' && x !== null && 'note' in x && typeof x.note === 'string' ? x.note : undefined;
      if (note === undefined) throw new AppError('invalid', `${path}: every entry needs a note`);
      return note;
    });
  }
  return [text];
}

/** The verifier key given on the command line, or read from a file holding it. */
export async function readPublicKey(arg: string): Promise<string> {
  if (/^[^\s+]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/.test(arg)) return arg;
  return (await readFile(arg, 'utf8')).trim();
}

async function* fileLines(path: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const l of rl) if (l !== '') yield l;
}

/**
 * Offline verification: recomputes the tree from an export file and checks it against the given
 * checkpoints with the public key alone (no database, no keyring). Throws `integrity` when
 * anything was changed, deleted, inserted or reordered, after printing where.
 */
export async function auditVerifyOffline(o: { readonly exportFile: string; readonly checkpointFiles: readonly string[]; readonly publicKey: string }, out: Output): Promise<VerifyReport> {
  if (o.checkpointFiles.length === 0) {
    throw new AppError('invalid', 'offline verification needs at least one --checkpoint file', { hint: 'save one with: curl https://HOST/api/v1/audit/checkpoint > checkpoint.txt' });
  }
  const checkpoints = (await Promise.all(o.checkpointFiles.map(readCheckpointFile))).flat();
  const report = await verifyLog({ events: fileLines(o.exportFile), checkpoints, publicKey: await readPublicKey(o.publicKey) });
  printReport(report, out);
  failIfBad(report);
  return report;
}

/** Verification of the log in the database against its own checkpoints and any witness copies. */
export async function auditVerifyDb(audit: AuditLog, checkpointFiles: readonly string[], out: Output): Promise<VerifyReport> {
  const extra = (await Promise.all(checkpointFiles.map(readCheckpointFile))).flat();
  const report = await audit.verify(extra);
  printReport(report, out);
  failIfBad(report);
  return report;
}

/** `enclave audit export`: JSON lines to a file (written whole, then renamed) or to the output. */
export async function auditExport(audit: AuditLog, reader: AuditReader, o: { readonly since?: Date; readonly until?: Date; readonly outFile?: string }, out: Output): Promise<number> {
  let n = 0;
  if (o.outFile === undefined) {
    for await (const l of audit.exportFor(reader, o.since, o.until)) {
      out.write(l);
      n++;
    }
    return n;
  }
  const tmp = `${o.outFile}.partial`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    let buf = '';
    for await (const l of audit.exportFor(reader, o.since, o.until)) {
      buf += l;
      n++;
      if (buf.length > 1 << 20) {
        await fh.write(buf);
        buf = '';
      }
    }
    await fh.write(buf);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, o.outFile);
  out.write(`exported ${n} events to ${o.outFile}\n`);
  return n;
}

/** `enclave audit checkpoint`: signs (or returns the latest) checkpoint and prints its note. */
export async function auditCheckpoint(audit: AuditLog, out: Output): Promise<void> {
  const cp = await audit.checkpoint();
  // With the witnesses' cosignatures, as GET /api/v1/audit/checkpoint serves it.
  out.write((await audit.publishedCheckpoint())?.note ?? cp.note);
}

export async function auditProofInclusion(audit: AuditLog, index: number, size: number | undefined, out: Output): Promise<void> {
  out.write(`${JSON.stringify(await audit.inclusionProof(index, size), null, 2)}\n`);
}

export async function auditProofConsistency(audit: AuditLog, from: number, to: number, out: Output): Promise<void> {
  out.write(`${JSON.stringify(await audit.consistencyProof(from, to), null, 2)}\n`);
}

/**
 * `enclave audit archive --dir D`: moves every event past retention into signed archive files
 * (`audit-FROM-TO.jsonl` and its `.note`), each synced to disk before its events are tombstoned.
 */
export async function auditArchive(audit: AuditLog, dir: string, out: Output, now?: Date): Promise<AuditArchive[]> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const store = async (a: AuditArchive): Promise<void> => {
    for (const [name, content] of [[a.name, a.content], [`${a.name}.note`, a.note]] as const) {
      const tmp = join(dir, `${name}.partial`);
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.write(content);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, join(dir, name));
    }
  };
  const done: AuditArchive[] = [];
  for (;;) {
    const a = await audit.archive(store, now === undefined ? {} : { now });
    if (a === null) break;
    done.push(a);
    out.write(`archived events ${a.from}..${a.to - 1} to ${join(dir, a.name)} (sha256 ${a.sha256})\n`);
  }
  if (done.length === 0) out.write('nothing to archive: no checkpointed event is past retention\n');
  return done;
}

/** `enclave audit history --target T`: every event on a target (and under it), oldest first. */
export async function auditHistory(audit: AuditLog, reader: AuditReader, target: string, o: { readonly json?: boolean }, out: Output): Promise<ExportLine[]> {
  const lines = await audit.history(target, reader);
  if (o.json === true) {
    for (const l of lines) out.write(exportLine(l));
    return lines;
  }
  if (lines.length === 0) {
    out.write(`no event on ${oneLine(target)}\n`);
    return lines;
  }
  out.write(formatTable(
    ['seq', 'time (UTC)', 'actor', 'action', 'target', 'outcome', 'details'],
    lines.map((l) => {
      const e = l.event;
      return e === null
        ? [l.index, '(archived)', '', '', '', '', '']
        : [l.index, e.time, oneLine(`${e.actor.kind}:${e.actor.id}`), oneLine(e.action), oneLine(e.target), e.outcome, oneLine(JSON.stringify(e.details))];
    }),
  ));
  return lines;
}
