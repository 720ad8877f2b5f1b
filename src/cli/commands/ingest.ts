import type { IngestResult } from '../../ingest/index.ts';
import { formatAmount, progressBar, type Progress } from '../progress.ts';
import type { CliServices, Output } from '../services.ts';
import { formatTable } from '../table.ts';

/** `enclave ingest --dataset D DIR|FILES`: validate, pseudonymise, encrypt, publish a version. */
export async function ingestCommand(svc: CliServices, dataset: string, inputs: readonly string[], out: Output): Promise<IngestResult> {
  let bar: Progress | undefined;
  let phase = '';
  const result = await svc.ingest.ingest({
    dataset,
    inputs,
    actor: svc.actor,
    onProgress: (p) => {
      // validate and write alternate per file: one bar for both.
      const label = p.phase === 'hash' ? 'fingerprinting' : p.phase === 'commit' ? 'publishing' : 'ingesting';
      if (label !== phase) {
        bar?.finish();
        phase = label;
        bar = p.phase === 'commit' ? undefined : progressBar({ label, total: p.total, unit: 'bytes' });
      }
      bar?.update(p.done, p.file);
    },
  });
  bar?.finish();
  out.write(renderIngestResult(result));
  return result;
}

export function renderIngestResult(r: IngestResult): string {
  if (r.alreadyIngested) {
    return `This delivery was already ingested as ${r.dataset} version ${r.version} (delivery ${r.deliveryId.slice(0, 12)}…): nothing to do.\n`;
  }
  const byTable = new Map<string, Map<number, number>>();
  for (const t of r.tables) {
    const m = byTable.get(t.table) ?? new Map<number, number>();
    m.set(t.year, (m.get(t.year) ?? 0) + t.rows);
    byTable.set(t.table, m);
  }
  const years = [...new Set(r.tables.map((t) => t.year))].sort();
  const rows = [...byTable.entries()].map(([table, m]) => [table, ...years.map((y) => m.get(y) ?? null), [...m.values()].reduce((a, b) => a + b, 0)]);
  let s = `\n${r.dataset} version ${r.version} published (run ${r.runId}, Merkle root ${r.merkleRoot.slice(0, 16)}…)\n\n`;
  // Year 0 holds unpartitioned tables (reference tables such as IR_BEN_R).
  s += formatTable(['table', ...years.map((y) => (y === 0 ? 'no year' : String(y))), 'total'], rows);
  s += `\nread ${formatAmount(r.rowsRead)} (${formatAmount(r.bytesRead, 'bytes')}) in ${r.seconds.toFixed(1)} s: ${formatAmount(r.rowsAccepted)} accepted, ${formatAmount(r.rowsQuarantined)} quarantined\n`;
  if (r.quarantine.total > 0) {
    s += `\nQuarantine by rule:\n${formatTable(['rule', 'violations'], Object.entries(r.quarantine.byRule).sort((a, b) => b[1] - a[1]))}`;
    s += `\nFirst quarantined lines (values reduced to their shape):\n${formatTable(['file', 'line', 'column', 'rule', 'shape'], r.quarantine.entries.slice(0, 10).map((e) => [e.file, e.line, e.column, e.rule, e.value]))}`;
    s += `Full report: enclave ingest-report ${r.runId}\n`;
  }
  return s;
}
