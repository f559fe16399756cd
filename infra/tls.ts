// Certificates for the secured local stack (`tl stack up --tls`): one CA, a server certificate for
// the Temporal TLS frontend and MinIO, and a client certificate for tl's own processes. Made with
// Debian's openssl, kept under <stateDir>/tls (keys 0600), made once and re-made only when the
// server names change or a certificate is close to expiry.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface StackCertificates {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** MinIO's --certs-dir: public.crt, private.key and CAs/. */
  minioCertsDir: string;
}

export function certificatePaths(stateDir: string): StackCertificates {
  const dir = path.join(stateDir, 'tls');
  return {
    dir,
    caCert: path.join(dir, 'ca.pem'),
    caKey: path.join(dir, 'ca-key.pem'),
    serverCert: path.join(dir, 'server.pem'),
    serverKey: path.join(dir, 'server-key.pem'),
    clientCert: path.join(dir, 'client.pem'),
    clientKey: path.join(dir, 'client-key.pem'),
    minioCertsDir: path.join(dir, 'minio'),
  };
}

const DAYS = 825;
const RENEW_WITHIN_S = 30 * 24 * 3600;

async function openssl(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync('openssl', args);
    return stdout;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('openssl not found on PATH: install it (apt-get install openssl) for `tl stack up --tls`');
    throw new Error(`openssl ${args[0]} failed: ${((err as { stderr?: string }).stderr ?? String(err)).trim().split('\n')[0]}`);
  }
}

/** True when the certificate exists and stays valid for at least `seconds` more. */
async function validFor(cert: string, seconds: number): Promise<boolean> {
  if (!fs.existsSync(cert)) return false;
  try {
    await execFileAsync('openssl', ['x509', '-in', cert, '-noout', '-checkend', String(seconds)]);
    return true;
  } catch {
    return false;
  }
}

async function issue(c: StackCertificates, name: 'server' | 'client', subject: string, extensions: string): Promise<void> {
  const cert = name === 'server' ? c.serverCert : c.clientCert;
  const key = name === 'server' ? c.serverKey : c.clientKey;
  const csr = path.join(c.dir, `${name}.csr`);
  const ext = path.join(c.dir, `${name}.ext`);
  fs.writeFileSync(ext, extensions);
  await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-subj', subject, '-out', csr]);
  fs.chmodSync(key, 0o600);
  await openssl(['x509', '-req', '-in', csr, '-CA', c.caCert, '-CAkey', c.caKey, '-CAcreateserial', '-days', String(DAYS), '-sha256', '-extfile', ext, '-out', cert]);
  fs.rmSync(csr);
}

/**
 * Makes whatever is missing or stale. `serverNames` are the IPs and DNS names the server
 * certificate must carry (loopback and the bind address).
 */
export async function ensureStackCertificates(stateDir: string, serverNames: string[], log: (line: string) => void): Promise<StackCertificates> {
  const c = certificatePaths(stateDir);
  fs.mkdirSync(c.dir, { recursive: true, mode: 0o700 });
  let caNew = false;
  if (!(await validFor(c.caCert, RENEW_WITHIN_S)) || !fs.existsSync(c.caKey)) {
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', c.caKey, '-out', c.caCert, '-days', String(DAYS), '-subj', '/CN=tl local stack CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    fs.chmodSync(c.caKey, 0o600);
    caNew = true;
    log(`tls: generated a CA in ${c.caCert}`);
  }
  const sans = [...new Set(serverNames)].map((n) => (/^[\d.]+$/.test(n) || n.includes(':') ? `IP:${n}` : `DNS:${n}`)).join(',');
  const sansFile = path.join(c.dir, 'server.sans');
  const sansChanged = !fs.existsSync(sansFile) || fs.readFileSync(sansFile, 'utf8') !== sans;
  if (caNew || sansChanged || !(await validFor(c.serverCert, RENEW_WITHIN_S))) {
    await issue(c, 'server', '/CN=tl-stack', `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${sans}\n`);
    fs.writeFileSync(sansFile, sans);
    log(`tls: issued the server certificate ${c.serverCert} for ${sans}`);
  }
  if (caNew || !(await validFor(c.clientCert, RENEW_WITHIN_S))) {
    await issue(c, 'client', '/CN=tl-worker', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n');
    log(`tls: issued the client certificate ${c.clientCert}`);
  }
  // MinIO reads its certificate from fixed names in its certs dir.
  fs.mkdirSync(path.join(c.minioCertsDir, 'CAs'), { recursive: true, mode: 0o700 });
  fs.copyFileSync(c.serverCert, path.join(c.minioCertsDir, 'public.crt'));
  fs.copyFileSync(c.serverKey, path.join(c.minioCertsDir, 'private.key'));
  fs.chmodSync(path.join(c.minioCertsDir, 'private.key'), 0o600);
  fs.copyFileSync(c.caCert, path.join(c.minioCertsDir, 'CAs', 'ca.pem'));
  return c;
}

/** A client certificate from another CA: what a misconfigured worker would present (tests, doctor examples). */
export async function issueForeignClientCertificate(dir: string): Promise<{ cert: string; key: string }> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const cert = path.join(dir, 'foreign-client.pem');
  const key = path.join(dir, 'foreign-client-key.pem');
  await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=not-from-the-stack-ca']);
  return { cert, key };
}
