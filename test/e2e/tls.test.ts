// TLS with the user's certificate (issue 7, attack matrix): a self-signed certificate made by
// openssl in the test; MQTT (mqtts) and HTTP (https) both serve it. A device that trusts it
// publishes and is stored; a plain-TCP client, and a client that does not trust the certificate,
// get nothing through; a missing key file stops the start with a message naming the setting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { connect, connectAsync } from 'mqtt';
import { rows, startServer, tempDir } from '../helpers/server.js';
import { connectPacket, rawConnect } from '../helpers/raw-mqtt.js';

function selfSigned(dir: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'ignore' });
  return { certFile, keyFile };
}

function httpsGet(url: string, ca: Buffer | undefined, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('mqtts and https with a user certificate: trusted clients get through, plain and untrusting ones do not', { timeout: 60_000 }, async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const tls = selfSigned(tmp.dir);
  const ca = readFileSync(tls.certFile);
  const sp = await startServer(join(tmp.dir, 'data'), { demo: true, mqtt: { host: '127.0.0.1', port: 0, tls }, http: { host: '127.0.0.1', port: 0, tls } });
  t.after(() => sp.stop());
  const port = sp.mqtt!.port;

  const c = await connectAsync(`mqtts://127.0.0.1:${port}`, { clientId: 'tls-1', ca, reconnectPeriod: 0 });
  await c.publishAsync('sensors/tls-1/telemetry', JSON.stringify({ ts: new Date().toISOString(), temperature: 22.5 }), { qos: 1 });
  await c.endAsync();

  // Plain MQTT to the TLS port, and TLS without trusting the certificate: no session.
  const plain = await rawConnect(port);
  plain.socket.write(connectPacket('plain-1'));
  await plain.closed;
  assert.equal(plain.received().length, 0, 'a plain-TCP CONNECT on the TLS port gets no CONNACK');
  // Settles on the first of connect, error or close: depending on how the TLS alert and the
  // socket close interleave, MQTT.js may report only the close (connectAsync would then wait forever).
  const u = connect(`mqtts://127.0.0.1:${port}`, { clientId: 'untrusting-1', reconnectPeriod: 0, connectTimeout: 3000 });
  const untrusting = await new Promise<string>((resolve) => {
    u.once('connect', () => resolve('connected'));
    u.once('error', (err) => resolve(err.message));
    u.once('close', () => resolve('closed'));
  });
  u.end(true);
  assert.match(untrusting, /self[- ]signed|closed/i, 'a client that does not trust the certificate gets no session');

  const base = `https://127.0.0.1:${sp.httpPort}`;
  const token = sp.auth.createToken('admin');
  const health = await httpsGet(`${base}/healthz`, ca);
  assert.equal(health.status, 200);
  await assert.rejects(httpsGet(`${base}/healthz`, undefined), /self[- ]signed/i, 'a client that does not trust the certificate is refused');
  await assert.rejects(fetch(`http://127.0.0.1:${sp.httpPort}/healthz`), 'plain HTTP on the TLS port gets no answer');

  await sp.writer.drain();
  assert.deepEqual(await rows(sp, "select sensor_id, value from readings"), [{ sensor_id: 'tls-1', value: 22.5 }]);
  const st = await httpsGet(`${base}/v1/status`, ca, { authorization: `Bearer ${token}` });
  assert.equal(st.status, 200);
});

test('a TLS key file that cannot be read stops the start with the setting and the file named', { timeout: 60_000 }, async (t) => {
  const tmp = tempDir();
  t.after(tmp.cleanup);
  const tls = selfSigned(tmp.dir);
  await assert.rejects(
    startServer(join(tmp.dir, 'data'), { mqtt: { host: '127.0.0.1', port: 0, tls: { certFile: tls.certFile, keyFile: join(tmp.dir, 'missing.pem') } } }),
    /mqtt\.tls\.keyFile .*missing\.pem cannot be read \(ENOENT\)/,
  );
});
