// Single logout: SP-initiated (signed LogoutRequest to the IdP, its LogoutResponse handled) and
// IdP-initiated (Redirect and POST bindings), each accepted only with the IdP's signature.
import t from 'tap';
import { generateKeyAndCertificate } from '../../src/identity/saml/certificate.js';
import { signXml } from '../../src/identity/saml/signature.js';
import { logoutRequestUrl, logoutRequestXml, logoutResponseUrl, readLogoutRequest } from '../../infra/dev-idp/idp.js';
import { sloContinuation } from './helpers.js';
import { startSamlHarness } from './saml-harness.js';

const h = await startSamlHarness();
t.teardown(() => h.close());
const NORD = 'nord.localhost';
const sp = h.sp('nord');
const session = { idpEntityId: h.idpNord.entityId, nameId: 'nid-42', nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient', sessionIndex: '_s42' };

t.test('SP-initiated: local sessions end, signed LogoutRequest to the IdP, its LogoutResponse accepted once', async (t) => {
  h.endSessionsCalls.length = 0;
  const res = await h.app.inject({ method: 'POST', url: '/saml/deconnexion', headers: { host: NORD, 'x-test-session': JSON.stringify(session) } });
  const location = sloContinuation(res);
  t.match(res.body, 'Vous êtes déconnecté');
  t.match(location, /^https:\/\/idp\.univ-nord\.example\/idp\/slo\?SAMLRequest=.+&SigAlg=.+&Signature=/);
  t.same(h.endSessionsCalls, [{ tenantId: h.tenant('nord').id, nameId: 'nid-42', sessionIndex: '_s42' }]);
  const request = readLogoutRequest(location);
  t.equal(request.nameId, 'nid-42');
  t.equal(request.sessionIndex, '_s42');
  const back = logoutResponseUrl(h.idpNord, { destination: sp.sloUrl, inResponseTo: request.id });
  const path = back.slice(back.indexOf('/saml/slo'));
  const done = await h.app.inject({ url: path, headers: { host: NORD } });
  t.equal(done.statusCode, 303);
  t.equal(done.headers.location, '/');
  const again = await h.app.inject({ url: path, headers: { host: NORD, accept: 'text/html' } });
  t.equal(again.statusCode, 403, 'a LogoutResponse is accepted once');
});

t.test('IdP-initiated, Redirect binding: sessions of the NameID end, signed LogoutResponse back', async (t) => {
  h.endSessionsCalls.length = 0;
  const url = logoutRequestUrl(h.idpNord, { destination: sp.sloUrl, nameId: 'nid-7', sessionIndex: '_s7' });
  const res = await h.app.inject({ url: url.slice(url.indexOf('/saml/slo')), headers: { host: NORD } });
  t.equal(res.statusCode, 303, res.body.slice(0, 300));
  t.match(res.headers.location as string, /^https:\/\/idp\.univ-nord\.example\/idp\/slo\?SAMLResponse=.+&Signature=/);
  t.same(h.endSessionsCalls, [{ tenantId: h.tenant('nord').id, nameId: 'nid-7', sessionIndex: '_s7' }]);
});

t.test('IdP-initiated, Redirect binding: unsigned, tampered, or signed by a stranger is refused', async (t) => {
  h.endSessionsCalls.length = 0;
  const url = logoutRequestUrl(h.idpNord, { destination: sp.sloUrl, nameId: 'nid-8' });
  const path = url.slice(url.indexOf('/saml/slo'));
  const unsigned = path.replace(/&SigAlg=[^&]+&Signature=[^&]+/, '');
  const tampered = path.replace(/SAMLRequest=[^&]+/, `SAMLRequest=${encodeURIComponent(new URL(logoutRequestUrl(h.idpNord, { destination: sp.sloUrl, nameId: 'someone-else' })).searchParams.get('SAMLRequest')!)}`);
  const stranger = { ...h.idpNord, ...(await generateKeyAndCertificate('stranger')) };
  const foreign = logoutRequestUrl(stranger, { destination: sp.sloUrl, nameId: 'nid-8' });
  for (const [name, p] of [['unsigned', unsigned], ['tampered', tampered], ['stranger', foreign.slice(foreign.indexOf('/saml/slo'))]]) {
    const res = await h.app.inject({ url: p!, headers: { host: NORD, accept: 'text/html' } });
    t.equal(res.statusCode, 403, `${name}: ${res.statusCode}`);
    t.match(res.body, /Université nord/);
  }
  t.same(h.endSessionsCalls, [], 'no session ended');
});

t.test('IdP-initiated, POST binding: signed accepted, unsigned refused', async (t) => {
  h.endSessionsCalls.length = 0;
  const id = '_lr-post-1';
  const xml = logoutRequestXml(h.idpNord, { destination: sp.sloUrl, nameId: 'nid-9', id });
  const signed = signXml(xml, { id, localName: 'LogoutRequest', privateKey: h.idpNord.privateKey, certificate: h.idpNord.certificate });
  const post = (x: string) =>
    h.app.inject({ method: 'POST', url: '/saml/slo', headers: { host: NORD, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: new URLSearchParams({ SAMLRequest: Buffer.from(x).toString('base64') }).toString() });
  const unsigned = await post(xml);
  t.ok(unsigned.statusCode >= 400 && unsigned.statusCode < 500, 'unsigned refused with a 4xx');
  t.same(h.endSessionsCalls, []);
  const ok = await post(signed);
  t.equal(ok.statusCode, 303, ok.body.slice(0, 300));
  t.same(h.endSessionsCalls, [{ tenantId: h.tenant('nord').id, nameId: 'nid-9', sessionIndex: undefined }]);
});

t.test('logout from nord\'s IdP posted to sud is refused', async (t) => {
  h.endSessionsCalls.length = 0;
  const url = logoutRequestUrl(h.idpNord, { destination: sp.sloUrl, nameId: 'nid-10' });
  const res = await h.app.inject({ url: url.slice(url.indexOf('/saml/slo')), headers: { host: 'sud.localhost', accept: 'text/html' } });
  t.equal(res.statusCode, 403);
  t.same(h.endSessionsCalls, []);
});
