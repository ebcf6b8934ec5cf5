// The admin's statistics page and the header's bell in a real browser (Chromium via
// playwright-core): axe-core finds no serious or critical WCAG 2.1 A/AA problem, the unread count
// is a readable badge on the bell (on a dark and on a light brand header), the charts' text stays
// readable on a phone and nothing scrolls sideways. Screenshots in test-output/screenshots/.
import t from 'tap';
import type { Test } from 'tap';
import type { Page } from 'playwright-core';
import { newId } from '../../src/platform/ids.js';
import { contrastRatio } from '../../src/web/theme.js';
import { addDays, dayIn } from '../../src/statistics/rollup.js';
import { SCREENSHOTS, checkAxe, serveForBrowser } from '../helpers/browser.js';
import { loginAs, startDirectoryPortique } from '../directory/helpers.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const portique = await startDirectoryPortique();
const { browser, port } = await serveForBrowser(t, portique);
const db = portique.database.app;

// 30 days of figures, nord: weekdays busier than weekends, two days withheld (3 people).
const yesterday = addDays(dayIn(new Date()), -1);
const all = { service: '*', affiliation: '*', event: '*' };
await db.withTenant(portique.nord, async (trx) => {
  const rows = [];
  for (let i = 0; i < 30; i++) {
    const day = addDays(yesterday, -i);
    const weekend = [0, 6].includes(new Date(`${day}T12:00:00Z`).getUTCDay());
    const people = i === 4 || i === 11 ? 3 : weekend ? 40 + i : 300 + ((i * 37) % 120);
    rows.push({ tenant_id: portique.nord, day, ...all, events: people * 7, people });
    if (people >= 5) {
      rows.push({ tenant_id: portique.nord, day, service: 'documents', affiliation: '*', event: '*', events: people * 3, people: Math.round(people * 0.6) });
      rows.push({ tenant_id: portique.nord, day, service: 'portal', affiliation: '*', event: '*', events: people * 4, people });
      rows.push({ tenant_id: portique.nord, day, service: '*', affiliation: 'student', event: '*', events: people * 5, people: Math.round(people * 0.8) });
      rows.push({ tenant_id: portique.nord, day, service: '*', affiliation: 'staff', event: '*', events: people * 2, people: people - Math.round(people * 0.8) });
    }
  }
  await trx.insertInto('usage_daily').values(rows).execute();
});

/** A browser page logged in as a person of the tenant (admin or not), with `unread` notifications. */
async function pageAs(host: string, tenantId: string, eppn: string, options: { admin: boolean; unread: number; viewport: { width: number; height: number } }): Promise<Page> {
  const cookie = await loginAs(portique.app, tenantId, { eppn, affiliations: ['staff'], admin: options.admin, host });
  const person = await db.withTenant(tenantId, (trx) => trx.selectFrom('people').select('id').where((eb) => eb.or([eb('external_id', '=', eppn), eb('external_id', 'like', `%!nameid-${eppn}`)])).executeTakeFirstOrThrow());
  if (options.unread > 0) {
    await db.withTenant(tenantId, (trx) =>
      trx
        .insertInto('notifications')
        .values(Array.from({ length: options.unread }, (_, i) => ({ tenant_id: tenantId, id: newId(), person_id: person.id, category: 'share', title: `Document ${i}`, link: '/documents' })))
        .execute(),
    );
  }
  const context = await browser.newContext({ viewport: options.viewport, locale: 'fr-FR' });
  t.teardown(() => context.close());
  await context.addCookies([{ name: 'portique_session', value: cookie.split('=')[1]!, domain: host, path: '/', httpOnly: true, sameSite: 'Lax' }]);
  return context.newPage();
}

const style = (page: Page, selector: string, property: string) => page.evaluate<string>(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).${property}`);
const hex = (rgb: string) => `#${(rgb.match(/\d+/g) ?? []).slice(0, 3).map((n) => Number(n).toString(16).padStart(2, '0')).join('')}`;
const noSideScroll = (page: Page) => page.evaluate<boolean>('document.documentElement.scrollWidth <= document.documentElement.clientWidth');

