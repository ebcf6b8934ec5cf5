// SP certificates are made without an X.509 library (src/identity/saml/certificate.ts): they must
// parse with OpenSSL and carry the key pair's public key, and their serial number must always be
// valid DER (a mistake there depends on random bytes and shows once in a hundred certificates).
import t from 'tap';
import { X509Certificate, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt } from 'node:crypto';
import { generateKeyAndCertificate, randomSerial } from '../../src/identity/saml/certificate.js';

t.test('serial numbers: positive, no leading zero byte, random', async (t) => {
  const seen = new Set<string>();
  let bad = 0;
  for (let i = 0; i < 20_000; i++) {
    const serial = randomSerial();
    if (serial.length !== 16 || serial[0]! < 0x40 || serial[0]! > 0x7f) bad++;
    seen.add(serial.toString('hex'));
  }
  t.equal(bad, 0, 'every first byte in 0x40-0x7f (DER: positive, no padding byte)');
  t.equal(seen.size, 20_000, 'no repeat');
});

t.test('certificates parse, are self-signed and encrypt to their own key', async (t) => {
  for (let i = 0; i < 5; i++) {
    const { privateKey, certificate } = await generateKeyAndCertificate(`sp-${i}`);
    const x509 = new X509Certificate(certificate);
    t.ok(x509.verify(x509.publicKey), 'self-signed');
    t.ok(
      x509.publicKey.export({ type: 'spki', format: 'der' }).equals(createPublicKey(createPrivateKey(privateKey)).export({ type: 'spki', format: 'der' })),
      "carries the key pair's public key",
    );
    const secret = Buffer.from(`secret ${i}`);
    t.ok(privateDecrypt(privateKey, publicEncrypt(certificate, secret)).equals(secret), 'encrypts to its own key');
  }
});
