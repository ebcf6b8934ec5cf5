// Sessions through the real HTTP app: login sets a hardened cookie, the header shows the person,
// a session is refused on another tenant's host, rotation at login, "Mes sessions", logout.
import t from 'tap';
import { createHash } from 'node:crypto';
import { startPortique } from '../helpers/app.js';
import { cookieOf, identityTenantsDir, login, loginRoute, verifiedLogin } from './helpers.js';

// TRUST_PROXY: so that x-forwarded-proto can stand for a TLS-terminating proxy.
const portique = await startPortique({ tenantsDir: await identityTenantsDir(), beforeReady: loginRoute, env: { TRUST_PROXY: 'true' } });
t.teardown(() => portique.close());
const { app, registry } = portique;
const nord = registry.bySlug('nord')!;
const sud = registry.bySlug('sud')!;
const NORD = 'nord.localhost';
const SUD = 'sud.localhost';

const get = (host: string, url: string, cookie?: string) =>
  app.inject({ method: 'GET', url, headers: { host, accept: 'text/html', ...(cookie ? { cookie: `portique_session=${cookie}` } : {}) } });

t.test('login opens a session with a hardened cookie and redirects back', async (t) => {
  const res = await login(app, NORD, verifiedLogin(nord.id, { returnTo: '/aide' }));
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/aide');
  const cookie = res.cookies.find((c) => c.name === 'portique_session')!;
  t.ok(cookie, 'session cookie set');
  t.equal(cookie.httpOnly, true, 'HttpOnly');
  t.equal(cookie.sameSite, 'Lax', 'SameSite=Lax');
  t.equal(cookie.path, '/');
  t.notOk(cookie.domain, 'host-only (no Domain)');
  t.notOk(cookie.maxAge, 'a browser-session cookie');
  t.match(cookie.value, /^[A-Za-z0-9_-]{43}$/, '256 random bits');

  const home = await get(NORD, '/', cookie.value);
  t.equal(home.statusCode, 200);
  t.match(home.body, 'Camille Martin', 'the header shows the name');
  t.match(home.body, 'action="/deconnexion"', 'a logout form');
  t.match(home.body, 'href="/mes-sessions"');
  t.notMatch(home.body, 'Se connecter');
  t.equal(home.headers['cache-control'], 'private, no-store');
});

t.test('over https the cookie is Secure and __Host- prefixed', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/test/login',
    headers: { host: NORD, 'x-forwarded-proto': 'https' },
    payload: { login: verifiedLogin(nord.id) },
  });
  const cookie = res.cookies.find((c) => c.name.endsWith('portique_session'))!;
  t.equal(cookie.name, '__Host-portique_session');
  t.equal(cookie.secure, true, 'Secure');
  t.equal(cookie.path, '/');
  t.notOk(cookie.domain);
  const home = await app.inject({ method: 'GET', url: '/', headers: { host: NORD, 'x-forwarded-proto': 'https', cookie: `__Host-portique_session=${cookie.value}` } });
  t.match(home.body, 'Camille Martin');
});

t.test('logged out: the header offers "Se connecter" with the way back', async (t) => {
  const res = await get(NORD, '/aide');
  t.match(res.body, 'href="/connexion?retour=%2Faide"');
  t.match(res.body, 'Se connecter');
});

t.test("a session of tenant A presented on tenant B's host is refused", async (t) => {
  const res = await login(app, NORD, verifiedLogin(nord.id));
  const cookie = cookieOf(res)!;
  const onSud = await get(SUD, '/', cookie);
  t.equal(onSud.statusCode, 200);
  t.notMatch(onSud.body, 'Camille Martin', 'not logged in on sud');
  t.match(onSud.body, 'Se connecter');
  const cleared = onSud.cookies.find((c) => c.name === 'portique_session');
  t.equal(cleared?.value, '', 'the foreign cookie is cleared');

  const sessionsOnSud = await get(SUD, '/mes-sessions', cookie);
  t.equal(sessionsOnSud.statusCode, 303, 'a page needing login redirects to login');
  t.equal(sessionsOnSud.headers.location, '/connexion?retour=%2Fmes-sessions');

  const change = await app.inject({ method: 'POST', url: '/test/change', headers: { host: SUD, cookie: `portique_session=${cookie}` }, payload: {} });
  t.same(change.json(), { changed: true, person: null }, 'a state-changing call on sud sees no session');

  const stillOnNord = await get(NORD, '/', cookie);
  t.match(stillOnNord.body, 'Camille Martin', 'the session still works on its own tenant');
});

t.test('a login for tenant A posted on tenant B is refused without a session', async (t) => {
  const res = await login(app, SUD, verifiedLogin(nord.id));
  t.equal(res.statusCode, 403);
  t.notOk(cookieOf(res));
  t.match(res.body, 'Connexion impossible');
  const fromWrongIdp = await login(app, SUD, verifiedLogin(sud.id, { idpEntityId: 'https://idp.univ-nord.example/idp/shibboleth' }));
  t.equal(fromWrongIdp.statusCode, 403, "an IdP the tenant does not declare");
  t.notOk(cookieOf(fromWrongIdp));
});

