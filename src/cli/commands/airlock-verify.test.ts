/**
 * `enclave airlock verify` on bundles signed with a real Ed25519 key and carrying a real report of
 * the disclosure rules (the service's own bundles are verified in src/airlock/service.test.ts and
 * by the portal journey): accepted as released, refused with the failing check named otherwise.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildBundle, outputCsv, reportSha256, type BundleManifest } from '../../airlock/index.ts';
import { checkOutputs, DEFAULT_RULES, parseCsvOutput } from '../../airlock/rules/index.ts';
import { generateReleaseSigningKey } from '../../keys/index.ts';
import { runCli } from '../program.ts';

const key = generateReleaseSigningKey();
const csv = outputCsv(['dept', 'n'], [['13', 250], ['33', 250]]);
const sha = (s: string): Promise<string> => import('node:crypto').then((c) => c.createHash('sha256').update(s).digest('hex'));

async function manifest(o: { readonly approvers?: readonly string[]; readonly requestedBy?: string } = {}): Promise<BundleManifest> {
  const report = checkOutputs([parseCsvOutput(csv, 'by_dept')], DEFAULT_RULES, []);
  return {
    releaseId: 'rel-1', requestId: 'req-1', requestVersion: 5, projectId: 'p-1', title: 't', description: 'd', population: 'every person', requestedBy: o.requestedBy ?? 'member',
    submittedAt: '2026-03-01T10:00:00.000Z', releasedAt: '2026-03-02T10:00:00.000Z', checkersRequired: 2,
    outputs: [{
      outputId: 'o-1', name: 'by_dept', version: 1, file: 'by_dept.csv', sha256: await sha(csv), bytes: csv.length, rows: 2, kind: 'frequency',
      columns: [{ name: 'dept', type: 'VARCHAR', role: 'dimension', description: '' }, { name: 'n', type: 'BIGINT', role: 'count', description: 'persons' }],
      description: 'persons by department', underlyingCounts: '',
      lineage: { sourceTable: 'by_dept', querySha256: null, extractGeneration: 1, permitVersion: 1, datasetVersions: ['snds@1'], population: 'every person' },
    }],
    report, reportSha256: reportSha256(report),
    decisions: (o.approvers ?? ['c1', 'c2']).map((c) => ({ checkerId: c, outputName: 'by_dept', outputVersion: 1, decision: 'approve' as const, reasons: ['rules_clean'], comment: '', at: '2026-03-02T09:00:00.000Z' })),
    signingKey: { keyId: key.keyId, publicKey: key.publicKey },
  };
}

describe('enclave airlock verify', () => {
  let dir = '';
  const run = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runCli(['node', 'enclave', 'airlock', 'verify', ...args], {
      open: () => Promise.reject(new Error('airlock verify opens no services')), serve: () => Promise.resolve(), version: 'test', cwd: dir,
      out: { write: (s: string) => { out += s; } }, err: { write: (s: string) => { err += s; } },
    });
    return { code, out, err };
  };
  const write = async (name: string, text: string): Promise<string> => {
    await writeFile(join(dir, name), text);
    return name;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enclave-airlock-verify-'));
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  test('a bundle as released verifies with the platform\'s key, given as text or as a file', async () => {
    const f = await write('ok.airlock.json', buildBundle(await manifest(), { 'by_dept.csv': csv }, key.privateKey));
    const r = await run(f, '--public-key', key.publicKey);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /OK {3}signature: Ed25519 signature valid with the given public key/);
    assert.match(r.out, /OK {3}four eyes by_dept: approved by 2 distinct checkers, none the requester/);
    assert.match(r.out, /verified: \d+ checks passed/);
    await write('key.txt', `${key.publicKey}\n`);
    assert.equal((await run(f, '--public-key', 'key.txt')).code, 0);
    const own = await run(f);
    assert.equal(own.code, 0);
    assert.match(own.out, /integrity only/);
  });

  test('a changed file, another signer, one checker or a self-approval fail, each saying what', async () => {
    const text = buildBundle(await manifest(), { 'by_dept.csv': csv }, key.privateKey);
    const changed = JSON.parse(text) as { files: Record<string, string> };
    changed.files['by_dept.csv'] = csv.replace('250', '25');
    const r1 = await run(await write('changed.json', JSON.stringify(changed)), '--public-key', key.publicKey);
    assert.equal(r1.code, 1);
    assert.match(r1.out, /FAIL file by_dept\.csv: SHA-256 is [0-9a-f]{64}, the manifest says [0-9a-f]{64}: the file was changed/);
    assert.match(r1.err, /error: the bundle does not verify: file by_dept\.csv/);
    const r2 = await run(await write('other.json', text), '--public-key', generateReleaseSigningKey().publicKey);
    assert.equal(r2.code, 1);
    assert.match(r2.out, /FAIL signature: the Ed25519 signature does not match/);
    const r3 = await run(await write('one.json', buildBundle(await manifest({ approvers: ['c1'] }), { 'by_dept.csv': csv }, key.privateKey)), '--public-key', key.publicKey);
    assert.equal(r3.code, 1);
    assert.match(r3.out, /FAIL four eyes by_dept: 1 distinct approving checker\(s\), 2 required/);
    const r4 = await run(await write('self.json', buildBundle(await manifest({ approvers: ['member', 'c2'] }), { 'by_dept.csv': csv }, key.privateKey)), '--public-key', key.publicKey);
    assert.equal(r4.code, 1);
    assert.match(r4.out, /FAIL four eyes by_dept: the requester approved their own output/);
  });

  test('bad input gets a clear error', async () => {
    const r1 = await run('missing.json');
    assert.equal(r1.code, 1);
    assert.match(r1.err, /cannot read the bundle .*missing\.json/);
    const r2 = await run(await write('junk.json', 'not json'));
    assert.equal(r2.code, 1);
    assert.match(r2.out, /FAIL format: the bundle is not JSON/);
    const r3 = await run(await write('ok2.json', buildBundle(await manifest(), { 'by_dept.csv': csv }, key.privateKey)), '--public-key', 'nope');
    assert.equal(r3.code, 1);
    assert.match(r3.err, /--public-key ".*nope" is neither a key/);
  });
});
