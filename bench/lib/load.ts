// HTTP load from autocannon in a child process, so the load generator does not share the
// server's event loop (on 2 cores it still competes for CPU with the server and PostgreSQL).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon');

export interface LoadOptions {
  host: string;
  connections: number;
  seconds: number;
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Socket errors, timeouts and non-2xx answers: any of them makes the run invalid. */
  failures: number;
}

interface AutocannonJson {
  duration: number;
  requests: { total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

export async function load(url: string, { host, connections, seconds }: LoadOptions): Promise<LoadResult> {
  const args = [AUTOCANNON, '--json', '-c', String(connections), '-d', String(seconds), '-H', `host=${host}`, url];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('close', resolve));
  if (code !== 0) throw new Error(`autocannon exited with ${code} for ${url}`);
  const json = JSON.parse(out.trim().split('\n').pop()!) as AutocannonJson;
  return {
    requestsPerSecond: json.requests.total / json.duration,
    p50Ms: json.latency.p50,
    p99Ms: json.latency.p99,
    requests: json.requests.total,
    failures: json.errors + json.timeouts + json.non2xx,
  };
}
