/** Checkpoints on a timer, for the server to start at boot and stop at shutdown. */
import type { AuditLog } from './log.ts';

export interface CheckpointSchedule {
  /** Stops the timer and waits for a checkpoint in progress. */
  stop(): Promise<void>;
}

/**
 * Signs a checkpoint every `intervalMs` (nothing new is signed when no event was appended).
 * Failures go to `onError` (e.g. an integrity alarm) and the schedule keeps running.
 *
 * @example
 *   const schedule = startCheckpointSchedule(log, { intervalMs: 60_000, onError: alert });
 *   // at shutdown
 *   await schedule.stop();
 */
export function startCheckpointSchedule(log: Pick<AuditLog, 'checkpoint'>, options: { readonly intervalMs: number; readonly onError?: (e: unknown) => void }): CheckpointSchedule {
  let running: Promise<void> = Promise.resolve();
  let busy = false;
  const tick = (): void => {
    if (busy) return;
    busy = true;
    running = log
      .checkpoint()
      .then(() => undefined, (e: unknown) => options.onError?.(e))
      .finally(() => {
        busy = false;
      });
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
