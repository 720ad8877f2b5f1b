import type { ReactNode } from 'react';
import type { Sensitivity } from '../api.ts';
import { useI18n } from '../i18n.tsx';

export type Tone = 'neutral' | 'info' | 'success' | 'warning' | 'danger';

export function Badge({ tone = 'neutral', children, title }: { readonly tone?: Tone; readonly children: ReactNode; readonly title?: string }) {
  return (
    <span className={`badge badge-${tone}`} {...(title === undefined ? {} : { title })}>
      {children}
    </span>
  );
}

const TONE: Readonly<Record<Sensitivity, Tone>> = {
  direct_identifier: 'danger',
  pseudonym: 'info',
  potential_identifier: 'warning',
  sensitive: 'warning',
  other: 'neutral',
};

/** Text, not colour alone, carries the level (WCAG 1.4.1); the help text is the tooltip. */
export function SensitivityBadge({ sensitivity }: { readonly sensitivity: Sensitivity }) {
  const { t } = useI18n();
  return (
    <span className={`badge badge-${TONE[sensitivity]} sensitivity-${sensitivity}`} title={t[`sensitivityHelp_${sensitivity}`]} data-sensitivity={sensitivity}>
      {t[`sensitivity_${sensitivity}`]}
    </span>
  );
}
