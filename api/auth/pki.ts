/**
 * The secure port's certificates. Without --tls-cert-file/--tls-private-key-file, Kronicle makes
 * a CA and a serving certificate in the data directory on first start (kept across restarts), and
 * an admin client certificate (CN=kronicle-admin, O=system:masters) for the kubeconfig it writes.
 * Keys come from Node's crypto (RSA 2048, native); certificates are built and signed with
 * node-forge (X.509 without hand-written ASN.1).
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import forge from 'node-forge';

export interface Pki {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly dir: string;
}

const YEAR = 365 * 24 * 3600 * 1000;

function keyPair(): { privatePem: string; publicKey: forge.pki.PublicKey; privateKey: forge.pki.PrivateKey } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privatePem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(privatePem);
  return { privatePem, privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey((forgeKey as forge.pki.rsa.PrivateKey).n, (forgeKey as forge.pki.rsa.PrivateKey).e) };
}

function certificate(options: {
  subject: forge.pki.CertificateField[];
  issuer?: { cert: forge.pki.Certificate; key: forge.pki.PrivateKey };
  publicKey: forge.pki.PublicKey;
  signingKey: forge.pki.PrivateKey;
  extensions: object[];
  years: number;
}): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = options.publicKey;
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + options.years * YEAR);
  cert.setSubject(options.subject);
  cert.setIssuer(options.issuer ? options.issuer.cert.subject.attributes : options.subject);
  cert.setExtensions(options.extensions);
  cert.sign(options.signingKey as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return cert;
}

/** A client certificate for `user` in `groups`, signed by the CA: what x509 authentication reads. */
export function issueClientCertificate(caCertPem: string, caKeyPem: string, user: string, groups: readonly string[] = []): { cert: string; key: string } {
  const ca = { cert: forge.pki.certificateFromPem(caCertPem), key: forge.pki.privateKeyFromPem(caKeyPem) };
  const k = keyPair();
  const cert = certificate({
    subject: [{ name: 'commonName', value: user }, ...groups.map((g) => ({ name: 'organizationName', value: g }))],
    issuer: ca,
    publicKey: k.publicKey,
    signingKey: ca.key,
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, keyEncipherment: true }, { name: 'extKeyUsage', clientAuth: true }],
    years: 1,
  });
  return { cert: forge.pki.certificateToPem(cert), key: k.privatePem };
}

/** The CA, serving and admin certificates in `dir` (made on first use, read afterwards). */
export function ensurePki(dir: string, hosts: readonly string[] = ['127.0.0.1', 'localhost']): Pki {
  const file = (name: string) => path.join(dir, name);
  const names = ['ca.crt', 'ca.key', 'server.crt', 'server.key', 'admin.crt', 'admin.key'];
  if (!names.every((n) => fs.existsSync(file(n)))) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const caKey = keyPair();
    const caSubject = [{ name: 'commonName', value: 'kronicle-ca' }];
    const ca = certificate({
      subject: caSubject,
      publicKey: caKey.publicKey,
      signingKey: caKey.privateKey,
      extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
      years: 10,
    });
    const serverKey = keyPair();
    const server = certificate({
      subject: [{ name: 'commonName', value: 'kronicle-apiserver' }],
      issuer: { cert: ca, key: caKey.privateKey },
      publicKey: serverKey.publicKey,
      signingKey: caKey.privateKey,
      extensions: [
        { name: 'basicConstraints', cA: false },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [...hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7, ip: h } : { type: 2, value: h })), { type: 2, value: 'kubernetes.default.svc' }] },
      ],
      years: 5,
    });
    const caPem = forge.pki.certificateToPem(ca);
    const admin = issueClientCertificate(caPem, caKey.privatePem, 'kronicle-admin', ['system:masters']);
    const write = (name: string, text: string, mode: number) => fs.writeFileSync(file(name), text, { mode });
    write('ca.crt', caPem, 0o644);
    write('ca.key', caKey.privatePem, 0o600);
    write('server.crt', forge.pki.certificateToPem(server), 0o644);
    write('server.key', serverKey.privatePem, 0o600);
    write('admin.crt', admin.cert, 0o644);
    write('admin.key', admin.key, 0o600);
  }
  const read = (name: string) => fs.readFileSync(file(name), 'utf8');
  return { dir, caCert: read('ca.crt'), serverCert: read('server.crt'), serverKey: read('server.key'), adminCert: read('admin.crt'), adminKey: read('admin.key') };
}
