// Host -> tenant: known hosts with case and port variants, unknown hosts get a 404 and never a
// default tenant, a suspended tenant shows its maintenance page, and every replica follows a
// change of the registry.
import t from 'tap';
import { normaliseHost } from '../../src/tenancy/registry.js';
import { createTenantRegistry } from '../../src/tenancy/registry.js';
import { startPortique } from '../helpers/app.js';

const portique = await startPortique();
t.teardown(() => portique.close());
const { app } = portique;

const get = (host: string, url = '/', headers: Record<string, string> = {}) =>
  app.inject({ method: 'GET', url, headers: { host, accept: 'text/html', ...headers } });

t.test('normaliseHost', async (t) => {
  t.equal(normaliseHost('Nord.LocalHost:3000'), 'nord.localhost');
  t.equal(normaliseHost('nord.localhost.'), 'nord.localhost');
  t.equal(normaliseHost('[::1]:3000'), undefined);
  t.equal(normaliseHost('nord.localhost\r\nx: y'), undefined);
  t.equal(normaliseHost(''), undefined);
  t.equal(normaliseHost(undefined), undefined);
});

t.test('each demo host shows its own university', async (t) => {
  for (const [host, name, colour] of [
    ['nord.localhost', 'Université du Nord', '#1f3a93'],
    ['NORD.localhost:3000', 'Université du Nord', '#1f3a93'],
    ['sud.localhost:8080', 'Université du Sud', '#b3261e'],
  ] as const) {
    const res = await get(host);
    t.equal(res.statusCode, 200, host);
    t.match(res.headers['content-type'], /text\/html/);
    t.match(res.body, `<span class="brand-name">${name}</span>`);
    t.match(res.body, `--brand-primary:${colour}`);
    t.notMatch(res.body, name === 'Université du Nord' ? 'Université du Sud' : 'Université du Nord', 'nothing of the other tenant');
  }
});

t.test('an unknown host gets a 404, never a default tenant', async (t) => {
  for (const host of ['inconnu.localhost', 'localhost:3000', '127.0.0.1', 'nord.localhost.evil.example', 'xn--nord-localhost', '[::1]:3000']) {
    const res = await get(host);
    t.equal(res.statusCode, 404, host);
    t.match(res.body, 'Établissement inconnu');
    t.notMatch(res.body, /Université du (Nord|Sud)/);
  }
  const json = await get('inconnu.localhost', '/', { accept: 'application/json' });
  t.equal(json.statusCode, 404);
  t.equal(json.json().error.code, 'unknown_host');
  t.ok(json.json().error.requestId);
  const asset = await get('inconnu.localhost', '/branding/logo.svg');
  t.equal(asset.statusCode, 404, 'no branding leaks through an unknown host');
});

t.test('a missing Host header is refused', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/', headers: { host: '' } });
  t.ok(res.statusCode >= 400 && res.statusCode < 500, `got ${res.statusCode}`);
});

t.test('branding files are served per tenant, with caching and no active content', async (t) => {
  const nord = await get('nord.localhost', '/branding/logo.svg');
  const sud = await get('sud.localhost', '/branding/logo.svg');
  t.equal(nord.statusCode, 200);
  t.equal(nord.headers['content-type'], 'image/svg+xml');
  t.match(nord.body, 'Université du Nord');
  t.match(sud.body, 'Université du Sud');
  t.match(nord.headers['content-security-policy'], /sandbox/);
  t.equal(nord.headers['x-content-type-options'], 'nosniff');
  const again = await get('nord.localhost', '/branding/logo.svg', { 'if-none-match': String(nord.headers.etag) });
  t.equal(again.statusCode, 304);
  t.equal((await get('nord.localhost', '/branding/absent.svg')).statusCode, 404);
  t.equal((await get('nord.localhost', '/branding/..%2F..%2Fetc%2Fpasswd')).statusCode, 404);
});

t.test('a suspended tenant shows its maintenance page, and only that tenant', async (t) => {
  // A second registry, as another replica would have, must follow the change too.
  const replica = await createTenantRegistry(portique.database.app);
  t.teardown(() => replica.close());
  const nordId = portique.registry.bySlug('nord')!.id;
  const setStatus = (status: 'active' | 'suspended') =>
    portique.database.app.db.updateTable('tenants').set({ status }).where('id', '=', nordId).execute();
  const waitFor = async (check: () => boolean) => {
    for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
    return check();
  };

  await setStatus('suspended');
  t.ok(await waitFor(() => portique.registry.bySlug('nord')?.status === 'suspended'), 'this replica saw the suspension');
  t.ok(await waitFor(() => replica.bySlug('nord')?.status === 'suspended'), 'another replica saw it too');
  const page = await get('nord.localhost', '/');
  t.equal(page.statusCode, 503);
  t.match(page.body, 'Service en maintenance');
  t.match(page.body, 'Université du Nord');
  t.ok(page.headers['retry-after']);
  t.equal((await get('nord.localhost', '/aide')).statusCode, 503, 'every page');
  t.equal((await get('nord.localhost', '/branding/logo.svg')).statusCode, 200, 'its logo still shows on the maintenance page');
  t.equal((await get('sud.localhost', '/')).statusCode, 200, 'the other tenant is unaffected');
  const api = await get('nord.localhost', '/api/anything', { accept: 'application/json' });
  t.equal(api.statusCode, 503);
  t.equal(api.json().error.code, 'suspended');

  await setStatus('active');
  t.ok(await waitFor(() => portique.registry.bySlug('nord')?.status === 'active'));
  t.equal((await get('nord.localhost', '/')).statusCode, 200, 'back once resumed');
});

t.test('the language: tenant default, then the person\'s choice', async (t) => {
  const fr = await get('nord.localhost');
  t.match(fr.body, '<html lang="fr">');
  const sw = await get('nord.localhost', '/langue/en?retour=/aide');
  t.equal(sw.statusCode, 303);
  t.equal(sw.headers.location, '/aide');
  const cookie = String(sw.headers['set-cookie']).split(';')[0]!;
  const en = await get('nord.localhost', '/aide', { cookie });
  t.match(en.body, '<html lang="en">');
  t.match(en.body, 'Need help?');
  for (const evil of ['//evil.example/', 'https://evil.example/', '/\\evil.example', 'javascript:alert(1)']) {
    const res = await get('nord.localhost', `/langue/en?retour=${encodeURIComponent(evil)}`);
    t.equal(res.headers.location, '/', `no open redirect to ${evil}`);
  }
  t.equal((await get('nord.localhost', '/langue/de')).statusCode, 404);
});
