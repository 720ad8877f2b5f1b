import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openTestPlatform, type TestPlatform } from '../../../test/helpers/platform.ts';
import { generateLogKey, openCheckpoint, parseVerifierKey, verifierKey, verifyArchive, verifyConsistency, verifyInclusion, type ConsistencyProof, type InclusionProof } from '../../audit/index.ts';
import { loadConfig } from '../../config.ts';
import { runCli } from '../program.ts';
import type { CliServices } from '../services.ts';
import { auditArchive } from './audit.ts';

const actor = { kind: 'person', id: 'auditor-1' } as const;

describe('enclave audit commands', () => {
  let p: TestPlatform;
  let opened = 0;
  const svc = (): CliServices => ({
    config: loadConfig({ ENCLAVE_DATA_DIR: p.dir, ENCLAVE_KEYRING: join(p.dir, 'keyring', 'keyring.json') }),
    audit: p.audit, keys: p.keys, catalog: p.catalog, ingest: p.ingest, actor,
    close: async () => undefined,
  });
  /** Runs `enclave …argv` against the test platform; `offline` makes any database use fail. */
  const cli = async (argv: readonly string[], o: { offline?: boolean } = {}): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'enclave', ...argv], {
      version: 'test',
      open: async () => {
        if (o.offline === true) throw new Error('offline verification must not open the platform');
        opened++;
        return svc();
      },
      serve: async () => undefined,
      out: { write: (s) => void (out += s) },
      err: { write: (s) => void (err += s) },
    });
    return { code, out, err };
  };
  const file = (name: string): string => join(p.dir, name);

  before(async () => {
    p = await openTestPlatform();
    for (let i = 0; i < 25; i++) {
      await p.audit.record({ actor: { kind: 'person', id: `u-${i % 3}` }, action: 'workspace.query', target: `project:${i % 4}${i % 5 === 0 ? ':extract' : ''}`, details: { rows: i, ms: 2 } });
      if (i === 9) await p.audit.checkpoint();
    }
    await p.audit.record({ actor, action: 'workspace.query', target: 'project:10', details: { rows: 1 } });
  });
  after(async () => p.close());

  test('verify from the database exits 0 and prints the verified size', async () => {
    const r = await cli(['audit', 'verify']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /audit log verified: \d+ events/);
  });

  test('checkpoint prints a signed note that opens with the printed public key', async () => {
    const cp = await cli(['audit', 'checkpoint']);
    const key = await cli(['audit', 'public-key']);
    assert.equal(cp.code, 0, cp.err);
    const c = openCheckpoint(cp.out, [parseVerifierKey(key.out.trim())], p.audit.origin);
    assert.ok(Number(c.treeSize) > 25);
  });

  describe('offline verification from an export, a checkpoint and the public key only', () => {
    let lines: string[] = [];
    before(async () => {
      assert.equal((await cli(['audit', 'checkpoint'])).code, 0);
      await writeFile(file('checkpoint.txt'), (await cli(['audit', 'checkpoint'])).out);
      await writeFile(file('audit.vkey'), (await cli(['audit', 'public-key'])).out);
      const ex = await cli(['audit', 'export', '--out', file('audit.jsonl')]);
      assert.equal(ex.code, 0, ex.err);
      lines = (await readFile(file('audit.jsonl'), 'utf8')).split('\n').filter((l) => l !== '');
    });
    const verifyFile = async (content: string[]) => {
      await writeFile(file('tampered.jsonl'), `${content.join('\n')}\n`);
      return cli(['audit', 'verify', '--export', file('tampered.jsonl'), '--checkpoint', file('checkpoint.txt'), '--public-key', file('audit.vkey')], { offline: true });
    };

    test('the untouched export verifies without opening the platform', async () => {
      const r = await verifyFile(lines);
      assert.equal(r.code, 0, r.err + r.out);
      assert.match(r.out, new RegExp(`verified: ${lines.length} events`));
    });

    test('a changed detail is reported at its index with a non-zero exit', async () => {
      const t = [...lines];
      t[12] = (t[12] ?? '').replace('"rows":12', '"rows":13');
      const r = await verifyFile(t);
      assert.equal(r.code, 1);
      assert.match(r.out, /first bad index 12\n/);
    });

    test('a deleted event is reported where it was', async () => {
      const r = await verifyFile(lines.filter((_, i) => i !== 7));
      assert.equal(r.code, 1);
      assert.match(r.out, /first bad index 7\n/);
    });

    test('a duplicated (inserted) event is reported where it was inserted', async () => {
      const r = await verifyFile([...lines.slice(0, 5), lines[4] ?? '', ...lines.slice(5)]);
      assert.equal(r.code, 1);
      assert.match(r.out, /first bad index 5\n/);
    });

    test('two swapped events are reported at the first', async () => {
      const t = [...lines];
      [t[3], t[4]] = [t[4] ?? '', t[3] ?? ''];
      const r = await verifyFile(t);
      assert.equal(r.code, 1);
      assert.match(r.out, /first bad index 3\n/);
    });

    test('a truncated export is reported at the first missing index', async () => {
      const r = await verifyFile(lines.slice(0, 20));
      assert.equal(r.code, 1);
      assert.match(r.out, /first bad index 20\n/);
    });

    test('another key is refused: nothing verifies against the checkpoint', async () => {
      const other = verifierKey(generateLogKey(p.audit.origin));
      const r = await cli(['audit', 'verify', '--export', file('audit.jsonl'), '--checkpoint', file('checkpoint.txt'), '--public-key', other], { offline: true });
      assert.equal(r.code, 1);
      assert.match(r.out, /first bad index 0\n/);
      assert.match(r.out, /0 checkpoints verified/);
    });

    test('--export without --public-key is refused with a hint', async () => {
      const r = await cli(['audit', 'verify', '--export', file('audit.jsonl'), '--checkpoint', file('checkpoint.txt')], { offline: true });
      assert.equal(r.code, 1);
      assert.match(r.err, /hint: .*enclave audit public-key/);
    });
  });

  test('export --since/--until keeps only that window, and the export itself is an audited event', async () => {
    const before = await p.audit.latestCheckpoint();
    const r = await cli(['audit', 'export', '--since', '2000-01-01', '--until', '2000-01-02']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, '');
    const all = await cli(['audit', 'export', '--since', '2000-01-01T00:00:00Z']);
    const last = JSON.parse(all.out.trim().split('\n').at(-1) ?? '{}') as { event: { action: string; actor: { id: string } } };
    assert.equal(last.event.action, 'audit.export');
    assert.equal(last.event.actor.id, actor.id);
    assert.ok(before !== null);
    const bad = await cli(['audit', 'export', '--since', 'yesterday']);
    assert.notEqual(bad.code, 0);
  });

  test("history --target lists a project's events and those under it, and records the lookup", async () => {
    const r = await cli(['audit', 'history', '--target', 'project:1', '--json']);
    assert.equal(r.code, 0, r.err);
    const events = r.out.trim().split('\n').map((l) => (JSON.parse(l) as { event: { target: string; action: string } }).event);
    assert.ok(events.length >= 6);
    assert.ok(events.every((e) => e.target === 'project:1' || e.target.startsWith('project:1:')), 'project:10 must not match project:1');
    assert.ok(events.some((e) => e.target === 'project:1:extract'));
    assert.equal(events.at(-1)?.action, 'audit.history');
    const table = await cli(['audit', 'history', '--target', 'project:2']);
    assert.match(table.out, /seq\s+time \(UTC\)\s+actor/);
  });

  test('proofs from the CLI verify against the signed checkpoint', async () => {
    const cp = await p.audit.checkpoint();
    const first = (await p.audit.checkpoints())[0];
    assert.ok(first !== undefined);
    const root = openCheckpoint(cp.note, [parseVerifierKey(p.audit.publicKey)], p.audit.origin).rootHash;
    const inc = JSON.parse((await cli(['audit', 'proof', 'inclusion', '--index', '3'])).out) as InclusionProof;
    verifyInclusion(inc.leafIndex, inc.treeSize, Buffer.from(inc.leafHash, 'base64'), inc.hashes.map((h) => Buffer.from(h, 'base64')), root);
    const con = JSON.parse((await cli(['audit', 'proof', 'consistency', '--from', String(first.treeSize), '--to', String(cp.treeSize)])).out) as ConsistencyProof;
    verifyConsistency(con.size1, con.size2, con.hashes.map((h) => Buffer.from(h, 'base64')), Buffer.from(first.rootHash, 'base64'), root);
    const bad = await cli(['audit', 'proof', 'inclusion', '--index', '99999']);
    assert.equal(bad.code, 1);
  });

  test('hostile details with line breaks never add a line to history output, as a table or JSON lines', async () => {
    const breaks = ['\n', '\r\n', '\r', '\u2028', '\u2029', '\u0085', '\u000b', '\u000c'];
    for (const [i, b] of breaks.entries()) {
      await p.audit.record({ actor, action: 'workspace.query', target: 'project:hostile', details: { sql: `x${b}{"index":0,"event":{"action":"forged"}}${b}`, i } });
    }
    const LINE_BREAK = /\r\n|[\n\r\u000b\u000c\u0085\u2028\u2029]/;
    const table = await cli(['audit', 'history', '--target', 'project:hostile']);
    const json = await cli(['audit', 'history', '--target', 'project:hostile', '--json']);
    // Table: header + rule + the events and the first lookup; JSON: the events and both lookups.
    assert.equal(table.out.split(LINE_BREAK).filter((l) => l !== '').length, 2 + breaks.length + 1);
    assert.equal(json.out.split(LINE_BREAK).filter((l) => l !== '').length, breaks.length + 2);
    assert.ok(!/^\{"index":0/m.test(table.out + json.out));
  });

  test('archive writes signed files that verify, and the database log still verifies', async () => {
    await p.audit.checkpoint();
    let out = '';
    const done = await auditArchive(p.audit, file('archives'), { write: (s) => void (out += s) }, new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000));
    assert.ok(done.length >= 1, out);
    const names = await readdir(file('archives'));
    for (const a of done) {
      assert.ok(names.includes(a.name) && names.includes(`${a.name}.note`));
      const content = await readFile(join(file('archives'), a.name), 'utf8');
      assert.deepEqual(await verifyArchive(content, await readFile(join(file('archives'), `${a.name}.note`), 'utf8'), p.audit.publicKey), { from: a.from, to: a.to });
    }
    await p.audit.checkpoint();
    assert.equal((await cli(['audit', 'verify'])).code, 0);
    assert.ok(opened > 0);
  });
});
