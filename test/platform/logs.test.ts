// Logs: one JSON line per event, each with the request id and, on tenant routes, the tenant;
// never a cookie, a token or an internal error detail in the response.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { startPortique } from '../helpers/app.js';

const stream = new PassThrough();
const lines: Record<string, unknown>[] = [];
stream.on('data', (chunk: Buffer) => {
  for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
});

const portique = await startPortique({
  env: { LOG_LEVEL: 'info' },
  logStream: stream,
  beforeReady(app) {
    app.get('/test/crash', async (request) => {
      request.log.info('about to fail');
      throw new Error('boom');
    });
  },
});
t.teardown(() => portique.close());

t.test('every line of a tenant request carries the request id and the tenant', async (t) => {
  lines.length = 0;
  const res = await portique.app.inject({ url: '/test/crash', headers: { host: 'sud.localhost', cookie: 'portique_session=very-secret', authorization: 'Bearer sesame' } });
  t.equal(res.statusCode, 500);
  await new Promise((r) => setImmediate(r));
  const requestId = res.headers['x-request-id'];
  const mine = lines.filter((l) => l.reqId === requestId);
  t.ok(mine.length >= 3, `several lines for the request (${mine.length})`);
  for (const line of mine) {
    t.equal(line.tenant, 'sud', `"${String(line.msg)}" names the tenant`);
    t.type(line.time, 'number');
  }
  t.ok(mine.some((l) => l.msg === 'unhandled error' && (l.err as { message: string }).message === 'boom'), 'the error is logged for us');
  t.ok(mine.some((l) => l.msg === 'request completed' && l.status === 500 && l.route === '/test/crash'));
  t.notMatch(JSON.stringify(lines), /very-secret|sesame/, 'no cookie or token in the logs');
});

t.test('platform routes log the request id without a tenant', async (t) => {
  lines.length = 0;
  const res = await portique.app.inject({ url: '/healthz', headers: { host: 'probe' } });
  await new Promise((r) => setImmediate(r));
  const line = lines.find((l) => l.reqId === res.headers['x-request-id']);
  t.equal(line?.msg, 'request completed');
  t.equal(line?.tenant, undefined);
});
