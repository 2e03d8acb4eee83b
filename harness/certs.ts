import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Client credentials in the shape Aiven hands out, plus what the brokers use. */
export interface TlsFiles {
  /** The CA that signed both the brokers' and the client's certificate. */
  caPath: string;
  /** The CA's private key, so a test can issue another client certificate ({@link issueClientCertificate}). */
  caKeyPath: string;
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
    caKeyPath: file('ca.key'),
    certPath: file('service.cert'),
    keyPath: file('service.key'),
    brokerKeystorePath,
  };
}

/** A client certificate issued during a test, with its own key, subject and serial. */
export interface IssuedCertificate {
  /** PEM certificate and unencrypted PKCS#8 key, as Aiven hands out `service.cert` and `service.key`. */
  cert: string;
  key: string;
  /** Hex serial number (each issue draws a random one). */
  serial: string;
  subject: string;
  notAfter: Date;
}

/**
 * Issue another client certificate from the harness CA, as a provider does when it rotates certificates: a new
 * key, the given subject, a random serial, valid from a minute ago until `notAfter`. A `notAfter` within the test
 * makes the brokers refuse every new connection with the certificate from then on (connections already open stay
 * up: TLS checks the validity at the handshake). `openssl ca`, because `openssl x509` of OpenSSL 3.0 sets the
 * validity only in whole days. Files go to `dir`, which the caller removes.
 */
export async function issueClientCertificate(
  ca: { caPath: string; caKeyPath: string },
  dir: string,
  options: { name: string; subject: string; notAfter: Date },
): Promise<IssuedCertificate> {
  const { name, subject, notAfter } = options;
  const file = (suffix: string): string => path.join(dir, `${name}.${suffix}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(file('index'), '');
  writeFileSync(file('serial'), `${randomBytes(8).toString('hex').replace(/^./, '1')}\n`);
  writeFileSync(
    file('ext'),
    'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n',
  );
  // A database of its own per certificate: tests that issue at the same time do not share openssl ca's files.
  writeFileSync(
    file('cnf'),
    [
      '[ca]',
      'default_ca = harness',
      '[harness]',
      `database = ${file('index')}`,
      `serial = ${file('serial')}`,
      `new_certs_dir = ${dir}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'copy_extensions = none',
      '[any]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file('key')]);
  await openssl(['req', '-new', '-key', file('key'), '-subj', subject, '-out', file('csr')]);
  await openssl([
    'ca',
    '-batch',
    '-notext',
    '-config',
    file('cnf'),
    '-cert',
    ca.caPath,
    '-keyfile',
    ca.caKeyPath,
    '-in',
    file('csr'),
    '-extfile',
    file('ext'),
    '-startdate',
    asn1Time(new Date(Date.now() - 60_000)),
    '-enddate',
    asn1Time(notAfter),
    '-out',
    file('cert'),
  ]);
  const cert = readFileSync(file('cert'), 'utf8');
  const x509 = new X509Certificate(cert);
  return {
    cert,
    key: readFileSync(file('key'), 'utf8'),
    serial: x509.serialNumber,
    subject: x509.subject,
    notAfter: new Date(x509.validTo),
  };
}

/** `YYYYMMDDHHMMSSZ`, the GeneralizedTime `openssl ca -startdate/-enddate` take. */
function asn1Time(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await execFileAsync('openssl', args);
  } catch (e: unknown) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: e });
  }
}
