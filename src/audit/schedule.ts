/** Checkpoints on a timer and on a count, for the server to start at boot and stop at shutdown. */
import type { AuditLog } from './log.ts';

export interface CheckpointSchedule {
  /** Stops the timer and waits for a checkpoint in progress. */
  stop(): Promise<void>;
}

export interface CheckpointScheduleOptions {
  /** At most this long between an append and the checkpoint that covers it (ENCLAVE_AUDIT_CHECKPOINT_SECONDS). */
  readonly intervalMs: number;
  /**
   * At most this many events appended before a checkpoint is signed (and witnessed), whatever
   * the interval (ENCLAVE_AUDIT_CHECKPOINT_EVENTS). With `intervalMs` it bounds the window of
   * recent events that could vanish without a witness noticing (docs/audit.md).
   */
  readonly maxEvents?: number;
  /** How often the log size is read to apply `maxEvents` (default 1 s; one indexed read). */
  readonly pollMs?: number;
  readonly onError?: (e: unknown) => void;
}

/**
 * Signs a checkpoint when `maxEvents` events were appended since the last one, or when
 * `intervalMs` has passed and anything was appended. Failures go to `onError` (e.g. an
 * integrity alarm) and the schedule keeps running.
 *
 * @example
 *   const schedule = startCheckpointSchedule(log, { intervalMs: 60_000, maxEvents: 1000, onError: alert });
 *   // at shutdown
 *   await schedule.stop();
 */
export function startCheckpointSchedule(log: Pick<AuditLog, 'checkpoint' | 'size'>, options: CheckpointScheduleOptions): CheckpointSchedule {
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  let signedSize = -1;
  let lastSigned = Date.now();
  // After a failure (a witness down, an integrity refusal) wait before trying again, not every poll.
  let retryAt = 0;
  const pollMs = Math.min(options.pollMs ?? 1000, options.intervalMs);
  const tick = (): void => {
    if (busy) return;
    busy = true;
    running = (async () => {
      if (Date.now() < retryAt) return;
      const size = await log.size();
      const due = size > signedSize && (signedSize < 0 || Date.now() - lastSigned >= options.intervalMs || (options.maxEvents !== undefined && size - signedSize >= options.maxEvents));
      if (!due) return;
      const cp = await log.checkpoint();
      signedSize = cp.treeSize;
      lastSigned = Date.now();
    })()
      .catch((e: unknown) => {
        retryAt = Date.now() + Math.min(options.intervalMs, 10_000);
        options.onError?.(e);
      })
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(tick, pollMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
