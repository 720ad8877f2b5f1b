/**
 * Lexical help for statements arriving over the wire: what the endpoint must see of a statement
 * before the workspace's own parser checks it (comments stripped to classify it, `$n`
 * placeholders replaced by bound literals, a select list split into its items). Quotes,
 * dollar quotes and comments are respected so that nothing inside a string is taken for SQL.
 */

interface Span {
  readonly kind: 'code' | 'string' | 'ident' | 'comment';
  readonly text: string;
}

/** Splits SQL into code, string literals, quoted identifiers and comments. */
export function lex(sql: string): Span[] {
  const out: Span[] = [];
  let i = 0;
  let code = '';
  const flush = (): void => {
    if (code !== '') out.push({ kind: 'code', text: code });
    code = '';
  };
  while (i < sql.length) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      flush();
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out.push({ kind: 'comment', text: sql.slice(i, stop) });
      i = stop;
    } else if (c === '/' && next === '*') {
      flush();
      let depth = 1;
      let j = i + 2;
      while (j < sql.length && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') { depth++; j += 2; } else if (sql[j] === '*' && sql[j + 1] === '/') { depth--; j += 2; } else j++;
      }
      out.push({ kind: 'comment', text: sql.slice(i, j) });
      i = j;
    } else if (c === "'" || c === '"') {
      flush();
      let j = i + 1;
      for (;;) {
        if (j >= sql.length) break;
        if (sql[j] === c) {
          if (sql[j + 1] === c) { j += 2; continue; }
          j++;
          break;
        }
        j++;
      }
      out.push({ kind: c === "'" ? 'string' : 'ident', text: sql.slice(i, j) });
      i = j;
    } else if (c === '$' && !/[A-Za-z0-9_]/.test(sql[i - 1] ?? ' ')) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i));
      if (tag === null) {
        code += c;
        i++;
        continue;
      }
      flush();
      const end = sql.indexOf(tag[0], i + tag[0].length);
      const stop = end === -1 ? sql.length : end + tag[0].length;
      out.push({ kind: 'string', text: sql.slice(i, stop) });
      i = stop;
    } else {
      code += c;
      i++;
    }
  }
  flush();
  return out;
}

/** The statement with comments removed and whitespace collapsed (strings kept as written). */
export function normalise(sql: string): string {
  return lex(sql).filter((s) => s.kind !== 'comment').map((s) => (s.kind === 'code' ? s.text.replace(/\s+/g, ' ') : s.text)).join('').trim().replace(/;\s*$/, '').trim();
}

/** Highest `$n` placeholder of a statement (0 when none). */
export function placeholderCount(sql: string): number {
  let max = 0;
  for (const s of lex(sql)) {
    if (s.kind !== 'code') continue;
    for (const m of s.text.matchAll(/(?<![A-Za-z0-9_$])\$(\d+)/g)) max = Math.max(max, Number(m[1]));
  }
  return max;
}

/** Replaces `$n` placeholders outside strings, identifiers and comments by `literals[n-1]`. */
export function bindPlaceholders(sql: string, literals: readonly string[]): string {
  return lex(sql).map((s) => (s.kind !== 'code' ? s.text : s.text.replace(/(?<![A-Za-z0-9_$])\$(\d+)/g, (m, n: string) => literals[Number(n) - 1] ?? m))).join('');
}

/** Splits at top-level commas (outside parentheses, strings, identifiers). */
export function splitTopLevel(text: string, sep = ','): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const s of lex(text)) {
    if (s.kind !== 'code') {
      if (s.kind !== 'comment') cur += s.text;
      continue;
    }
    for (const ch of s.text) {
      if (ch === '(' || ch === '[') depth++;
      else if (ch === ')' || ch === ']') depth--;
      if (ch === sep && depth === 0) {
        parts.push(cur.trim());
        cur = '';
      } else cur += ch;
    }
  }
  if (cur.trim() !== '') parts.push(cur.trim());
  return parts;
}

/** Index of a keyword at the top level (depth 0, outside quotes) in a normalised statement, or -1. */
export function topLevelKeyword(sql: string, keyword: string, from = 0): number {
  let depth = 0;
  let quote: string | null = null;
  const re = new RegExp(`^${keyword}\\b`, 'i');
  for (let i = from; i < sql.length; i++) {
    const c = sql[i] ?? '';
    if (quote !== null) {
      if (c === quote) quote = null;
      continue;
    }
    if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && /\s/.test(sql[i - 1] ?? ' ') && re.test(sql.slice(i))) return i;
  }
  return -1;
}

/** Unquotes a SQL string literal (`'it''s'` → `it's`), or undefined when `s` is not one. */
export function stringLiteral(s: string): string | undefined {
  const m = /^'((?:[^']|'')*)'(?:::[\w. ]+)?$/.exec(s.trim());
  return m?.[1]?.replace(/''/g, "'");
}
