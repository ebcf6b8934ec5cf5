// Debian's Chromium driven by playwright-core, for the browser tests: launched as the machine
// allows (headless, no sandbox as root, no background networking on a closed network), with
// *.localhost mapped to this machine; and axe-core's WCAG 2.1 A/AA check.
import type { Test } from 'tap';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { AxeResults } from 'axe-core';
import { mkdir, readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createRequire } from 'node:module';

export const SCREENSHOTS = 'test-output/screenshots';
const AXE_SOURCE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const AXE_OPTIONS = { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } };

export async function launchBrowser(): Promise<Browser> {
  await mkdir(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
      '--host-resolver-rules=MAP *.localhost 127.0.0.1',
    ],
  });
}

/** No serious or critical axe violation on the page as it stands. */
export async function checkAxe(t: Test, page: Page, what: string): Promise<void> {
  // Evaluated by the test driver, not as a page script: the page keeps its real CSP (tests must
  // see what a person's browser enforces, e.g. form-action on the logout form).
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate<AxeResults>(`axe.run(document, ${JSON.stringify(AXE_OPTIONS)})`);
  t.ok(results.passes.length > 0, `axe ran its WCAG 2.1 A/AA rules on ${what}`);
  const problems = results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(' ')}: ${n.failureSummary ?? ''}`).join('\n')}`);
  if (problems.length > 0) t.comment(`axe on ${what}:\n${problems.join('\n')}`);
  t.same(problems, [], `no serious or critical accessibility violation on ${what}`);
}

/** A phone-sized viewport: the narrowest the pages promise to fit without sideways scrolling. */
export const PHONE = { width: 360, height: 740 };

/**
 * A page in a fresh context holding `cookie` ("name=value", a session) for `host`, French, at
 * `viewport`; the context closes at the end of `t`.
 */
export async function pageWithCookie(t: Test, browser: Browser, cookie: string, options: { host?: string; viewport?: { width: number; height: number } } = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: options.viewport ?? { width: 1280, height: 800 }, locale: 'fr-FR' });
  t.teardown(() => context.close());
  const [name, value] = cookie.split('=') as [string, string];
  await context.addCookies([{ name, value, domain: options.host ?? 'nord.localhost', path: '/' }]);
  return context.newPage();
}

/** The page is no wider than its window: nothing pushed past the edge of a phone. */
export async function noSidewaysScroll(t: Test, page: Page, what: string): Promise<void> {
  const width = (await page.evaluate('({ scroll: document.documentElement.scrollWidth, view: document.documentElement.clientWidth })')) as { scroll: number; view: number };
  t.ok(width.scroll <= width.view, `no sideways scrolling on a phone: ${what} (${JSON.stringify(width)})`);
}

/**
 * The app listening on a free loopback port and a browser to open it with; both closed at the
 * end of the test file (the browser first).
 */
export async function serveForBrowser(t: Test, portique: { app: FastifyInstance; close(): Promise<void> }): Promise<{ browser: Browser; port: number }> {
  let browser: Browser | undefined;
  t.teardown(async () => {
    await browser?.close();
    await portique.close();
  });
  await portique.app.listen({ host: '127.0.0.1', port: 0 });
  browser = await launchBrowser();
  return { browser, port: (portique.app.server.address() as AddressInfo).port };
}
