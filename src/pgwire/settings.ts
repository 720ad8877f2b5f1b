/**
 * Session settings a client may read and set over the wire. Drivers set a few on connect
 * (`extra_float_digits`, `application_name`, `DateStyle`, `TimeZone`, `search_path`…); the
 * workspace's answers do not depend on them except where a value would make the endpoint lie
 * (a date style other than ISO, a time zone other than UTC, an encoding other than UTF-8), and
 * those are refused with the value that is accepted. Nothing here reaches the engine: its own
 * configuration is locked, and `SET` of anything not listed is refused.
 */

export interface Setting {
  readonly name: string;
  readonly initial: string;
  /** Sent as ParameterStatus at startup and when it changes (PostgreSQL's GUC_REPORT settings). */
  readonly report?: boolean;
  /** Checks and canonicalises a value; a string is the reason it is refused. */
  readonly accept: (v: string) => { readonly value: string } | string;
}

const any = (v: string): { value: string } => ({ value: v });
const oneOf = (allowed: readonly string[], canonical: string, why: string) => (v: string): { value: string } | string =>
  allowed.includes(v.trim().toLowerCase().replace(/\s+/g, ' ')) ? { value: canonical } : `${why} (accepted: ${canonical})`;
const integer = (min: number, max: number) => (v: string): { value: string } | string =>
  /^-?\d+$/.test(v.trim()) && Number(v) >= min && Number(v) <= max ? { value: String(Number(v)) } : `must be a whole number from ${min} to ${max}`;
const duration = (v: string): { value: string } | string => (/^\d+\s*(ms|s|min|h|d)?$/i.test(v.trim()) ? { value: v.trim() } : 'must be a duration such as 30s or 0');
const onOff = (v: string): { value: string } | string => (/^(on|off|true|false|yes|no|1|0)$/i.test(v.trim()) ? { value: /^(on|true|yes|1)$/i.test(v.trim()) ? 'on' : 'off' } : 'must be on or off');
const SCHEMAS = ['extract', 'scratch', 'public', 'pg_catalog', '"$user"', '$user', 'information_schema'];

export const SETTINGS: readonly Setting[] = [
  { name: 'application_name', initial: '', report: true, accept: (v) => (v.length <= 63 ? any(v) : 'must be at most 63 characters') },
  { name: 'client_encoding', initial: 'UTF8', report: true, accept: oneOf(['utf8', 'utf-8', 'unicode'], 'UTF8', 'the workspace speaks UTF-8 only') },
  { name: 'DateStyle', initial: 'ISO, MDY', report: true, accept: (v) => (/^\s*iso\s*(,\s*(mdy|dmy|ymd))?\s*$/i.test(v) || /^\s*(mdy|dmy|ymd)\s*,\s*iso\s*$/i.test(v) ? { value: 'ISO, MDY' } : 'dates are sent in ISO format only (accepted: ISO)') },
  { name: 'TimeZone', initial: 'UTC', report: true, accept: oneOf(['utc', 'gmt', 'etc/utc', 'z', 'zulu', 'universal', 'etc/universal', '+00', '+00:00', '0', "'utc'"], 'UTC', 'timestamps are sent in UTC only') },
  { name: 'IntervalStyle', initial: 'postgres', report: true, accept: oneOf(['postgres'], 'postgres', 'intervals are sent in the postgres style only') },
  { name: 'extra_float_digits', initial: '1', accept: integer(-15, 3) },
  { name: 'search_path', initial: 'extract, scratch', accept: (v) => {
    const items = v.split(',').map((s) => s.trim().replace(/^'(.*)'$/, '$1')).filter((s) => s !== '');
    const bad = items.find((s) => !SCHEMAS.includes(s.toLowerCase()));
    return bad === undefined ? { value: items.join(', ') } : `schema ${bad.slice(0, 60)} does not exist in a workspace (schemas: extract, scratch)`;
  } },
  { name: 'standard_conforming_strings', initial: 'on', report: true, accept: oneOf(['on', 'true', '1', 'yes'], 'on', 'strings follow the SQL standard only') },
  { name: 'bytea_output', initial: 'hex', accept: oneOf(['hex'], 'hex', 'bytea is sent in hex only') },
  { name: 'statement_timeout', initial: '0', accept: duration },
  { name: 'lock_timeout', initial: '0', accept: duration },
  { name: 'idle_in_transaction_session_timeout', initial: '0', accept: duration },
  { name: 'client_min_messages', initial: 'notice', accept: (v) => (/^(debug[1-5]?|log|notice|warning|error)$/i.test(v.trim()) ? { value: v.trim().toLowerCase() } : 'must be debug, log, notice, warning or error') },
  { name: 'default_transaction_read_only', initial: 'on', accept: oneOf(['on', 'true', '1', 'yes'], 'on', 'a workspace is read-only') },
  { name: 'transaction_read_only', initial: 'on', accept: oneOf(['on', 'true', '1', 'yes'], 'on', 'a workspace is read-only') },
  { name: 'default_transaction_isolation', initial: 'read committed', accept: any },
  { name: 'transaction_isolation', initial: 'read committed', accept: any },
  { name: 'lc_messages', initial: 'C', accept: any },
  { name: 'lc_monetary', initial: 'C', accept: any },
  { name: 'lc_numeric', initial: 'C', accept: any },
  { name: 'lc_time', initial: 'C', accept: any },
  { name: 'jit', initial: 'off', accept: onOff },
  { name: 'row_security', initial: 'on', accept: any },
  { name: 'server_version', initial: '16.0', report: true, accept: () => 'is read-only' },
  { name: 'server_version_num', initial: '160000', accept: () => 'is read-only' },
  { name: 'server_encoding', initial: 'UTF8', report: true, accept: () => 'is read-only' },
  { name: 'integer_datetimes', initial: 'on', report: true, accept: () => 'is read-only' },
  { name: 'is_superuser', initial: 'off', report: true, accept: () => 'is read-only' },
  { name: 'session_authorization', initial: '', report: true, accept: () => 'cannot be changed over this endpoint' },
  { name: 'max_identifier_length', initial: '63', accept: () => 'is read-only' },
  { name: 'default_transaction_deferrable', initial: 'off', accept: onOff },
  { name: 'geqo', initial: 'on', accept: onOff },
];

