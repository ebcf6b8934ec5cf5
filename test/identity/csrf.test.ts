// CSRF, attacked: a state-changing request that rides a live session without its token is
// refused with 403 and changes nothing.
import t from 'tap';
import { startPortique } from '../helpers/app.js';
import { cookieOf, identityTenantsDir, login, loginRoute, verifiedLogin } from './helpers.js';

const portique = await startPortique({ tenantsDir: await identityTenantsDir(), beforeReady: loginRoute });
t.teardown(() => portique.close());
const { app, registry } = portique;
const nord = registry.bySlug('nord')!;
const NORD = 'nord.localhost';

async function session(userAgent?: string) {
  const cookie = cookieOf(await login(app, NORD, verifiedLogin(nord.id), undefined, userAgent))!;
  const page = await app.inject({ method: 'GET', url: '/', headers: { host: NORD, cookie: `portique_session=${cookie}` } });
  const token = /name="_csrf" value="([^"]+)"/.exec(page.body)![1]!;
  t.match(page.body, `<meta name="csrf-token" content="${token}"`);
  return { cookie, token };
}
const alive = async (cookie: string) =>
  (await app.inject({ method: 'GET', url: '/', headers: { host: NORD, cookie: `portique_session=${cookie}` } })).body.includes('Camille Martin');
const post = (url: string, cookie: string, payload: Record<string, unknown>, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, headers: { host: NORD, cookie: `portique_session=${cookie}`, accept: 'text/html', ...headers }, payload });

t.test('logout without a token, or with a wrong one, is refused and the session lives on', async (t) => {
  const { cookie } = await session();
  for (const [what, payload] of [
    ['missing', {}],
    ['empty', { _csrf: '' }],
    ['wrong', { _csrf: 'x'.repeat(43) }],
    ['not a string', { _csrf: ['a', 'b'] }],
  ] as const) {
    const res = await post('/deconnexion', cookie, payload);
    t.equal(res.statusCode, 403, `${what} token: 403`);
    t.match(res.body, 'jeton de sécurité', 'a branded page explains');
    t.match(res.body, 'Université du Nord');
    t.notOk(res.cookies.find((c) => c.name === 'portique_session'), 'cookie not cleared');
  }
  t.ok(await alive(cookie), 'still logged in');
});

t.test("another session's token does not work", async (t) => {
  const victim = await session();
  const attacker = await session();
  const res = await post('/deconnexion', victim.cookie, { _csrf: attacker.token });
  t.equal(res.statusCode, 403);
  t.ok(await alive(victim.cookie));
});

t.test('ending the other sessions without a token changes nothing', async (t) => {
  const me = await session('Firefox/1 Windows');
  const other = await session('Chrome/1 Linux');
  const res = await post('/mes-sessions/terminer-les-autres', me.cookie, {});
  t.equal(res.statusCode, 403);
  t.ok(await alive(other.cookie), 'the other session was not ended');
  const ok = await post('/mes-sessions/terminer-les-autres', me.cookie, { _csrf: me.token });
  t.equal(ok.statusCode, 303, 'with the token it works');
});

t.test('API calls: the token in x-csrf-token; JSON errors', async (t) => {
  const { cookie, token } = await session();
  const refused = await app.inject({ method: 'POST', url: '/test/change', headers: { host: NORD, cookie: `portique_session=${cookie}` }, payload: { a: 1 } });
  t.equal(refused.statusCode, 403);
  t.equal(refused.json().error.code, 'forbidden');
  const accepted = await app.inject({
    method: 'POST',
    url: '/test/change',
    headers: { host: NORD, cookie: `portique_session=${cookie}`, 'x-csrf-token': token },
    payload: { a: 1 },
  });
  t.equal(accepted.statusCode, 200);
  t.equal(accepted.json().changed, true);
  for (const method of ['PUT', 'PATCH', 'DELETE'] as const) {
    const res = await app.inject({ method, url: '/test/change', headers: { host: NORD, cookie: `portique_session=${cookie}` } });
    t.equal(res.statusCode, 403, `${method} without a token: 403`);
  }
});

t.test('a form post with the right token passes', async (t) => {
  const { cookie, token } = await session();
  let res = await post('/deconnexion', cookie, { _csrf: token });
  if (res.statusCode === 307) res = await post(res.headers.location as string, cookie, { _csrf: token });
  t.equal(res.statusCode, 303);
  t.notOk(await alive(cookie));
});

t.test('without a session there is no authority to ride: the request is anonymous', async (t) => {
  const res = await app.inject({ method: 'POST', url: '/test/change', headers: { host: NORD }, payload: {} });
  t.same(res.json(), { changed: true, person: null });
  const stale = await app.inject({ method: 'POST', url: '/test/change', headers: { host: NORD, cookie: `portique_session=${'Z'.repeat(43)}` }, payload: {} });
  t.same(stale.json(), { changed: true, person: null }, 'a dead cookie gives no person');
});
