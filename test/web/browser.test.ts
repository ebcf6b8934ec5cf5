// The portal shell in a real browser (Debian's Chromium driven by playwright-core) against the full
// app: each university shows its own name, colours and logo, an unknown host gets the 404 page, a
// phone never scrolls sideways, and axe-core finds no serious or critical WCAG 2.1 A/AA problem.
// Full-page screenshots land in test-output/screenshots/ for a human to look at.
import t from 'tap';
import type { BrowserContext, Page } from 'playwright-core';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { startPortique } from '../helpers/app.js';
import { SCREENSHOTS, checkAxe, serveForBrowser } from '../helpers/browser.js';

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

interface TenantFile {
  displayName: string;
  hosts: string[];
  branding: { colors: { primary: string; secondary: string } };
}

/** "#1f3a93" -> "rgb(31, 58, 147)", as getComputedStyle reports it. */
function rgb(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  return `rgb(${r}, ${g}, ${b})`;
}

// The test's tsconfig has no DOM library, so page code is passed as strings.
const computed = (page: Page, selector: string, property: string) =>
  page.evaluate<string>(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).${property}`);

const left = async (page: Page, selector: string) => Math.round((await page.locator(selector).first().boundingBox())?.x ?? -1);

async function noHorizontalScroll(page: Page): Promise<{ scrollWidth: number; viewport: number }> {
  return page.evaluate<{ scrollWidth: number; viewport: number }>(
    '({ scrollWidth: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth })',
  );
}

const portique = await startPortique();
const { browser, port } = await serveForBrowser(t, portique);

async function newContext(viewport = DESKTOP): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport, locale: 'fr-FR' });
  t.teardown(() => context.close());
  return context;
}

for (const slug of ['nord', 'sud']) {
  const tenant = parse(await readFile(`tenants/${slug}.yaml`, 'utf8')) as TenantFile;
  const origin = `http://${tenant.hosts[0]}:${port}`;
  const { primary, secondary } = tenant.branding.colors;

  t.test(`${slug}: home page on a desktop`, async (t) => {
    const page = await (await newContext()).newPage();
    const response = await page.goto(`${origin}/`);
    t.equal(response?.status(), 200);
    t.equal(await page.getAttribute('html', 'lang'), 'fr', 'French first');
    t.equal((await page.textContent('.brand-name'))?.trim(), tenant.displayName, 'the header names the university');
    t.equal((await page.textContent('h1'))?.trim(), tenant.displayName, 'the page title names the university');
    t.match(await page.title(), tenant.displayName);
    t.equal(await computed(page, '.site-header', 'backgroundColor'), rgb(primary), 'header in the primary colour');
    t.equal(await computed(page, '.site-header', 'borderBottomColor'), rgb(secondary), 'header rule in the secondary colour');
    t.equal(await computed(page, '.site-nav a[aria-current="page"]', 'backgroundColor'), rgb(secondary), 'current entry in the secondary colour');
    const logo = await page.evaluate<{ complete: boolean; naturalWidth: number }>(
      `(() => { const img = document.querySelector('.brand-logo'); return { complete: img.complete, naturalWidth: img.naturalWidth }; })()`,
    );
    t.ok(logo.complete && logo.naturalWidth > 0, `the logo loads (naturalWidth ${logo.naturalWidth})`);
    // The brand colours of a tenant may be close: the current entry must show by more than colour.
    t.equal(await computed(page, '.site-nav a[aria-current="page"]', 'textDecorationLine'), 'underline', 'current entry underlined');
    const brandLeft = await left(page, '.brand');
    t.equal(brandLeft, await left(page, 'main h2'), 'header lines up with the content');
    t.equal(brandLeft, await left(page, '.site-footer a'), 'footer lines up with the content');

    await page.screenshot({ path: `${SCREENSHOTS}/${slug}-desktop.png`, fullPage: true });

    await page.keyboard.press('Tab');
    t.equal(await page.evaluate<string>('document.activeElement.className'), 'skip-link', 'the first Tab reaches the skip link');
    const skip = await page.locator('.skip-link').boundingBox();
    t.ok(skip && skip.x >= 0 && skip.y >= 0, 'the focused skip link is on screen');
    await checkAxe(t, page, `${slug} home`);

    // A service card is one link named by the service, and the whole card opens it.
    const card = page.locator('.card', { has: page.getByRole('link', { name: 'Aide', exact: true }) });
    t.equal(await card.count(), 1, 'the help card is a link named "Aide"');
    const box = await card.boundingBox();
    t.ok(box, 'the help card is shown');
    if (box) await page.mouse.click(box.x + box.width - 8, box.y + box.height - 8);
    await page.waitForURL(`${origin}/aide`, { timeout: 10_000 }).catch(() => undefined);
    t.equal(page.url(), `${origin}/aide`, 'a click anywhere on the card opens the service');
  });

  t.test(`${slug}: home page on a phone`, async (t) => {
    const page = await (await newContext(PHONE)).newPage();
    await page.goto(`${origin}/`);
    const { scrollWidth, viewport } = await noHorizontalScroll(page);
    t.ok(scrollWidth <= viewport, `no horizontal scroll (${scrollWidth}px in ${viewport}px)`);
    for (const item of await page.locator('.site-nav a').all()) {
      const box = await item.boundingBox();
      t.ok(box && box.x >= 0 && box.x + box.width <= viewport, `menu entry "${await item.textContent()}" is visible without scrolling`);
    }
    t.equal(await computed(page, '.site-header', 'backgroundColor'), rgb(primary));
    await page.screenshot({ path: `${SCREENSHOTS}/${slug}-phone.png`, fullPage: true });
    await checkAxe(t, page, `${slug} home on a phone`);

    await page.goto(`${origin}/nope`);
    const onError = await noHorizontalScroll(page);
    t.ok(onError.scrollWidth <= onError.viewport, `no horizontal scroll on the error page (${onError.scrollWidth}px)`);
    await page.screenshot({ path: `${SCREENSHOTS}/${slug}-404-phone.png`, fullPage: true });
  });

  t.test(`${slug}: help, error page and English`, async (t) => {
    const page = await (await newContext()).newPage();
    const help = await page.goto(`${origin}/aide`);
    t.equal(help?.status(), 200);
    t.equal((await page.textContent('h1'))?.trim(), 'Aide');
    t.equal(await page.getAttribute('.site-nav a[href="/aide"]', 'aria-current'), 'page', 'help is the current menu entry');
    await checkAxe(t, page, `${slug} help`);

    const missing = await page.goto(`${origin}/nope`);
    t.equal(missing?.status(), 404);
    t.equal((await page.textContent('h1'))?.trim(), 'Erreur 404');
    t.equal(await computed(page, '.site-header', 'backgroundColor'), rgb(primary), 'the error page keeps the branding');
    t.match(await page.textContent('main'), /Cette page n.existe pas/);
    t.equal(await page.locator('main a[href="/"]').count(), 1, 'the error page offers the way back home');
    await page.screenshot({ path: `${SCREENSHOTS}/${slug}-404.png`, fullPage: true });
    await checkAxe(t, page, `${slug} 404 page`);

    await page.goto(`${origin}/`);
    await page.click('.site-footer a[hreflang="en"]');
    await page.waitForSelector('html[lang="en"]', { timeout: 10_000 }).catch(() => undefined);
    t.equal(await page.getAttribute('html', 'lang'), 'en', 'the language switch gives the English page');
    t.equal(page.url(), `${origin}/`, 'back on the page it was clicked from');
    t.equal((await page.textContent('.site-nav a[aria-current="page"]'))?.trim(), 'Home');
    t.ok(await page.locator('.site-footer a[hreflang="fr"]').count(), 'and offers French back');
    await page.screenshot({ path: `${SCREENSHOTS}/${slug}-en.png`, fullPage: true });
    await checkAxe(t, page, `${slug} home in English`);
  });
}

t.test('an unknown host gets the 404 page, unbranded', async (t) => {
  const page = await (await newContext()).newPage();
  const response = await page.goto(`http://inconnu.localhost:${port}/`);
  t.equal(response?.status(), 404);
  t.equal((await page.textContent('h1'))?.trim(), 'Établissement inconnu');
  t.equal(await page.locator('.site-header').count(), 0, 'no tenant header');
  t.notMatch(await page.content(), /Université du (Nord|Sud)/, 'no tenant leaks into it');
  await page.screenshot({ path: `${SCREENSHOTS}/unknown-host.png`, fullPage: true });
  await checkAxe(t, page, 'the unknown-host page');
});
