import { useId, type ReactNode } from 'react';
import { useI18n } from '../i18n.tsx';

interface FieldProps {
  readonly label: ReactNode;
  readonly hint?: ReactNode;
  readonly error?: string | undefined;
  readonly required?: boolean;
  /** Receives the ids to wire: the control's id and its aria-describedby. */
  readonly children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode;
}

/** Label, hint and error wired to the control (WCAG 1.3.1, 3.3.1, 3.3.2). */
export function Field({ label, hint, error, required, children }: FieldProps) {
  const { t } = useI18n();
  const id = useId();
  const hintId = hint === undefined ? undefined : `${id}-hint`;
  const errId = error === undefined ? undefined : `${id}-err`;
  const describedBy = [hintId, errId].filter((x) => x !== undefined).join(' ') || undefined;
  return (
    <div className={`field${error === undefined ? '' : ' field-invalid'}`}>
      <label htmlFor={id}>
        {label}
        {required === true && <span className="required"> ({t.required})</span>}
      </label>
      {hint !== undefined && (
        <p id={hintId} className="field-hint">
          {hint}
        </p>
      )}
      {children({ id, describedBy, invalid: error !== undefined })}
      {error !== undefined && (
        <p id={errId} className="field-error">
          {error}
        </p>
      )}
    </div>
  );
}

export function TextField(props: {
  readonly label: ReactNode;
  readonly hint?: ReactNode;
  readonly error?: string | undefined;
  readonly required?: boolean;
  readonly value: string;
  readonly onChange: (v: string) => void;
  readonly type?: 'text' | 'search' | 'date' | 'number' | 'email';
  readonly multiline?: boolean;
  readonly placeholder?: string;
  readonly name?: string;
  readonly autoComplete?: string;
  readonly inputMode?: 'numeric' | 'text';
}) {
  const { value, onChange, type, multiline, placeholder, name, autoComplete, inputMode, ...field } = props;
  return (
    <Field {...field}>
      {({ id, describedBy, invalid }) =>
        multiline === true ? (
          <textarea id={id} name={name} value={value} onChange={(e) => onChange(e.target.value)} aria-describedby={describedBy} aria-invalid={invalid || undefined} required={props.required} rows={4} placeholder={placeholder} />
        ) : (
          <input id={id} name={name} type={type ?? 'text'} value={value} onChange={(e) => onChange(e.target.value)} aria-describedby={describedBy} aria-invalid={invalid || undefined} required={props.required} placeholder={placeholder} autoComplete={autoComplete} inputMode={inputMode} />
        )
      }
    </Field>
  );
}

export function SelectField<V extends string>(props: {
  readonly label: ReactNode;
  readonly hint?: ReactNode;
  readonly error?: string | undefined;
  readonly required?: boolean;
  readonly value: V;
  readonly onChange: (v: V) => void;
  readonly options: readonly { readonly value: V; readonly label: string }[];
}) {
  const { value, onChange, options, ...field } = props;
  return (
    <Field {...field}>
      {({ id, describedBy, invalid }) => (
        <select id={id} value={value} onChange={(e) => onChange(e.target.value as V)} aria-describedby={describedBy} aria-invalid={invalid || undefined}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
