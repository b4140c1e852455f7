/**
 * Azurite (the Azure Storage emulator, npm `azurite`) as a child process for the Azure lake tests:
 * Blob service only, on an ephemeral port, data in a temporary directory, removed on stop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Azurite's fixed development account (public, documented by Microsoft; not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  blobUrl: string;
  connectionString: string;
  stop(): Promise<void>;
}

export async function startAzurite(timeoutMs = 60_000): Promise<Azurite> {
  const require = createRequire(import.meta.url);
  const main = join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'blob', 'main.js');
  const location = await mkdtemp(join(tmpdir(), 'sensorpipe-azurite-'));
  // Azurite runs inside a small wrapper that exits when its stdin closes, so it never outlives the
  // test process, even one killed with -9. `process.argv[1]` is the script slot Azurite's parser skips.
  const wrapper = `process.stdin.on('close', () => process.exit(0)); process.stdin.resume(); process.argv.splice(1, 0, ${JSON.stringify(main)}); require(${JSON.stringify(main)});`;
  const child: ChildProcess = spawn(
    process.execPath,
    ['-e', wrapper, '--', '--blobHost', '127.0.0.1', '--blobPort', '0', '--location', location, '--skipApiVersionCheck', '--loose', '--disableProductStyleUrl'],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Azurite did not report a port within ${timeoutMs} ms; its output:\n${output}`)), timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /successfully listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Azurite exited with code ${code} before listening; its output:\n${output}`));
    });
  }).catch(async (err) => {
    child.kill('SIGKILL');
    child.stdin!.destroy();
    await rm(location, { recursive: true, force: true });
    throw err;
  });
  const blobUrl = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    blobUrl,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobUrl};`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        // SIGKILL: a graceful stop waits for the SDK's keep-alive sockets; the data is thrown away anyway.
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      child.stdin!.destroy();
      await rm(location, { recursive: true, force: true });
    },
  };
}