const BY_NAME = new Map(SETTINGS.map((s) => [s.name.toLowerCase(), s]));

export function settingOf(name: string): Setting | undefined {
  return BY_NAME.get(name.toLowerCase().replace(/^"(.*)"$/, '$1'));
}

/** One connection's settings. */
export class SessionSettings {
  readonly #values = new Map<string, string>();

  constructor(startup: Readonly<Record<string, string>>) {
    for (const s of SETTINGS) this.#values.set(s.name, s.initial);
    for (const [k, v] of Object.entries(startup)) {
      const s = settingOf(k);
      // Startup options a driver sends: kept when acceptable, ignored otherwise (the
      // ParameterStatus messages tell the client the value in force).
      if (s === undefined || s.name === 'session_authorization') continue;
      const r = s.accept(v);
      if (typeof r !== 'string') this.#values.set(s.name, r.value);
    }
  }

  get(name: string): string | undefined {
    const s = settingOf(name);
    return s === undefined ? undefined : this.#values.get(s.name);
  }

  /** Sets a value; returns the reason for a refusal, or the setting when it must be reported. */
  set(name: string, value: string): { readonly error: string } | { readonly changed: Setting } {
    const s = settingOf(name);
    if (s === undefined) return { error: `unrecognized configuration parameter "${name.slice(0, 60)}"` };
    const r = s.accept(value);
    if (typeof r === 'string') return { error: `invalid value for parameter "${s.name}": ${JSON.stringify(value.slice(0, 60))}: ${r}` };
    this.#values.set(s.name, r.value);
    return { changed: s };
  }

  reset(name: string): { readonly error: string } | { readonly changed: Setting } {
    const s = settingOf(name);
    if (s === undefined) return { error: `unrecognized configuration parameter "${name.slice(0, 60)}"` };
    this.#values.set(s.name, s.initial);
    return { changed: s };
  }

  resetAll(): void {
    for (const s of SETTINGS) this.#values.set(s.name, s.initial);
  }

  all(): Array<readonly [string, string]> {
    return SETTINGS.map((s) => [s.name, this.#values.get(s.name) ?? s.initial] as const);
  }

  reported(): Array<readonly [string, string]> {
    return SETTINGS.filter((s) => s.report === true).map((s) => [s.name, this.#values.get(s.name) ?? s.initial] as const);
  }
}
