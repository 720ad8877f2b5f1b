/**
 * scripts/trino.sh decides whether a Trino already answering on its port can be reused: only if it
 * was started with the config the script would write now (its SHA-256 recorded beside etc).
 *
 * Tested through `scripts/trino.sh plan` (what `start` would do) in a folder and on a port of its
 * own, where a small HTTP server answers `/v1/info` as a started coordinator does: neither the
 * shared development server nor a second Trino (minutes of CPU on a shared machine) is involved.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'trino.sh');

describe('scripts/trino.sh reuses a running server only if it started with this config', () => {
  let home: string;
  let info: Server;
  let port: number;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'enclave-trino-script-'));
    info = createServer((req, res) => {
      res.writeHead(req.url === '/v1/info' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ starting: false }));
    });
    await new Promise<void>((r) => info.listen(0, '127.0.0.1', r));
    port = (info.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((r) => info?.close(() => r()));
    if (home !== undefined) await rm(home, { recursive: true, force: true });
  });

  const trino = async (cmd: string, env: Record<string, string> = {}, p = port): Promise<string> =>
    (await run('bash', [SCRIPT, cmd], { env: { ...process.env, ENCLAVE_TRINO_HOME: home, ENCLAVE_TRINO_PORT: String(p), ...env } })).stdout.trim();

  test('nothing answering: start', async () => {
    const free = createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const unused = (free.address() as AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    assert.equal(await trino('plan', {}, unused), 'start');
  });

  test('a server running with no record of its config is restarted', async () => {
    assert.match(await trino('plan'), /^restart: no record/);
  });

  test('a server started with this config is reused; with another heap or distribution, restarted', async () => {
    await writeFile(join(home, 'started-config.sha256'), `${await trino('config-hash')}\n`);
    assert.equal(await trino('plan'), 'reuse');
    assert.match(await trino('plan', { ENCLAVE_TRINO_HEAP: '3G' }), /^restart: its config differs/);
    assert.match(await trino('plan', { ENCLAVE_TRINO_DIST: join(home, 'elsewhere') }), /^restart: its config differs/);
    assert.equal(await trino('plan'), 'reuse');
  });

  test('the config keeps created catalogs in memory only: no SSE-C key is written under etc/catalog', async () => {
    const { stdout } = await run('bash', ['-c', `source <(sed -n '/^config_properties()/,/^}/p' "${SCRIPT}"); PORT=1 URL=x HOME_DIR=y config_properties`]);
    assert.match(stdout, /^catalog\.management=dynamic$/m);
    assert.match(stdout, /^catalog\.store=memory$/m);
  });
});
