// Probes for the orchestrator and Prometheus, answered on any host: /healthz (the process is
// alive), /readyz (every shared service answers), /metrics (Prometheus text).
import fp from 'fastify-plugin';
import type { Metrics } from './metrics.js';

export type ReadinessCheck = () => Promise<void>;

export interface ProbesOptions {
  checks: Record<string, ReadinessCheck>;
  metrics: Metrics;
  /** Bearer token for /metrics; without one, only loopback callers may read it. */
  metricsToken?: string | undefined;
}

const CHECK_TIMEOUT_MS = 3000;

function withTimeout(check: ReadinessCheck): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
    check().then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

export const probesPlugin = fp<ProbesOptions>(
  async (app, { checks, metrics, metricsToken }) => {
    app.get('/healthz', { config: { tenant: false } }, async () => ({ status: 'ok' }));

    app.get('/readyz', { config: { tenant: false } }, async (request, reply) => {
      const names = Object.keys(checks);
      const results = await Promise.allSettled(names.map((name) => withTimeout(checks[name]!)));
      const services = Object.fromEntries(
        names.map((name, i) => {
          const r = results[i]!;
          return [name, r.status === 'fulfilled' ? 'up' : `down: ${(r.reason as Error)?.message ?? r.reason}`];
        }),
      );
      const down = names.filter((_, i) => results[i]!.status === 'rejected');
      if (down.length > 0) request.log.warn({ down }, 'not ready');
      return reply.status(down.length ? 503 : 200).send({ status: down.length ? 'unavailable' : 'ready', down, services });
    });

    app.get('/metrics', { config: { tenant: false } }, async (request, reply) => {
      const allowed = metricsToken
        ? request.headers.authorization === `Bearer ${metricsToken}`
        : ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(request.socket.remoteAddress ?? '');
      if (!allowed) return reply.status(403).send({ error: { code: 'forbidden', message: 'Metrics are not public.', requestId: request.id } });
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });

    app.addHook('onResponse', async (request, reply) => {
      const labels = {
        tenant: request.tenant?.slug ?? 'none',
        route: request.routeOptions.url ?? 'unmatched',
        method: request.method,
      };
      metrics.httpRequests.inc({ ...labels, status: String(reply.statusCode) });
      metrics.httpDuration.observe(labels, reply.elapsedTime / 1000);
    });
  },
  { name: 'portique-probes' },
);
