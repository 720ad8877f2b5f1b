/**
 * A terminal progress bar without dependencies: redraws one line on a TTY at most ten times a
 * second, prints nothing but the final line elsewhere (CI logs stay readable).
 */
export interface ProgressOptions {
  readonly label: string;
  readonly total?: number | undefined;
  readonly unit?: 'rows' | 'bytes' | 'files';
  readonly stream?: NodeJS.WriteStream;
}

export interface Progress {
  update(done: number, note?: string): void;
  finish(note?: string): void;
}

export function progressBar(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const start = Date.now();
  let last = 0;
  let done = 0;
  let note = '';
  const render = (final: boolean): string => {
    const secs = Math.max((Date.now() - start) / 1000, 0.001);
    const rate = done / secs;
    const parts = [options.label.padEnd(18)];
    if (options.total !== undefined && options.total > 0) {
      const frac = Math.min(done / options.total, 1);
      const width = 24;
      const full = Math.round(frac * width);
      parts.push(`[${'█'.repeat(full)}${'░'.repeat(width - full)}] ${(frac * 100).toFixed(0).padStart(3)}%`);
      if (!final && rate > 0) parts.push(`ETA ${formatDuration((options.total - done) / rate)}`);
    }
    parts.push(`${formatAmount(done, options.unit)}`, `${formatAmount(rate, options.unit)}/s`);
    if (final) parts.push(`in ${formatDuration(secs)}`);
    if (note !== '') parts.push(note);
    return parts.join('  ');
  };
  return {
    update(d: number, n?: string): void {
      done = d;
      if (n !== undefined) note = n;
      const now = Date.now();
      if (!tty || now - last < 100) return;
      last = now;
      stream.write(`\r${render(false)}\x1b[K`);
    },
    finish(n?: string): void {
      if (n !== undefined) note = n;
      stream.write(`${tty ? '\r' : ''}${render(true)}${tty ? '\x1b[K' : ''}\n`);
    },
  };
}

export function formatAmount(n: number, unit: ProgressOptions['unit'] = 'rows'): string {
  if (unit === 'bytes') {
    const units = ['B', 'KB', 'MB', 'GB', 'TB'];
    let v = n;
    let i = 0;
    while (v >= 1000 && i < units.length - 1) {
      v /= 1000;
      i++;
    }
    return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i] ?? ''}`;
  }
  const suffix = unit === 'files' ? ' files' : ' rows';
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M${suffix}`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)} k${suffix}`;
  return `${Math.round(n)}${suffix}`;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s % 60)} s`;
}