t.test('a new session id at every login; the old one ends (no fixation)', async (t) => {
  const first = cookieOf(await login(app, NORD, verifiedLogin(nord.id)))!;
  const second = cookieOf(await login(app, NORD, verifiedLogin(nord.id), `portique_session=${first}`))!;
  t.not(second, first);
  t.notMatch((await get(NORD, '/', first)).body, 'Camille Martin', 'the old id is dead');
  t.match((await get(NORD, '/', second)).body, 'Camille Martin');

  // An id planted by an attacker before login is never adopted.
  const planted = 'A'.repeat(43);
  const afterPlant = cookieOf(await login(app, NORD, verifiedLogin(nord.id), `portique_session=${planted}`))!;
  t.not(afterPlant, planted);
});

t.test('Mes sessions lists the devices and ends the others', async (t) => {
  const person = verifiedLogin(nord.id, {
    attributes: { eduPersonPrincipalName: ['lea.dupont@univ-nord.example'], displayName: ['Léa Dupont'], eduPersonAffiliation: ['staff'] },
  });
  const firefox = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0';
  const safari = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';
  const chrome = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
  const desk = cookieOf(await login(app, NORD, person, undefined, firefox))!;
  const phone = cookieOf(await login(app, NORD, person, undefined, safari))!;
  const laptop = cookieOf(await login(app, NORD, person, undefined, chrome))!;
  const someoneElse = cookieOf(await login(app, NORD, verifiedLogin(nord.id)))!;

  const page = await get(NORD, '/mes-sessions', desk);
  t.equal(page.statusCode, 200);
  t.match(page.body, 'Firefox · Windows');
  t.match(page.body, 'Safari · iOS');
  t.match(page.body, 'Chrome · Linux');
  t.match(page.body, 'Cette session');
  t.notMatch(page.body, 'Camille', "nobody else's sessions");
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const handles = [...page.body.matchAll(/name="session" value="([0-9a-f]{64})"/g)].map((m) => m[1]!);
  t.equal(handles.length, 2, 'the two other sessions can be ended');

  const endOne = await app.inject({
    method: 'POST',
    url: '/mes-sessions/terminer',
    headers: { host: NORD, cookie: `portique_session=${desk}`, accept: 'text/html' },
    payload: { _csrf: csrf, session: handles[0] },
  });
  t.equal(endOne.statusCode, 303);
  const alive = await Promise.all([phone, laptop].map(async (c) => (await get(NORD, '/', c)).body.includes('Léa Dupont')));
  t.same(alive.filter(Boolean).length, 1, 'one other session ended');

  const endOthers = await app.inject({
    method: 'POST',
    url: '/mes-sessions/terminer-les-autres',
    headers: { host: NORD, cookie: `portique_session=${desk}`, accept: 'text/html' },
    payload: { _csrf: csrf },
  });
  t.equal(endOthers.statusCode, 303);
  for (const c of [phone, laptop]) t.notMatch((await get(NORD, '/', c)).body, 'Léa Dupont', 'other session ended');
  t.match((await get(NORD, '/', desk)).body, 'Léa Dupont', 'this session kept');
  t.match((await get(NORD, '/', someoneElse)).body, 'Camille Martin', "another person's session untouched");

  const malformed = await app.inject({
    method: 'POST',
    url: '/mes-sessions/terminer',
    headers: { host: NORD, cookie: `portique_session=${desk}`, accept: 'text/html' },
    payload: { _csrf: csrf, session: 'portique:tenant:*' },
  });
  t.equal(malformed.statusCode, 400, 'a malformed handle is refused by the schema');

  // Someone else who learnt a handle cannot end that session.
  const othersPage = await get(NORD, '/mes-sessions', someoneElse);
  const othersCsrf = /name="_csrf" value="([^"]+)"/.exec(othersPage.body)![1]!;
  const deskHandle = createHash('sha256').update(desk).digest('hex');
  const attack = await app.inject({
    method: 'POST',
    url: '/mes-sessions/terminer',
    headers: { host: NORD, cookie: `portique_session=${someoneElse}`, accept: 'text/html' },
    payload: { _csrf: othersCsrf, session: deskHandle },
  });
  t.equal(attack.statusCode, 303);
  t.match((await get(NORD, '/', desk)).body, 'Léa Dupont', "another person's session cannot be ended");
});

t.test('logout ends the local session', async (t) => {
  const cookie = cookieOf(await login(app, NORD, verifiedLogin(nord.id)))!;
  const page = await get(NORD, '/', cookie);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  const headers = { host: NORD, cookie: `portique_session=${cookie}`, accept: 'text/html' };
  let res = await app.inject({ method: 'POST', url: '/deconnexion', headers, payload: { _csrf: csrf } });
  if (res.statusCode === 307) {
    // SAML routes are served: the same POST goes on to single logout (round-trip.test.ts).
    t.equal(res.headers.location, '/saml/deconnexion');
    res = await app.inject({ method: 'POST', url: '/saml/deconnexion', headers, payload: { _csrf: csrf } });
  } else {
    t.equal(res.cookies.find((c) => c.name === 'portique_session')?.value, '', 'cookie cleared');
  }
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/');
  t.notMatch((await get(NORD, '/', cookie)).body, 'Camille Martin', 'session gone server-side');
});
