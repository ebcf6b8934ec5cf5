// Redis away: a request carrying a session cookie gets a clear 503 at once, not a 500 and not a
// hang; pages without a session still work; once Redis is back, the session is still there.
import t from 'tap';
import { startPortique } from '../helpers/app.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { cookieOf, identityTenantsDir, login, loginRoute, verifiedLogin } from './helpers.js';

const redis = await startRedisServer();
t.teardown(() => redis.close());
const portique = await startPortique({ tenantsDir: await identityTenantsDir(), env: { REDIS_URL: redis.url }, beforeReady: (app) => loginRoute(app) });
t.teardown(() => portique.close());
const { app } = portique;
const nord = portique.registry.bySlug('nord')!;

t.test('a session cookie while Redis is down: 503 at once, and the session survives', async (t) => {
  const res = await login(app, 'nord.localhost', verifiedLogin(nord.id));
  t.equal(res.statusCode, 303, `logged in (${res.statusCode} ${res.body.slice(0, 200)})`);
  const cookie = `portique_session=${cookieOf(res)}`;
  const page = () => app.inject({ url: '/aide', headers: { host: 'nord.localhost', cookie, accept: 'text/html' } });
  t.match((await page()).body, 'Camille', 'the session works');

  await redis.kill();
  const started = Date.now();
  const down = await page();
  t.equal(down.statusCode, 503, 'a clear 503');
  t.match(down.body, 'Le service de connexion est momentanément indisponible');
  t.ok(Date.now() - started < 5000, 'answered at once, not after a long hang');
  const anonymous = await app.inject({ url: '/aide', headers: { host: 'nord.localhost', accept: 'text/html' } });
  t.equal(anonymous.statusCode, 200, 'pages without a session still work');

  await redis.start();
  let back = await page();
  for (let i = 0; i < 50 && back.statusCode !== 200; i++) {
    await new Promise((r) => setTimeout(r, 100));
    back = await page();
  }
  t.equal(back.statusCode, 200, 'back once Redis is back');
  t.match(back.body, 'Camille', 'the session survived (Redis keeps an append-only file)');
});
