/**
 * The real `enclave` binary against a real server (loopback) with ENCLAVE_URL and
 * ENCLAVE_TOKEN: it calls the HTTP API with the token instead of opening a local data
 * directory, and the server's refusals (revoked or expired token, another project, a route a
 * token may not call) come out as clear errors with a non-zero exit.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestServer, type TestServer } from '../../test/helpers/server.ts';
import { importPrsSchema } from '../../test/helpers/governance.ts';
import { EMBEDDED_ISSUER_ID, type Principal } from '../identity/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const BIN = join(ROOT, 'bin', 'enclave.js');

interface Run {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

describe('enclave against a remote server (ENCLAVE_URL, ENCLAVE_TOKEN)', () => {
  let srv: TestServer;
  let dir: string;
  let projectId: string;
  let otherId: string;
  let token: string;
  let tokenId: string;
  const who: Record<string, Principal> = {};

  /** Runs the real binary; the local data directory it would open must stay untouched. */
  const run = (args: readonly string[], env: Readonly<Record<string, string>>): Promise<Run> => new Promise((resolve, reject) => {
    const child = spawn(NODE, [BIN, ...args], {
      cwd: dir,
      env: { PATH: process.env['PATH'] ?? '', HOME: dir, ENCLAVE_DATA_DIR: join(dir, 'local-data'), ENCLAVE_KEYRING: join(dir, 'local-keys', 'keyring.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString('utf8'); });
    child.stderr.on('data', (b: Buffer) => { err += b.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
  const remote = (...args: string[]): Promise<Run> => run(args, { ENCLAVE_URL: srv.url, ENCLAVE_TOKEN: token });
  const ok = async (...args: string[]): Promise<string> => {
    const r = await remote(...args);
    assert.equal(r.code, 0, `enclave ${args.join(' ')}: ${r.err}`);
    return r.out;
  };

  const application = (columns: readonly string[]) => ({
    title: 'Statins and dementia', organisation: 'Inserm U1234', purpose: 'Estimate the association between statin use and dementia onset.',
    publicInterest: 'Dementia prevention.', legalBasis: { kind: 'reference_methodology', reference: 'MR-004' }, ethicsOpinionReference: null,
    funding: 'ANR', team: [{ name: 'A. Applicant', role: 'principal investigator', organisation: 'Inserm' }],
    requestedScope: { datasets: [{ dataset: 'snds', tables: [{ table: 'ER_PRS_F', columns }] }], years: { from: 2019, to: 2023 }, population: 'adults over 50', justification: 'needed for exposure' },
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'enclave-cli-remote-'));
    srv = await startTestServer();
    const p = srv.platform;
    await importPrsSchema(p.catalog, dir, ['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF', 'PRS_ACT_QTE']);
    for (const u of ['applicant', 'ethics', 'legal', 'committee1', 'committee2']) {
      const person = await p.identity.personBySubject(EMBEDDED_ISSUER_ID, u);
      assert.ok(person, `demo person ${u}`);
      who[u] = await p.identity.principalOf(person.id, 'session');
    }
    const activeProject = async (): Promise<string> => {
      const g = p.governance;
      const { id } = await g.createProject(who['applicant']!, application(['BEN_NIR_PSA', 'EXE_SOI_DTD', 'PRS_NAT_REF']));
      await g.take(who['applicant']!, id, 'submit');
      await g.take(who['committee1']!, id, 'accept_complete');
      await g.take(who['ethics']!, id, 'ethics_favourable');
      await g.take(who['legal']!, id, 'legal_approve');
      const today = new Date().toISOString().slice(0, 10);
      const until = new Date(Date.now() + 300 * 86_400_000).toISOString().slice(0, 10);
      await g.proposePermit(who['committee1']!, id, await g.permitTemplate(who['committee1']!, id, { validFrom: today, validUntil: until }));
      await g.take(who['committee1']!, id, 'committee_approve');
      await g.take(who['committee2']!, id, 'committee_approve');
      return id;
    };
    projectId = await activeProject();
    otherId = await activeProject();
    ({ token, id: tokenId } = await p.identity.createApiToken(who['applicant']!, projectId, { days: 7, label: 'remote CLI test' }));
    await writeFile(join(dir, 'amended.json'), JSON.stringify(application(['BEN_NIR_PSA', 'PRS_NAT_REF', 'PRS_ACT_QTE'])));
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('--help explains the local and the remote mode', async () => {
    const r = await run(['--help'], {});
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /ENCLAVE_URL=https:\/\/host and ENCLAVE_TOKEN/);
    assert.match(r.out, /local \(default\)/);
  });

  test('projects, permits and access go through the API as the token\'s person, never opening local data', async () => {
    assert.match(await ok('projects', 'ls'), new RegExp(`^${projectId}\\s+active`, 'm'));
    const shown = await ok('projects', 'show', projectId);
    assert.match(shown, /status: active/);
    assert.match(shown, /permit in force: version 1/);
    assert.match(await ok('permits', 'show', projectId), /^\s*1\s+active/m);
    assert.match(await ok('projects', 'access', projectId, '--dataset', 'snds', '--table', 'ER_PRS_F', '--columns', 'EXE_SOI_DTD,PRS_NAT_REF'), /^allowed/);
    const outside = await remote('projects', 'access', projectId, '--dataset', 'snds', '--table', 'ER_PRS_F', '--columns', 'PRS_ACT_QTE');
    assert.equal(outside.code, 1);
    assert.match(outside.err, /^error: column\(s\) PRS_ACT_QTE of ER_PRS_F are not in the permit\nhint: /);
    assert.match(await ok('catalog', 'show', 'snds.ER_PRS_F'), /PRS_ACT_QTE/);
    assert.equal(existsSync(join(dir, 'local-data')), false, 'the remote mode opens no local data directory');
  });

  test('the principal investigator files an amendment with the project token; the permit stays in force', async () => {
    const filed = await ok('projects', 'amend', projectId, join(dir, 'amended.json'));
    assert.match(filed, /filed \(application version 2\): submitted/);
    assert.match(filed, /stays in force, unchanged/);
    assert.match(filed, /changed \/requestedScope\/datasets\/0\/tables\/0\/columns/);
    assert.match(await ok('projects', 'amendment', projectId), /status: submitted/);
    assert.match(await ok('projects', 'access', projectId, '--dataset', 'snds', '--table', 'ER_PRS_F', '--columns', 'EXE_SOI_DTD'), /^allowed/);
    const review = await remote('projects', 'review', projectId, '--amendment', '--step', 'completeness', '--decision', 'approve');
    assert.equal(review.code, 1);
    assert.match(review.err, /^error: API tokens cannot call this route\nhint: log in through the browser/);
  });

  test('a project outside the token\'s scope is refused with a clear error', async () => {
    const r = await remote('projects', 'show', otherId);
    assert.equal(r.code, 1);
    assert.match(r.err, /^error: this API token is scoped to another project\nhint: use a token issued for this project/);
    const access = await remote('projects', 'access', otherId);
    assert.equal(access.code, 1);
    assert.match(access.err, /scoped to another project/);
  });

  test('commands that need the server\'s own terminal, --as, and a cleartext URL are refused before any call', async () => {
    const ingest = await remote('ingest', '--dataset', 'snds', dir);
    assert.equal(ingest.code, 1);
    assert.match(ingest.err, /^error: this command runs on the server's own terminal only, not against ENCLAVE_URL/);
    const as = await remote('projects', 'ls', '--as', 'committee1');
    assert.equal(as.code, 1);
    assert.match(as.err, /--as acts as a demo person on the server's own terminal/);
    const clear = await run(['projects', 'ls'], { ENCLAVE_URL: 'http://enclave.invalid', ENCLAVE_TOKEN: token });
    assert.equal(clear.code, 1);
    assert.match(clear.err, /^error: ENCLAVE_URL must use https/);
    const noToken = await run(['projects', 'ls'], { ENCLAVE_URL: srv.url });
    assert.equal(noToken.code, 1);
    assert.match(noToken.err, /^error: ENCLAVE_URL is set but ENCLAVE_TOKEN is not\nhint: create a token/);
  });

  test('an expired token, then a revoked one, are refused with a clear error and a non-zero exit', async () => {
    const db = srv.platform.db;
    const [{ expires_at: expiresAt } = { expires_at: new Date() }] = await db.query<{ expires_at: Date }>('SELECT expires_at FROM identity_api_tokens WHERE id = $1', [tokenId]);
    await db.query("UPDATE identity_api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1", [tokenId]);
    const expired = await remote('projects', 'ls');
    assert.equal(expired.code, 1);
    assert.match(expired.err, /^error: the API token is unknown, expired or revoked\nhint: ENCLAVE_TOKEN was refused by http:\/\/127\.0\.0\.1:\d+: create a token/);
    await db.query('UPDATE identity_api_tokens SET expires_at = $2 WHERE id = $1', [tokenId, expiresAt]);
    assert.match(await ok('projects', 'ls'), /active/);

    await srv.platform.identity.revokeApiToken(who['applicant']!, tokenId);
    const revoked = await remote('permits', 'show', projectId);
    assert.equal(revoked.code, 1);
    assert.match(revoked.err, /^error: the API token is unknown, expired or revoked/);
    assert.doesNotMatch(revoked.err + revoked.out, new RegExp(token), 'the token is never printed');
  });
});
