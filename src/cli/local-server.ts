/**
 * `enclave` commands run beside a running server go through it: the CLI finds the data
 * directory locked by the server (src/datadir/lock.ts) and sends its arguments over the server's
 * local operator socket (src/http/local-socket.ts, mode 0600 in the data directory); the server
 * runs the very same command on its own services, as the local operator, and streams the output
 * back. The command's writes are audited as they are from the terminal (actor `local:<user>`),
 * in the server's one log, so nothing is lost and no sequence number is used twice.
 *
 * Wire format: `POST /v1/cli` with `{"argv": [...], "cwd": "/abs/dir"}`; the answer is JSON lines,
 * `{"out": text}` and `{"err": text}` as the command writes, then `{"exit": code}`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isAbsolute } from 'node:path';
import { AppError } from '../errors.ts';
import { LOCAL_COMMAND_PATH, type LocalFrame } from './local-client.ts';
import { runCli } from './program.ts';
import type { CliServices } from './services.ts';

const MAX_REQUEST_BYTES = 256 * 1024;

export interface LocalCommandDeps {
  readonly version: string;
  /** The server's services with the local operator as actor; never closed by a command. */
  readonly services: CliServices;
}

/** Parses and checks a request body: the arguments after `enclave`, and the caller's working directory. */
export function parseLocalCommand(text: string): { readonly argv: readonly string[]; readonly cwd: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AppError('invalid', 'the local command request is not JSON');
  }
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  const argv = o['argv'];
  const cwd = o['cwd'];
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a): a is string => typeof a === 'string' && !a.includes('\0'))) {
    throw new AppError('invalid', 'argv must be a non-empty list of strings (the arguments after enclave)');
  }
  if (typeof cwd !== 'string' || !isAbsolute(cwd) || cwd.includes('\0')) throw new AppError('invalid', 'cwd must be an absolute directory');
  return { argv, cwd };
}

/** The request handler of the local socket. */
export function localCommandHandler(deps: LocalCommandDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const services: CliServices = { ...deps.services, close: async () => undefined };
  return (req, res) => {
    const refuse = (status: number, e: AppError): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: e.code, detail: e.message }));
    };
    if (req.method !== 'POST' || req.url !== LOCAL_COMMAND_PATH) {
      refuse(404, new AppError('not_found', `this socket serves only POST ${LOCAL_COMMAND_PATH}`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_REQUEST_BYTES) {
        refuse(413, new AppError('payload_too_large', `a command request is at most ${MAX_REQUEST_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (res.headersSent) return;
      let cmd: ReturnType<typeof parseLocalCommand>;
      try {
        cmd = parseLocalCommand(Buffer.concat(chunks).toString('utf8'));
      } catch (e) {
        refuse(400, e as AppError);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      const frame = (f: LocalFrame): void => {
        if (!res.writableEnded) res.write(`${JSON.stringify(f)}\n`);
      };
      void runCli(['node', 'enclave', ...cmd.argv], {
        version: deps.version,
        open: async () => services,
        serve: async () => {
          throw new AppError('conflict', 'the server is already running on this data directory', { hint: 'stop it first to start it again' });
        },
        out: { write: (s) => frame({ out: s }) },
        err: { write: (s) => frame({ err: s }) },
        cwd: cmd.cwd,
        // The terminal's ENCLAVE_URL does not apply here: the command runs on this server.
        env: {},
      }).then((code) => {
        frame({ exit: code });
        res.end();
      });
    });
  };
}