async function checkBadge(t: Test, page: Page, expected: string) {
  const badge = page.locator('.bell .bell-count');
  t.equal((await badge.textContent())?.trim(), expected, 'the badge shows the unread count');
  const bell = await page.locator('.bell').boundingBox();
  const box = await badge.boundingBox();
  t.ok(bell && box && box.x >= bell.x - 4 && box.x + box.width <= bell.x + bell.width + 4 && box.y >= bell.y - 4, 'the badge sits on the bell');
  t.ok(box && box.height >= 16, `the badge is big enough to read (${box?.height}px)`);
  const ratio = contrastRatio(hex(await style(page, '.bell-count', 'color')), hex(await style(page, '.bell-count', 'backgroundColor')));
  t.ok(ratio >= 4.5, `badge text contrast ${ratio.toFixed(1)}:1`);
  const apart = contrastRatio(hex(await style(page, '.bell-count', 'backgroundColor')), hex(await style(page, '.site-header', 'backgroundColor')));
  t.ok(apart >= 3, `the badge stands off the header (${apart.toFixed(1)}:1)`);
  t.match(await page.getAttribute('.bell', 'aria-label'), new RegExp(`${expected.replace('+', '\\+')} non lue`), 'its label says the count');
}

t.test('the statistics page on a desktop: charts, tables, badge; axe', async (t) => {
  const page = await pageAs('nord.localhost', portique.nord, 'ada@univ-nord.example', { admin: true, unread: 3, viewport: DESKTOP });
  const res = await page.goto(`http://nord.localhost:${port}/admin/statistiques`);
  t.equal(res?.status(), 200);
  t.equal(await page.locator('svg.chart').count() >= 1, true, 'a chart');
  t.equal(await page.locator('svg.chart rect.withheld').count(), 2, 'the two withheld days drawn hatched');
  const bar = hex(await style(page, 'svg.chart rect.bar', 'fill'));
  t.ok(contrastRatio(bar, '#ffffff') >= 3, `bars stand off the white (${contrastRatio(bar, '#ffffff').toFixed(1)}:1, WCAG 1.4.11)`);
  const tick = await page.locator('svg.chart text.label').first().boundingBox();
  t.ok(tick && tick.height >= 10, `axis labels readable (${tick?.height.toFixed(1)}px)`);
  await checkBadge(t, page, '3');
  await page.screenshot({ path: `${SCREENSHOTS}/statistics-desktop.png`, fullPage: true });
  await checkAxe(t, page, 'the statistics page');
});

t.test('the statistics page on a phone: readable chart text, no sideways scroll; axe', async (t) => {
  const page = await pageAs('nord.localhost', portique.nord, 'bea@univ-nord.example', { admin: true, unread: 120, viewport: PHONE });
  await page.goto(`http://nord.localhost:${port}/admin/statistiques`);
  t.ok(await noSideScroll(page), 'no horizontal scroll');
  const label = await page.locator('svg.chart text.label').first().boundingBox();
  t.ok(label && label.height >= 9, `axis labels readable on a phone (${label?.height.toFixed(1)}px high)`);
  t.equal(await page.locator('svg.chart text.label-alt').first().isVisible(), false, 'every other label left out on a phone');
  await checkBadge(t, page, '99+');
  await page.screenshot({ path: `${SCREENSHOTS}/statistics-phone.png`, fullPage: true });
  await checkAxe(t, page, 'the statistics page on a phone');
});

t.test("the bell on a light brand header (sud's is red; a person with no admin role)", async (t) => {
  const page = await pageAs('sud.localhost', portique.sud, 'chloe@univ-sud.example', { admin: false, unread: 5, viewport: DESKTOP });
  await page.goto(`http://sud.localhost:${port}/`);
  await checkBadge(t, page, '5');
  await page.locator('.site-header').screenshot({ path: `${SCREENSHOTS}/bell-sud.png` });
  await checkAxe(t, page, "sud's home with the bell");
});

t.test('high-contrast mode (forced colours): the bars and the badge are still drawn', async (t) => {
  const cookie = await loginAs(portique.app, portique.nord, { eppn: 'ada@univ-nord.example', affiliations: ['staff'], admin: true });
  const context = await browser.newContext({ viewport: DESKTOP, locale: 'fr-FR', forcedColors: 'active' });
  t.teardown(() => context.close());
  await context.addCookies([{ name: 'portique_session', value: cookie.split('=')[1]!, domain: 'nord.localhost', path: '/', httpOnly: true, sameSite: 'Lax' }]);
  const page = await context.newPage();
  await page.goto(`http://nord.localhost:${port}/admin/statistiques`);
  const bar = hex(await style(page, 'svg.chart rect.bar', 'fill'));
  const surface = hex(await style(page, 'body', 'backgroundColor'));
  t.ok(contrastRatio(bar, surface) >= 3, `bars ${bar} on ${surface}: ${contrastRatio(bar, surface).toFixed(1)}:1`);
  t.not(await style(page, '.bell-count', 'borderTopStyle'), 'none', 'the badge keeps an outline');
  await page.screenshot({ path: `${SCREENSHOTS}/statistics-forced-colors.png` });
});
