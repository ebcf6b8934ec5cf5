// `make bench BENCH=login`: complete SAML logins per second (ACS validation of a signed response,
// then the real completeLogin: provisioning, roles, a new Redis session), against a bare route
// in the same run, both through the full app (buildApp, in-process inject, no network).
// Responses are signed by a test IdP before the clock starts: the IdP's cost is not ours.
// Environment: BENCH_LOGINS (2000), BENCH_CONCURRENCY (8).
import '../test/setup/global.js';
import { buildResponse } from '../infra/dev-idp/idp.js';
import { startSamlHarness } from '../test/identity/saml-harness.js';
import { printFigures, writeResults, type Figures } from './lib/results.js';

const LOGINS = Number(process.env.BENCH_LOGINS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const HOST = 'nord.localhost';

// Every login is a first login (a new person): room for all of them in the tenant's quota.
const h = await startSamlHarness({ realSessions: true, people: LOGINS + 1000 });
try {
  const sp = h.sp('nord');
  console.log(`preparing ${LOGINS} signed responses...`);
  const payloads: string[] = [];
  for (let i = 0; i < LOGINS; i++) {
    const { id } = await h.startLogin(HOST);
    payloads.push(
      await buildResponse(h.idpNord, {
        issuer: h.idpNord.entityId, audience: sp.entityId, recipient: sp.acsUrl, destination: sp.acsUrl, inResponseTo: id,
        nameId: `nid-${i}`, nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
        attributes: [
          { name: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.6', values: [`user${i}@univ-nord.example`] },
          { name: 'urn:oid:1.3.6.1.4.1.5923.1.1.1.1', values: ['student', 'member'] },
          { name: 'urn:oid:2.16.840.1.113730.3.1.241', values: [`Étudiant ${i}`] },
        ],
      }),
    );
  }

  // Also this process's CPU time per operation: on a shared machine the wall-clock rate moves
  // with the neighbours' load, the CPU cost much less (PostgreSQL's and Redis's are not in it).
  let cpuMsEach = 0;
  async function run(count: number, one: (i: number) => Promise<void>): Promise<number> {
    let next = 0;
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await one(next++);
    }));
    const used = process.cpuUsage(cpu);
    cpuMsEach = (used.user + used.system) / 1000 / count;
    return count / (Number(process.hrtime.bigint() - started) / 1e9);
  }

  const bare = await run(LOGINS, async () => {
    const res = await h.app.inject({ url: '/healthz', headers: { host: HOST } });
    if (res.statusCode !== 200) throw new Error(`bare route answered ${res.statusCode}`);
  });
  let failures = 0;
  const logins = await run(LOGINS, async (i) => {
    const res = await h.postAcs(HOST, payloads[i]!);
    if (res.statusCode !== 303 || !String(res.headers['set-cookie'] ?? '').length) failures++;
  });
  if (failures > 0) throw new Error(`${failures} logins did not open a session`);
  const loginCpuMs = cpuMsEach;

  const figures: Figures = {
    'logins-per-second': { value: Math.round(logins), unit: 'logins/s', target: 200, better: 'higher' },
    'bare-route-per-second': { value: Math.round(bare), unit: 'req/s', better: 'higher' },
    'login-cost-vs-bare': { value: Math.round((bare / logins) * 10) / 10, unit: 'x', better: 'lower' },
    'login-cpu-ms-in-process': { value: Math.round(loginCpuMs * 100) / 100, unit: 'ms', better: 'lower' },
    'morning-rush-30000-logins': { value: Math.round(30000 / logins), unit: 's', target: 900, better: 'lower' },
  };
  printFigures(figures);
  console.log(`30,000 logins would take ${Math.round(30000 / logins)} s at this rate (the rush lasts 15 minutes = 900 s).`);
  await writeResults('login', figures, { logins: LOGINS, concurrency: CONCURRENCY, transport: 'in-process inject' });
} finally {
  await h.close();
}
