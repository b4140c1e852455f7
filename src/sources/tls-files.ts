import { readFileSync } from 'node:fs';

/** Certificate and key files of a TLS listener (mqtt.tls, http.tls), as given in the config. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/** Thrown at start when a certificate or key file cannot be read; the message names the setting and the file. */
export class TlsFileError extends Error {
  readonly code = 'tls_file';
}

/** Reads the PEM certificate (chain) and private key for `setting` (e.g. `mqtt.tls`). */
export function readTlsFiles(setting: string, files: TlsFiles): { cert: Buffer; key: Buffer } {
  const read = (key: 'certFile' | 'keyFile'): Buffer => {
    try {
      return readFileSync(files[key]);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? String(err);
      throw new TlsFileError(`${setting}.${key} ${files[key]} cannot be read (${code}); give the path of a PEM file the server user can read`);
    }
  };
  return { cert: read('certFile'), key: read('keyFile') };
}
