// The authorisation helper: not logged in -> login (pages) or 401 (API); missing role -> 403.
import t from 'tap';
import type { FastifyInstance } from 'fastify';
import { requireLogin, requireRole } from '../../src/identity/authorize.js';
import { startPortique } from '../helpers/app.js';
import { ADMIN_ENTITLEMENT, cookieOf, identityTenantsDir, login, loginRoute, verifiedLogin } from './helpers.js';

const portique = await startPortique({
  tenantsDir: await identityTenantsDir(),
  beforeReady: (app: FastifyInstance) => {
    loginRoute(app);
    app.get('/test/admin', { preHandler: requireRole('admin') }, async () => 'admin page');
    app.get('/test/enseignement', { preHandler: requireRole('teacher', 'staff') }, async () => 'teaching page');
    app.get('/api/test/moi', { preHandler: requireLogin }, async (request) => ({ person: request.session!.personId, roles: request.session!.roles }));
  },
});
t.teardown(() => portique.close());
const { app, registry } = portique;
const nord = registry.bySlug('nord')!;
const NORD = 'nord.localhost';

const as = async (attributes: Record<string, string[]>) =>
  cookieOf(await login(app, NORD, verifiedLogin(nord.id, { attributes: { eduPersonPrincipalName: [`${Math.random()}@univ-nord.example`], displayName: ['Dominique Test'], ...attributes } })))!;
const get = (url: string, cookie?: string, accept = 'text/html') =>
  app.inject({ method: 'GET', url, headers: { host: NORD, accept, ...(cookie ? { cookie: `portique_session=${cookie}` } : {}) } });

t.test('not logged in: a page redirects to login with the way back', async (t) => {
  const res = await get('/test/admin?onglet=2');
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/connexion?retour=${encodeURIComponent('/test/admin?onglet=2')}`);
  const mine = await get('/mes-sessions');
  t.equal(mine.headers.location, '/connexion?retour=%2Fmes-sessions');
});

t.test('not logged in: an API call gets 401 JSON', async (t) => {
  const res = await get('/api/test/moi', undefined, 'application/json');
  t.equal(res.statusCode, 401);
  t.equal(res.json().error.code, 'unauthenticated');
});

t.test('logged in without the role: 403 with a clear branded page', async (t) => {
  const student = await as({ eduPersonAffiliation: ['student'] });
  const res = await get('/test/admin', student);
  t.equal(res.statusCode, 403);
  t.match(res.body, "administrateurs de l'établissement", 'names who the page is for');
  t.match(res.body, 'Université du Nord', 'branded');
  t.match(res.body, 'Dominique Test', 'still shows who is logged in');
  const teaching = await get('/test/enseignement', student);
  t.equal(teaching.statusCode, 403);
  t.match(teaching.body, 'enseignants, personnels');
  const api = await get('/api/test/moi', student, 'application/json');
  t.same(api.json().roles, ['student']);
});

t.test('with the role: served', async (t) => {
  const admin = await as({ eduPersonAffiliation: ['staff'], eduPersonEntitlement: [ADMIN_ENTITLEMENT] });
  t.equal((await get('/test/admin', admin)).statusCode, 200);
  t.equal((await get('/test/enseignement', admin)).statusCode, 200, 'staff is one of the roles');
  const teacher = await as({ eduPersonAffiliation: ['faculty'] });
  t.equal((await get('/test/enseignement', teacher)).statusCode, 200);
  t.equal((await get('/test/admin', teacher)).statusCode, 403);
});

t.test('roles come from the session of this tenant only', async (t) => {
  const admin = await as({ eduPersonEntitlement: [ADMIN_ENTITLEMENT] });
  const onSud = await app.inject({ method: 'GET', url: '/test/admin', headers: { host: 'sud.localhost', accept: 'text/html', cookie: `portique_session=${admin}` } });
  t.equal(onSud.statusCode, 303, "nord's admin is nobody on sud");
});
