import type { Server } from 'node:net';

/** A port we were told to use is taken; the message names the setting that changes it. */
export class PortInUseError extends Error {
  readonly code = 'port_in_use';
  constructor(public readonly what: string, public readonly port: number, public readonly hint: string) {
    super(`${what} port ${port} is already in use by another program. ${hint}`);
  }
}

/** Listens and resolves with the bound port; EADDRINUSE becomes a PortInUseError. */
export function listen(server: Server, host: string, port: number, what: string, hint: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(err.code === 'EADDRINUSE' ? new PortInUseError(what, port, hint) : err);
    };
    const onListening = () => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
