import { readFile } from 'node:fs/promises';
import { AppError } from '../../errors.ts';
import type { MigrationService } from '../../migrate/index.ts';
import { formatAmount, progressBar } from '../progress.ts';
import type { CliServices, Output } from '../services.ts';
import { formatTable } from '../table.ts';

function service(svc: CliServices): MigrationService {
  if (svc.migration === undefined) throw new AppError('internal', 'migration service not configured');
  return svc.migration;
}

/** Parses `100MB`, `1.5GB`, `500k` (bytes per second). */
export function parseBandwidth(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(k|kb|m|mb|g|gb)?(?:\/s)?$/i.exec(s.trim());
  if (m === null) throw new AppError('invalid', `bandwidth ${JSON.stringify(s)} is not a size per second`, { hint: 'e.g. --max-bandwidth 200MB' });
  const unit = (m[2] ?? '').toLowerCase()[0];
  return Number(m[1]) * (unit === 'k' ? 1e3 : unit === 'm' ? 1e6 : unit === 'g' ? 1e9 : 1);
}

export async function migratePlan(svc: CliServices, o: { from: string; to: string; dataset?: string[] }, out: Output): Promise<void> {
  const plan = await service(svc).plan({ from: o.from, to: o.to, ...(o.dataset === undefined ? {} : { datasets: o.dataset }), actor: svc.actor });
  out.write(`plan ${plan.id}: ${plan.from} → ${plan.to}\n\n`);
  out.write(formatTable(['dataset', 'version', 'files', 'bytes', 'merkle root'], plan.versions.map((v) => [v.dataset, v.version, v.files, v.bytes, `${v.merkleRoot.slice(0, 16)}…`])));
  out.write(`\n${formatTable(['check', 'ok', 'detail'], plan.checks.map((c) => [c.check, c.ok ? 'yes' : 'NO', c.detail]))}`);
  out.write(`\n${plan.files.length} files, ${formatAmount(plan.totalBytes, 'bytes')}. ${plan.checks.every((c) => c.ok) ? `Next: enclave migrate run ${plan.id}` : 'Some checks failed: fix them and plan again.'}\n`);
}

export async function migrateRun(svc: CliServices, planId: string, o: { concurrency?: number; maxBandwidth?: string; attempts?: number }, out: Output): Promise<void> {
  const plan = await service(svc).getPlan(planId);
  const bar = progressBar({ label: 'copying', total: plan.totalBytes, unit: 'bytes' });
  const r = await service(svc).run(planId, {
    actor: svc.actor,
    ...(o.concurrency === undefined ? {} : { concurrency: o.concurrency }),
    ...(o.maxBandwidth === undefined ? {} : { maxBytesPerSecond: parseBandwidth(o.maxBandwidth) }),
    ...(o.attempts === undefined ? {} : { attempts: o.attempts }),
    onProgress: (p) => bar.update(p.bytesDone, `${p.filesDone}/${p.filesTotal} files`),
    onRetry: (f, a, e) => process.stderr.write(`\nretry ${a} of ${f}: ${e}\n`),
  });
  bar.finish();
  out.write(`copied ${r.copied} files (${formatAmount(r.bytesCopied, 'bytes')}), ${r.adopted} found complete, ${r.skipped} already journaled, in ${r.seconds.toFixed(1)} s\nNext: enclave migrate verify ${planId}\n`);
}

export async function migrateVerify(svc: CliServices, planId: string, out: Output, o: { deep?: boolean } = {}): Promise<void> {
  const v = await service(svc).verify(planId, { actor: svc.actor, deep: o.deep === true });
  out.write(formatTable(['dataset', 'version', 'merkle root', 'ok'], v.merkleRoots.map((m) => [m.dataset, m.version, `${m.expected.slice(0, 16)}…`, m.ok ? 'yes' : 'NO'])));
  out.write(`\n${formatTable(['table', 'year', 'rows (manifest)', 'rows (source)', 'rows (target)', 'fingerprint', 'ok'], v.partitions.map((p) => [p.table, String(p.year), p.rows.manifest, p.rows.source, p.rows.target, p.fingerprint.source === p.fingerprint.target ? 'equal' : 'DIFFERS', p.ok ? 'yes' : 'NO']))}`);
  if (v.differences.length > 0) {
    out.write(`\nDifferences:\n${formatTable(['dataset', 'version', 'where', 'problem'], v.differences.map((d) => [d.dataset, d.version, d.where, d.problem]))}`);
    const first = v.differences[0];
    throw new AppError('integrity', `verification of plan ${planId} found ${v.differences.length} difference${v.differences.length === 1 ? '' : 's'}, the first: ${first?.where ?? '?'}: ${first?.problem ?? '?'}`, {
      hint: v.differences.some((d) => d.problem.startsWith('source ')) ? 'a source file changed since the plan: find why, restore it or make a new plan' : `files found wrong in the target are pending again: enclave migrate run ${planId}, then verify; remove objects the manifests do not name`,
    });
  }
  out.write(`\nverify green: ${v.filesChecked} files (${formatAmount(v.bytesChecked, 'bytes')}), ${v.partitions.length} partitions reconciled in ${v.seconds.toFixed(1)} s${v.mode === 'deep' ? ' (every row fingerprinted on both sides)' : ''}\n`);
}

export async function migrateMirror(svc: CliServices, planId: string, o: { sql?: string }, out: Output): Promise<void> {
  const queries = o.sql === undefined ? [] : (await readFile(o.sql, 'utf8')).split(/;\s*(?:\n|$)/).map((q) => q.trim()).filter((q) => q !== '' && !/^--[^\n]*$/.test(q));
  const m = await service(svc).mirror(planId, { actor: svc.actor, queries });
  out.write(formatTable(['dataset', 'query', 'source', 'target', 'equal'], m.queries.map((q) => [q.dataset, q.name, q.source.slice(0, 28), q.target.slice(0, 28), q.ok ? 'yes' : 'NO'])));
  if (!m.ok) throw new AppError('integrity', `${m.queries.filter((q) => !q.ok).length} mirror queries differ between the two locations`, { hint: 'run enclave migrate verify to locate the files' });
}

export async function migrateSwitch(svc: CliServices, kind: 'cutover' | 'rollback', planId: string, o: { dataset?: string }, out: Output): Promise<void> {
  const opts = { actor: svc.actor, ...(o.dataset === undefined ? {} : { dataset: o.dataset }) };
  const r = kind === 'cutover' ? await service(svc).cutover(planId, opts) : await service(svc).rollback(planId, opts);
  out.write(`${r.note}\nreport sha256 ${r.sha256} recorded in the audit log (migrate.report)\n`);
}
