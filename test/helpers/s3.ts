import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Store } from '../../src/store/s3.ts';

const BIN = new URL('../../node_modules/s3rver/bin/s3rver.js', import.meta.url).pathname;

/**
 * A real S3-protocol server process on loopback: s3rver (npm, dev dependency), storing objects
 * in a temp directory. It speaks enough of S3 for the AWS SDK v3 (path-style, multipart, list,
 * copy). `stop()` kills it; `start()` brings it back on the same port and directory.
 */
export interface S3Server {
  readonly endpoint: string;
  readonly dir: string;
  readonly port: number;
  store(bucket: string, options?: { partSize?: number; maxAttempts?: number }): S3Store;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

async function waitListening(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = createConnection({ port, host: '127.0.0.1' }, () => { c.end(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`s3rver did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startS3Server(buckets: readonly string[]): Promise<S3Server> {
  const dir = await mkdtemp(join(tmpdir(), 'enclave-s3rver-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const args = [BIN, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent', '--no-vhost-buckets'];
    for (const b of buckets) args.push('--configure-bucket', b);
    child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitListening(port, 10_000);
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  };
  await start();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint, dir, port, start, stop,
    store: (bucket, o = {}) => new S3Store({ endpoint, bucket, region: 'us-east-1', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', partSize: o.partSize ?? 5 * 1024 * 1024, maxAttempts: o.maxAttempts ?? 1 }),
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
