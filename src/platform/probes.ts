// Probes for the orchestrator and Prometheus, answered on any host: /healthz (the process is
// alive), /readyz (every shared service answers), /metrics (Prometheus text).
import fp from 'fastify-plugin';
import type { Metrics } from './metrics.js';

/** Resolves when the service answers (with a word to show instead of "up", e.g. "off"). */
export type ReadinessCheck = () => Promise<void | string>;

export interface ProbesOptions {
  checks: Record<string, ReadinessCheck>;
  /** Services shown, and named in `degraded` when down, without making the replica unready (serving does not need them). */
  optional?: Record<string, ReadinessCheck>;
  metrics: Metrics;
  /** Bearer token for /metrics; without one, only loopback callers may read it. */
  metricsToken?: string | undefined;
}

const CHECK_TIMEOUT_MS = 3000;

function withTimeout(check: ReadinessCheck): Promise<void | string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), CHECK_TIMEOUT_MS);
    check().then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

export const probesPlugin = fp<ProbesOptions>(
  async (app, { checks, optional = {}, metrics, metricsToken }) => {
    app.get('/healthz', { config: { tenant: false } }, async () => ({ status: 'ok' }));

    app.get('/readyz', { config: { tenant: false } }, async (request, reply) => {
      const all = { ...checks, ...optional };
      const names = Object.keys(all);
      const results = await Promise.allSettled(names.map((name) => withTimeout(all[name]!)));
      const services = Object.fromEntries(
        names.map((name, i) => {
          const r = results[i]!;
          return [name, r.status === 'fulfilled' ? (r.value ?? 'up') : `down: ${(r.reason as Error)?.message ?? r.reason}`];
        }),
      );
      const failed = names.filter((_, i) => results[i]!.status === 'rejected');
      const down = failed.filter((name) => name in checks);
      const degraded = failed.filter((name) => !(name in checks));
      if (down.length > 0) request.log.warn({ down }, 'not ready');
      if (degraded.length > 0) request.log.warn({ degraded }, 'degraded');
      return reply.status(down.length ? 503 : 200).send({ status: down.length ? 'unavailable' : 'ready', down, ...(degraded.length ? { degraded } : {}), services });
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
