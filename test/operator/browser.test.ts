// The operator console in a real browser (Chromium via playwright-core): the tenants list, a
// tenant's failed jobs, the suspend confirmation, the audit journal, the regional statistics and
// one tenant's, each checked by axe-core (WCAG 2.1 A/AA: no serious or critical violation) on a
// desktop and on a phone, where nothing may scroll sideways. Screenshots in
// test-output/screenshots/operator-*.png.
import t from 'tap';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Page } from 'playwright-core';
import { queueName } from '../../src/jobs/queues.js';
import { addDays, dayIn } from '../../src/statistics/rollup.js';
import { contrastRatio } from '../../src/web/theme.js';
import '../../src/statistics/tables.js';
import { startPortique } from '../helpers/app.js';
import { SCREENSHOTS, checkAxe, serveForBrowser } from '../helpers/browser.js';
import { REDIS_URL } from '../helpers/env.js';
import { OPERATOR_HOST, OPERATOR_IDP, OPERATOR_REALM_ID, identityTenantsDir, login, loginRoute, operatorDeclarationFile, verifiedLogin } from '../identity/helpers.js';

const portique = await startPortique({
  tenantsDir: await identityTenantsDir(),
  beforeReady: loginRoute,
  env: { OPERATOR_HOST, OPERATOR_DECLARATION: await operatorDeclarationFile() },
});
const { browser, port } = await serveForBrowser(t, portique);
const { app, registry, database } = portique;
const nord = registry.bySlug('nord')!;

// A failed job of nord's, failed by hand as a worker would (no worker runs here).
const lane = queueName(nord.id, 'default');
const queue = portique.queue.queue(lane);
t.teardown(() => queue.obliterate({ force: true }));
await queue.add('directory.import-csv', { tenantId: nord.id }, { attempts: 1 });
{
  const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const worker = new Worker(lane, null, { connection, prefix: portique.queue.prefix });
  const taken = await worker.getNextJob('browser-test');
  await taken!.moveToFailed(new Error('SMTP refused: 550 mailbox unavailable'), 'browser-test', false);
  await worker.close();
  connection.disconnect();
}

// Two weeks of nord's usage, one day about too few people.
const yesterday = addDays(dayIn(new Date()), -1);
const all = { service: '*', affiliation: '*', event: '*' };
await database.app.withTenant(nord.id, (trx) =>
  trx
    .insertInto('usage_daily')
    .values(Array.from({ length: 14 }, (_, i) => ({ tenant_id: nord.id, day: addDays(yesterday, -i), ...all, events: 500 + i * 40, people: i === 3 ? 2 : 80 + i * 5 })))
    .execute(),
);

const alice = verifiedLogin(OPERATOR_REALM_ID, {
  idpEntityId: OPERATOR_IDP,
  attributes: { eduPersonPrincipalName: ['alice@consortium.example'], displayName: ['Alice Opératrice'] },
});
const operatorCookie = (await login(app, OPERATOR_HOST, alice)).cookies.find((c) => c.name === 'portique_operator')!.value;
const origin = `http://${OPERATOR_HOST}:${port}`;

async function consolePage(viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport, locale: 'fr-FR' });
  t.teardown(() => context.close());
  await context.addCookies([{ name: 'portique_operator', value: operatorCookie, domain: OPERATOR_HOST, path: '/', httpOnly: true, sameSite: 'Lax' }]);
  return context.newPage();
}

const hex = (rgb: string) => `#${(rgb.match(/\d+/g) ?? []).slice(0, 3).map((n) => Number(n).toString(16).padStart(2, '0')).join('')}`;

const PAGES = [
  { name: 'tenants', path: '/', expect: 'Université du Nord' },
  { name: 'failed-jobs', path: '/etablissements/nord/travaux', expect: 'SMTP refused: 550 mailbox unavailable' },
  { name: 'suspend', path: '/etablissements/nord/suspendre', expect: 'Université du Nord' },
  { name: 'journal', path: '/journal', expect: 'alice@consortium.example' },
  { name: 'regional-statistics', path: '/statistiques', expect: 'Université du Nord' },
  { name: 'tenant-statistics', path: '/etablissements/nord/statistiques', expect: 'masqué' },
];

for (const [device, viewport] of [
  ['desktop', { width: 1280, height: 800 }],
  ['phone', { width: 390, height: 844 }],
] as const) {
  t.test(`the console's pages on a ${device}`, async (t) => {
    const page = await consolePage(viewport);
    for (const { name, path, expect } of PAGES) {
      const response = await page.goto(`${origin}${path}`);
      t.equal(response?.status(), 200, `${path} answers`);
      t.match(await page.textContent('main'), expect, `${path} shows what it is for`);
      t.equal(await page.getAttribute('html', 'lang'), 'fr');
      const { scrollWidth, clientWidth } = await page.evaluate<{ scrollWidth: number; clientWidth: number }>(
        '({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth })',
      );
      t.ok(scrollWidth <= clientWidth, `${path}: no horizontal scroll (${scrollWidth}px in ${clientWidth}px)`);
      // axe leaves colour contrast over the header's background "to review": measured here.
      const colours = await page.evaluate<{ text: string; fg: string; bg: string }[]>(
        `[...document.querySelectorAll('.site-header a, .site-header button')].map((el) => ({ text: el.textContent.trim(), fg: getComputedStyle(el).color, bg: getComputedStyle(document.querySelector('.site-header')).backgroundColor }))`,
      );
      t.ok(colours.length >= 3, `${path}: the header's links and button`);
      for (const { text, fg, bg } of colours) {
        const ratio = contrastRatio(hex(fg), hex(bg));
        if (ratio < 4.5) t.fail(`${path}: "${text}" in the header at ${ratio.toFixed(1)}:1`);
      }
      await page.screenshot({ path: `${SCREENSHOTS}/operator-${name}-${device}.png`, fullPage: true });
      await checkAxe(t, page, `${path} on a ${device}`);
    }
  });
}
