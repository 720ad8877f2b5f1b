/**
 * Aligned text tables for the CLI. Numbers are right-aligned; cells are one line (newlines and
 * control characters are shown escaped, so a value can never forge extra output lines).
 */
export type Cell = string | number | bigint | boolean | null | undefined;

export function formatTable(headers: readonly string[], rows: ReadonlyArray<readonly Cell[]>): string {
  const text = rows.map((r) => headers.map((_, i) => cellText(r[i])));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => { const v = r[i]; return typeof v === 'number' || typeof v === 'bigint' || v === null || v === undefined; }));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (numeric[i] === true ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '─'.repeat(w)).join('  '), ...text.map(line)].join('\n') + '\n';
}

function cellText(v: Cell): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2);
  if (typeof v === 'bigint') return v.toLocaleString('en-US');
  return String(v).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
