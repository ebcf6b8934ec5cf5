// The one error handler: domain errors keep their status and message, anything else is a 500
// that shows no internals; pages get the branded HTML page, API callers JSON; both carry the
// request id.
import t from 'tap';
import { ForbiddenError, NotFoundError, PayloadTooLargeError } from '../../src/platform/errors.js';
import { startPortique } from '../helpers/app.js';

const portique = await startPortique({
  beforeReady(app) {
    app.get('/test/forbidden', async () => {
      throw new ForbiddenError('Réservé aux administrateurs.');
    });
    app.get('/test/missing', async () => {
      throw new NotFoundError();
    });
    app.get('/test/crash', async () => {
      throw new Error('connection string postgres://secret@db leaked?');
    });
    app.get('/api/test/crash', async () => {
      throw new TypeError('internal detail at /srv/portique/src/x.ts:42');
    });
    app.post('/api/test/echo', { schema: { body: { type: 'object', required: ['name'], properties: { name: { type: 'string', maxLength: 5 } } } } }, async (request) => request.body);
    app.get('/test/large', async () => {
      throw new PayloadTooLargeError('Le fichier dépasse 2 Go.');
    });
  },
});
t.teardown(() => portique.close());
const { app } = portique;
const html = { host: 'nord.localhost', accept: 'text/html' };

t.test('a domain error keeps its status and message, on a branded page with the request id', async (t) => {
  const res = await app.inject({ url: '/test/forbidden', headers: html });
  t.equal(res.statusCode, 403);
  t.match(res.headers['content-type'], /text\/html/);
  t.match(res.body, 'Réservé aux administrateurs.');
  t.match(res.body, 'Université du Nord', 'branded');
  t.match(res.body, `Référence de la demande : <code>${res.headers['x-request-id']}</code>`);
  t.equal((await app.inject({ url: '/test/large', headers: html })).statusCode, 413);
  t.equal((await app.inject({ url: '/test/missing', headers: html })).statusCode, 404);
});

t.test('a crash is a 500 that shows no internals, HTML and JSON alike', async (t) => {
  const page = await app.inject({ url: '/test/crash', headers: html });
  t.equal(page.statusCode, 500);
  t.notMatch(page.body, /secret|postgres:|stack|at /);
  t.match(page.body, 'Une erreur inattendue est survenue');
  const api = await app.inject({ url: '/api/test/crash', headers: { host: 'nord.localhost' } });
  t.equal(api.statusCode, 500);
  t.same(Object.keys(api.json().error).sort(), ['code', 'message', 'requestId']);
  t.notMatch(api.body, /internal detail|\/srv|x\.ts/);
  t.equal(api.json().error.requestId, api.headers['x-request-id'], 'the same id as the response header');
});

t.test('bad input gets a clear 4xx in JSON', async (t) => {
  const invalid = await app.inject({ method: 'POST', url: '/api/test/echo', headers: { host: 'nord.localhost' }, payload: { name: 'far too long' } });
  t.equal(invalid.statusCode, 400);
  t.match(invalid.json().error.message, /Requête invalide : body\/name must NOT have more than 5 characters/);
  const malformed = await app.inject({ method: 'POST', url: '/api/test/echo', headers: { host: 'nord.localhost', 'content-type': 'application/json' }, payload: '{"name": ' });
  t.equal(malformed.statusCode, 400);
  t.ok(malformed.json().error.message);
  const huge = await app.inject({ method: 'POST', url: '/api/test/echo', headers: { host: 'nord.localhost', 'content-type': 'application/json' }, payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }) });
  t.equal(huge.statusCode, 413);
  const wrongType = await app.inject({ method: 'POST', url: '/api/test/echo', headers: { host: 'nord.localhost', 'content-type': 'application/x-unknown' }, payload: 'x' });
  t.equal(wrongType.statusCode, 415);
});

t.test('an unknown page is a branded 404 in the person\'s language', async (t) => {
  const res = await app.inject({ url: '/nulle-part', headers: { ...html, host: 'sud.localhost' } });
  t.equal(res.statusCode, 404);
  t.match(res.body, "Cette page n'existe pas.");
  t.match(res.body, 'Université du Sud');
});

t.test('pages carry security headers', async (t) => {
  const res = await app.inject({ url: '/', headers: html });
  t.match(res.headers['content-security-policy'], /default-src 'self'/);
  t.match(res.headers['content-security-policy'], /frame-ancestors 'none'/);
  t.equal(res.headers['x-content-type-options'], 'nosniff');
});
