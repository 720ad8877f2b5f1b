/**
 * The server's local operator socket: a unix socket in the data directory, owner-only (mode
 * 0600, bound under a 0177 umask so that it is never reachable by others, even for an instant).
 * Only a process of the server's own user can connect, and such a process can read the data
 * directory and the keyring anyway: the socket grants nothing new. It lets `enclave` commands run
 * on the terminal beside a running server go through that server instead of opening the data
 * directory a second time (see src/datadir/lock.ts for why that loses writes).
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export const LOCAL_SOCKET_FILE = 'enclave.sock';
/** sun_path holds 108 bytes on Linux and 104 on macOS, NUL included. */
export const MAX_SOCKET_PATH_BYTES = 100;

export interface LocalSocket {
  readonly path: string;
  close(): Promise<void>;
}

/**
 * Listens on `path` with `handler`. A socket file left by a crashed server is removed first:
 * the caller holds the data directory's lock, so no live server owns it. Returns null when the
 * path is too long for a unix socket (the caller says so; commands then refuse with the lock's
 * error instead of going through the server).
 */
export async function listenLocalSocket(path: string, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<LocalSocket | null> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) return null;
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // none
  }
  const server = createServer(handler);
  // Commands may stream for as long as they run (an ingestion): no request timeout on this socket.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const previous = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.removeListener('error', reject);
        resolve();
      });
    } finally {
      process.umask(previous);
    }
  });
  chmodSync(path, 0o600);
  // The socket alone never keeps a process alive (the TCP server does, while serving).
  server.unref();
  return {
    path,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    },
  };
}
