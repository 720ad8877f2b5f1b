import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import type { Db } from './port.ts';

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const FILE_PATTERN = /^(\d{4})_([a-z0-9_]+)\.sql$/;
/** Any 64-bit constant shared by every Enclave process: serialises concurrent runners. */
const MIGRATION_LOCK_KEY = 7_245_118_301;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly sha256: string;
}

/**
 * Reads `NNNN_name.sql` files and refuses anything ambiguous: a file not matching the
 * pattern, two files with one number, or a gap in the sequence (which would mean a
 * migration got lost in a merge).
 */
export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const out: Migration[] = [];
  for (const file of files) {
    const m = FILE_PATTERN.exec(file);
    if (m === null) {
      throw new AppError('invalid', `migration file ${file} does not match NNNN_name.sql`, {
        hint: 'rename it with a four-digit number and a lower_snake_case name, e.g. 0007_add_index.sql',
      });
    }
    const version = Number(m[1]);
    const prev = out.at(-1);
    if (prev !== undefined && prev.version === version) {
      throw new AppError('conflict', `two migrations are numbered ${m[1] ?? ''}: ${prev.name} and ${m[2] ?? ''}`, {
        hint: 'renumber the newer one after the last migration',
      });
    }
    const expected = (prev?.version ?? 0) + 1;
    if (version !== expected) {
      throw new AppError('invalid', `migration ${file} leaves a gap: expected number ${String(expected).padStart(4, '0')}`, {
        hint: 'migrations are numbered without gaps; a missing file usually means a lost merge',
      });
    }
    const sql = await readFile(join(dir, file), 'utf8');
    out.push({ version, name: m[2] ?? '', sql, sha256: createHash('sha256').update(sql).digest('hex') });
  }
  return out;
}

/**
 * Applies pending migrations in order, each in its own transaction, under an advisory lock so
 * that two processes starting together apply each migration exactly once. An applied
 * migration whose file has since changed is refused: history is not rewritten.
 */
export async function migrate(db: Db, dir: string = MIGRATIONS_DIR): Promise<{ applied: number[] }> {
  const migrations = await loadMigrations(dir);
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      sha256 text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
  });
  const applied: number[] = [];
  for (const m of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
      const rows = await tx.query<{ sha256: string }>('SELECT sha256 FROM schema_migrations WHERE version = $1', [m.version]);
      const existing = rows[0];
      if (existing !== undefined) {
        if (existing.sha256 !== m.sha256) {
          throw new AppError('conflict', `migration ${String(m.version).padStart(4, '0')}_${m.name} was changed after it was applied`, {
            hint: 'never edit an applied migration; add a new one instead',
          });
        }
        return false;
      }
      const known = await tx.query<{ max: number | null }>('SELECT max(version) AS max FROM schema_migrations');
      const max = known[0]?.max ?? 0;
      if (max > m.version) {
        throw new AppError('conflict', `database has migration ${max} but not ${m.version}`, { hint: 'restore the missing migration file' });
      }
      for (const stmt of splitStatements(m.sql)) await tx.query(stmt);
      await tx.query('INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)', [m.version, m.name, m.sha256]);
      return true;
    });
    if (done) applied.push(m.version);
  }
  const latest = migrations.at(-1)?.version ?? 0;
  const rows = await db.query<{ max: number | null }>('SELECT max(version) AS max FROM schema_migrations');
  if ((rows[0]?.max ?? 0) > latest) {
    throw new AppError('conflict', `database is at migration ${rows[0]?.max ?? 0}, newer than this code (${latest})`, {
      hint: 'run a newer Enclave against this database',
    });
  }
  return { applied };
}

/**
 * Splits a migration script into statements so each runs with the extended protocol inside the
 * transaction. Understands quotes, comments and dollar-quoted bodies (functions, triggers).
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let cur = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] ?? '';
    const rest = sql.slice(i);
    if (rest.startsWith('--')) {
      const end = sql.indexOf('\n', i);
      i = end === -1 ? sql.length : end + 1;
      cur += '\n';
      continue;
    }
    if (rest.startsWith('/*')) {
      const end = sql.indexOf('*/', i + 2);
      i = end === -1 ? sql.length : end + 2;
      continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === c) {
          if (sql[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      cur += sql.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const dollar = /^\$[A-Za-z_]*\$/.exec(rest);
    if (dollar !== null) {
      const tag = dollar[0];
      const end = sql.indexOf(tag, i + tag.length);
      const stop = end === -1 ? sql.length : end + tag.length;
      cur += sql.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === ';') {
      if (cur.trim() !== '') out.push(cur.trim());
      cur = '';
      i++;
      continue;
    }
    cur += c;
    i++;
  }
  if (cur.trim() !== '') out.push(cur.trim());
  return out;
}
