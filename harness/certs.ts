import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Client credentials in the shape Aiven hands out, plus what the brokers use. */
export interface TlsFiles {
  /** The CA that signed both the brokers' and the client's certificate. */
  caPath: string;
  /** The client certificate (`service.cert`). */
  certPath: string;
  /** The client's private key, unencrypted PKCS#8 (`service.key`). */
  keyPath: string;
  /** Broker key + certificate + CA in one PEM file, for `ssl.keystore.type=PEM`. */
  brokerKeystorePath: string;
}

/**
 * A throwaway CA, a broker certificate valid for `localhost` and `127.0.0.1`, and a client certificate,
 * generated with openssl into `dir` (inside the run folder under `.cache/`, never committed).
 */
export async function generateTlsFiles(dir: string): Promise<TlsFiles> {
  mkdirSync(dir, { recursive: true });
  const file = (name: string): string => path.join(dir, name);
  const days = '30';

  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file('ca.key')]);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    file('ca.key'),
    '-sha256',
    '-days',
    days,
    '-subj',
    '/CN=mm2-failover harness CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    file('ca.pem'),
  ]);

  const issue = async (name: string, subject: string, extensions: string): Promise<void> => {
    // genpkey writes PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: what Aiven's service.key is and what
    // Kafka's PEM keystore and Node's tls both read.
    await openssl([
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-out',
      file(`${name}.key`),
    ]);
    await openssl([
      'req',
      '-new',
      '-key',
      file(`${name}.key`),
      '-subj',
      subject,
      '-out',
      file(`${name}.csr`),
    ]);
    writeFileSync(file(`${name}.ext`), extensions);
    await openssl([
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-sha256',
      '-days',
      days,
      '-extfile',
      file(`${name}.ext`),
      '-out',
      file(`${name}.cert`),
    ]);
  };
  await issue(
    'broker',
    '/CN=localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  await issue(
    'service',
    '/CN=mm2-failover-harness-client',
    'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  );

  const brokerKeystorePath = file('broker-keystore.pem');
  writeFileSync(
    brokerKeystorePath,
    [file('broker.key'), file('broker.cert'), file('ca.pem')].map((f) => readFileSync(f, 'utf8')).join(''),
  );
  return {
    caPath: file('ca.pem'),
    certPath: file('service.cert'),
    keyPath: file('service.key'),
    brokerKeystorePath,
  };
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args);
  } catch (e: unknown) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: e });
  }
}
