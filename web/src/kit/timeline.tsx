import type { ReactNode } from 'react';

export type StepState = 'done' | 'current' | 'upcoming' | 'returned' | 'refused';

export interface TimelineStep {
  readonly key: string;
  readonly label: ReactNode;
  readonly state: StepState;
  readonly when?: string | undefined;
  readonly detail?: ReactNode;
}

const MARK: Readonly<Record<StepState, string>> = { done: '✓', current: '●', upcoming: '○', returned: '↩', refused: '✕' };

/** An ordered list of workflow steps; the state is said in text for assistive technology. */
export function StatusTimeline({ steps, label, stateLabel }: { readonly steps: readonly TimelineStep[]; readonly label: string; readonly stateLabel: (s: StepState) => string }) {
  return (
    <ol className="timeline" aria-label={label}>
      {steps.map((s) => (
        <li key={s.key} className={`timeline-step step-${s.state}`} aria-current={s.state === 'current' ? 'step' : undefined}>
          <span className="timeline-mark" aria-hidden="true">
            {MARK[s.state]}
          </span>
          <div className="timeline-body">
            <span className="timeline-label">{s.label}</span>
            <span className="visually-hidden"> ({stateLabel(s.state)})</span>
            {s.when !== undefined && <span className="timeline-when">{s.when}</span>}
            {s.detail !== undefined && <div className="timeline-detail">{s.detail}</div>}
          </div>
        </li>
      ))}
    </ol>
  );
}
