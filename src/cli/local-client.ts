/**
 * The terminal's side of src/cli/local-server.ts: sends a command to the server that holds the
 * data directory, over its local socket, and prints what the server streams back.
 */
import { lstatSync } from 'node:fs';
import { request } from 'node:http';
import { AppError } from '../errors.ts';
import type { LockHolder } from '../datadir/index.ts';
import type { Output } from './services.ts';

/** The one route of the local socket (src/cli/local-server.ts). */
export const LOCAL_COMMAND_PATH = '/v1/cli';

/** One line of the server's answer: output as the command writes it, then its exit code. */
export type LocalFrame = { readonly out: string } | { readonly err: string } | { readonly exit: number };

/** Thrown by the CLI's `open` when a live server holds the data directory and listens on its socket. */
export class ForwardToServer extends Error {
  readonly holder: LockHolder;
  readonly socket: string;

  constructor(holder: LockHolder, socket: string) {
    super(`forward to the server (pid ${holder.pid}) on ${socket}`);
    this.name = 'ForwardToServer';
    this.holder = holder;
    this.socket = socket;
  }
}

const STOP_HINT = (pid: number): string => `the server (pid ${pid}) holds the data directory; use its API with ENCLAVE_URL and ENCLAVE_TOKEN, or stop it and run the command again`;

/**
 * Runs `argv` (the arguments after `enclave`) on the server behind `socket`; resolves with the
 * command's exit code. The socket must be a socket owned by this user (the server creates it
 * 0600 in the data directory): anything else is refused, never talked to.
 */
export async function forwardToServer(f: ForwardToServer, argv: readonly string[], o: { readonly cwd: string; readonly out: Output; readonly err: Output }): Promise<number> {
  let st;
  try {
    st = lstatSync(f.socket);
  } catch {
    throw new AppError('unavailable', `the Enclave server (pid ${f.holder.pid}) holds the data directory but its local socket ${f.socket} is not there (still starting?)`, { hint: `wait a few seconds and run the command again; otherwise ${STOP_HINT(f.holder.pid)}` });
  }
  const uid = process.getuid?.();
  if (!st.isSocket() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    throw new AppError('forbidden', `${f.socket} is not an owner-only socket of this user: refusing to send the command to it`, { hint: STOP_HINT(f.holder.pid) });
  }
  return new Promise<number>((resolve, reject) => {
    const req = request({ socketPath: f.socket, method: 'POST', path: LOCAL_COMMAND_PATH, headers: { 'content-type': 'application/json' } }, (res) => {
      res.setEncoding('utf8');
      let buffered = '';
      let exit: number | undefined;
      const handle = (line: string): void => {
        if (line === '') return;
        const fr = JSON.parse(line) as LocalFrame | { code?: string; detail?: string };
        if ('out' in fr) o.out.write(fr.out);
        else if ('err' in fr) o.err.write(fr.err);
        else if ('exit' in fr) exit = fr.exit;
        else reject(new AppError('unavailable', `the server refused the command: ${fr.detail ?? `HTTP ${res.statusCode ?? 0}`}`));
      };
      res.on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          handle(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
        }
      });
      res.on('end', () => {
        handle(buffered.trim());
        if (exit === undefined) reject(new AppError('unavailable', `the server (pid ${f.holder.pid}) closed the connection before the command ended`, { hint: 'check the server\'s log; the command may or may not have completed (see enclave audit history)' }));
        else resolve(exit);
      });
      res.on('error', reject);
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      reject(new AppError('unavailable', `cannot reach the Enclave server (pid ${f.holder.pid}) on ${f.socket} (${e.code ?? e.message})`, { hint: `wait a few seconds and run the command again; otherwise ${STOP_HINT(f.holder.pid)}` }));
    });
    req.end(JSON.stringify({ argv, cwd: o.cwd }));
  });
}
