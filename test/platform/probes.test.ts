// /healthz, /readyz and /metrics against the real services, including one that goes down.
import t from 'tap';
import { startPortique } from '../helpers/app.js';

const portique = await startPortique({ env: { METRICS_TOKEN: 'sesame' } });
t.teardown(() => portique.close());
const { app } = portique;

t.test('healthz answers on any host', async (t) => {
  for (const host of ['nord.localhost', 'anything.example', '10.0.0.1:3000']) {
    const res = await app.inject({ url: '/healthz', headers: { host } });
    t.equal(res.statusCode, 200);
    t.same(res.json(), { status: 'ok' });
  }
});

t.test('readyz: every shared service up', async (t) => {
  const res = await app.inject({ url: '/readyz', headers: { host: 'probe' } });
  t.equal(res.statusCode, 200);
  t.same(res.json().services, { postgres: 'up', redis: 'up', s3: 'up', smtp: 'up', 'virus scan': 'off' }, 'no CLAMD_ADDRESS: the scan says it is off');
  t.equal(res.json().degraded, undefined);
});

t.test('metrics: refused without the token, Prometheus text with it, labelled by tenant and route', async (t) => {
  await app.inject({ url: '/', headers: { host: 'nord.localhost' } });
  await app.inject({ url: '/aide', headers: { host: 'sud.localhost' } });
  await app.inject({ url: '/nope', headers: { host: 'sud.localhost' } });
  const denied = await app.inject({ url: '/metrics', headers: { host: 'nord.localhost' } });
  t.equal(denied.statusCode, 403);
  const res = await app.inject({ url: '/metrics', headers: { host: 'probe', authorization: 'Bearer sesame' } });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /text\/plain/);
  t.match(res.body, /portique_http_requests_total\{tenant="nord",route="\/",method="GET",status="200"\} 1/);
  t.match(res.body, /portique_http_requests_total\{tenant="sud",route="\/aide",method="GET",status="200"\} 1/);
  t.match(res.body, /portique_http_requests_total\{tenant="sud",route="unmatched",method="GET",status="404"\} 1/, 'unknown paths do not explode cardinality');
  t.match(res.body, /portique_http_request_duration_seconds_bucket\{le="0.005",tenant="nord",route="\/",method="GET"\}/);
});

t.test('readyz names what is down: SMTP, then S3', async (t) => {
  await portique.smtp.close();
  let res = await app.inject({ url: '/readyz', headers: { host: 'probe' } });
  t.equal(res.statusCode, 503);
  t.same(res.json().down, ['smtp']);
  t.match(res.json().services.smtp, /^down: /);
  t.equal(res.json().services.postgres, 'up');

  await portique.s3.close();
  res = await app.inject({ url: '/readyz', headers: { host: 'probe' } });
  t.equal(res.statusCode, 503);
  t.same(res.json().down.sort(), ['s3', 'smtp']);
  t.equal(res.json().status, 'unavailable');

  const page = await app.inject({ url: '/', headers: { host: 'nord.localhost' } });
  t.equal(page.statusCode, 200, 'pages that do not need the missing services still work');
});
