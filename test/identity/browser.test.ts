// The logged-in shell in a real browser (Chromium via playwright-core): the header shows the
// person, "Mes sessions" and a logout button; "Mes sessions" lists devices and ends the others;
// logout works from the button; axe-core finds no serious or critical WCAG 2.1 A/AA problem; a
// phone never scrolls sideways. The session is opened by the session store, as completeLogin does
// (the SAML round trip is round-trip.test.ts).
import t from 'tap';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdp, idpMetadata } from '../../infra/dev-idp/idp.js';
import { startPortique } from '../helpers/app.js';
import { SCREENSHOTS, checkAxe, serveForBrowser } from '../helpers/browser.js';

// The demo tenants, with nord's IdP metadata made here (`make dev` writes it from the dev IdP;
// a test must not depend on that): single logout goes to a local port where nothing listens.
const tenantsDir = await mkdtemp(join(tmpdir(), 'portique-browser-tenants-'));
await cp('tenants', tenantsDir, { recursive: true });
const idp = await createIdp({ entityId: 'http://localhost:4000/nord/idp', ssoUrl: 'http://idp.localhost:9/sso', sloUrl: 'http://idp.localhost:9/slo', scopes: ['univ-nord.example'] });
await writeFile(join(tenantsDir, 'nord', 'dev-idp-metadata.xml'), idpMetadata(idp));
const portique = await startPortique({ tenantsDir });
t.teardown(() => rm(tenantsDir, { recursive: true, force: true }));
const { browser, port } = await serveForBrowser(t, portique);
const nord = portique.registry.bySlug('nord')!;
const origin = `http://nord.localhost:${port}`;

async function openSession(userAgent: string) {
  const { id } = await portique.app.identity.sessions.create(
    {
      realm: { kind: 'tenant', tenantId: nord.id },
      personId: '0190d7a8-0000-7000-8000-000000000001',
      displayName: 'Camille Lefebvre',
      roles: ['student'],
      idpEntityId: 'http://localhost:4000/nord/idp',
      nameId: 'nord-camille',
      nameIdFormat: undefined,
      sessionIndex: `_s-${userAgent.length}`,
      userAgent,
    },
    { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 },
  );
  return id;
}

async function loggedInPage(viewport: { width: number; height: number }) {
  const context = await browser.newContext({ viewport, locale: 'fr-FR' });
  t.teardown(() => context.close());
  const id = await openSession('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36');
  await context.addCookies([{ name: 'portique_session', value: id, domain: 'nord.localhost', path: '/', httpOnly: true, sameSite: 'Lax' }]);
  return context.newPage();
}

t.test('logged in: header, Mes sessions, end the others, logout', async (t) => {
  const page = await loggedInPage({ width: 1280, height: 800 });
  await page.goto(`${origin}/`);
  t.equal((await page.textContent('.header-actions .user-name'))?.trim(), 'Camille Lefebvre', 'the header names the person');
  t.equal(await page.getByRole('link', { name: 'Mes sessions' }).count(), 1);
  t.equal(await page.getByRole('button', { name: 'Se déconnecter' }).count(), 1, 'a logout button');
  await checkAxe(t, page, 'home, logged in');

  const other = await openSession('Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1');
  await page.getByRole('link', { name: 'Mes sessions' }).click();
  await page.waitForURL(`${origin}/mes-sessions`);
  t.equal(await page.locator('table.sessions tbody tr').count(), 2, 'two sessions listed');
  t.match(await page.textContent('table.sessions'), 'Safari · iOS');
  t.match(await page.textContent('table.sessions'), 'Cette session');
  await page.screenshot({ path: `${SCREENSHOTS}/nord-mes-sessions.png`, fullPage: true });
  await checkAxe(t, page, 'Mes sessions');

  await page.getByRole('button', { name: 'Terminer toutes les autres sessions' }).click();
  await page.waitForLoadState();
  t.equal(await page.locator('table.sessions tbody tr').count(), 1, 'the other session ended');
  t.equal(await portique.app.identity.sessions.get({ kind: 'tenant', tenantId: nord.id }, other), undefined);

  // Logout goes on to SAML single logout: the browser is sent to the IdP (or home without one).
  const [slo] = await Promise.all([
    page.waitForResponse((r) => r.url() === `${origin}/saml/deconnexion`),
    page.getByRole('button', { name: 'Se déconnecter' }).click(),
  ]);
  t.equal(slo.request().method(), 'POST', 'the same POST went on to single logout');
  t.equal(slo.status(), 200, 'a page that goes on to the IdP by itself (a redirect would break form-action)');
  // The logout page moves on to the IdP by itself; look at the portal from another tab.
  const after = await page.context().newPage();
  await after.goto(`${origin}/`);
  t.equal(await after.getByRole('link', { name: 'Se connecter' }).count(), 1, 'logged out: "Se connecter" again');
});

t.test('logged in on a phone: no sideways scroll', async (t) => {
  const page = await loggedInPage({ width: 390, height: 844 });
  for (const path of ['/', '/mes-sessions']) {
    await page.goto(`${origin}${path}`);
    const { scrollWidth, viewport } = await page.evaluate<{ scrollWidth: number; viewport: number }>(
      '({ scrollWidth: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth })',
    );
    t.ok(scrollWidth <= viewport, `${path}: no horizontal scroll (${scrollWidth}px in ${viewport}px)`);
  }
  await page.screenshot({ path: `${SCREENSHOTS}/nord-mes-sessions-phone.png`, fullPage: true });
});
