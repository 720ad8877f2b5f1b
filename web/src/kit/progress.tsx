import { useI18n } from '../i18n.tsx';

/** A native <progress> with a visible text equivalent. */
export function Progress({ value, max, label }: { readonly value: number; readonly max: number; readonly label: string }) {
  const { t } = useI18n();
  return (
    <div className="progress">
      <span className="progress-label">
        {label} — {t.progressLabel(value, max)}
      </span>
      <progress value={value} max={max} aria-label={label} />
    </div>
  );
}

/** Steps of a wizard: a list where the current step is marked for assistive technology. */
export function Stepper({ steps, current }: { readonly steps: readonly string[]; readonly current: number }) {
  return (
    <ol className="stepper">
      {steps.map((s, i) => (
        <li key={s} className={i < current ? 'done' : i === current ? 'current' : 'upcoming'} aria-current={i === current ? 'step' : undefined}>
          <span className="stepper-num" aria-hidden="true">
            {i + 1}
          </span>
          {s}
        </li>
      ))}
    </ol>
  );
}
