/**
 * Test fixture for the crash test: appends audited writes in a loop against PostgreSQL and
 * prints `ack <seq> <thing id>` after each commit, until it is killed.
 * Usage: node crash-child.ts <postgres url> <signer key text>
 */
import { openPostgres } from '../db/postgres.ts';
import { AuditLog } from './log.ts';
import { parseSignerKey } from './note.ts';

const [url, keyText] = process.argv.slice(2);
if (url === undefined || keyText === undefined) throw new Error('usage: crash-child.ts <url> <signer key>');
const db = openPostgres(url, { max: 4 });
const log = new AuditLog(db, parseSignerKey(keyText));
const writer = async (w: number): Promise<never> => {
  for (let i = 0; ; i++) {
    const id = await log.transaction({ actor: { kind: 'service', id: `crash-${w}` }, action: 'test.crash.write', target: 'audit_crash_things' }, async (tx) => {
      const [row] = await tx.query<{ id: string }>('INSERT INTO audit_crash_things (writer, n) VALUES ($1, $2) RETURNING id::text AS id', [w, i]);
      tx.addDetails({ thingId: Number(row?.id) });
      return row?.id;
    });
    const [e] = await db.query<{ seq: string }>("SELECT seq::text AS seq FROM audit_events WHERE details->>'thingId' = $1", [String(id)]);
    process.stdout.write(`ack ${e?.seq} ${id}\n`);
  }
};
await Promise.all([0, 1, 2, 3].map(writer));
