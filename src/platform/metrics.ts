// Prometheus metrics (prom-client). One registry per app instance, so tests and several apps in
// one process do not share counters. Labels carry the tenant slug and the route pattern, never a
// raw URL, which keeps cardinality bounded.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'tenant' | 'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'tenant' | 'route' | 'method'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'portique_' });
  return {
    registry,
    httpRequests: new Counter({
      name: 'portique_http_requests_total',
      help: 'HTTP requests answered, by tenant, route pattern, method and status.',
      labelNames: ['tenant', 'route', 'method', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'portique_http_request_duration_seconds',
      help: 'HTTP request latency, by tenant, route pattern and method.',
      labelNames: ['tenant', 'route', 'method'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
