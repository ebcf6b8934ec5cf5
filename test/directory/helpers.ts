// Directory tests: a Portique whose nord and sud have an identity and a directory section, people
// inserted as imports would, and logins as students, staff or admins.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parseDocument } from 'yaml';
import type { DbHandle } from '../../src/platform/db.js';
import { newId } from '../../src/platform/ids.js';
import { startPortique, type TestPortique } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { applyTenants } from '../../src/tenancy/apply.js';
import { ADMIN_ENTITLEMENT, SUD_IDP, cookieOf, identityTenantsDir, login, loginRoute, verifiedLogin } from '../identity/helpers.js';

export const NORD = 'nord.localhost';
export const SUD = 'sud.localhost';

export const NORD_DIRECTORY = {
  visibility: [
    { viewer: 'student', target: 'student', fields: ['affectation'] },
    { viewer: '*', target: '*', fields: ['mail', 'affectation', 'title', 'officePhone', 'photo'] },
  ],
};

export async function startDirectoryPortique(): Promise<TestPortique & { nord: string; sud: string }> {
  const dir = await identityTenantsDir();
  for (const [slug, directory] of [['nord', NORD_DIRECTORY], ['sud', {}]] as const) {
    const file = join(dir, `${slug}.yaml`);
    const doc = parseDocument(await readFile(file, 'utf8'));
    doc.set('directory', directory);
    const services = doc.get('services') as { items: { value: string }[] } | undefined;
    if (services && !services.items.some((i) => i.value === 'groups')) doc.set('services', [...services.items.map((i) => i.value), 'groups']);
    await writeFile(file, doc.toString());
  }
  const portique = await startPortique({ tenantsDir: dir, beforeReady: (app: FastifyInstance) => loginRoute(app) });
  return { ...portique, nord: portique.registry.bySlug('nord')!.id, sud: portique.registry.bySlug('sud')!.id };
}

/**
 * A database of its own with the declared tenants applied, dropped at `teardown`, and the ids of
 * nord and sud: for tests of the directory's tables without a Portique.
 */
export async function startDirectoryDatabase(teardown: (fn: () => Promise<void>) => void): Promise<{ database: TestDatabase; nord: string; sud: string }> {
  const database = await createTestDatabase();
  teardown(() => database.drop());
  await applyTenants(database.owner.db, 'tenants');
  const [nord, sud] = (await Promise.all(
    ['nord', 'sud'].map(async (slug) => (await database.owner.sql<{ id: string }[]>`select id from tenants where slug = ${slug}`)[0]!.id),
  )) as [string, string];
  return { database, nord, sud };
}

export interface PersonFields {
  externalId?: string;
  displayName?: string;
  givenName?: string;
  familyName?: string;
  mail?: string | null;
  affiliations?: string[];
  affectation?: string | null;
  title?: string | null;
  officePhone?: string | null;
  redList?: boolean;
  status?: 'active' | 'deactivated';
  source?: 'login' | 'csv' | 'ldap' | 'admin';
  attributes?: Record<string, string[]>;
}

export async function addPerson(db: DbHandle, tenantId: string, f: PersonFields = {}): Promise<string> {
  const id = newId();
  const given = f.givenName ?? 'Camille';
  const family = f.familyName ?? 'Test';
  await db.withTenant(tenantId, (trx) =>
    trx
      .insertInto('people')
      .values({
        tenant_id: tenantId,
        id,
        external_id: f.externalId ?? `${id}@example.test`,
        display_name: f.displayName ?? `${given} ${family}`,
        given_name: given,
        family_name: family,
        mail: f.mail === undefined ? `${id.slice(-8)}@example.test` : f.mail,
        affiliations: f.affiliations ?? ['student'],
        affectation: f.affectation ?? null,
        title: f.title ?? null,
        office_phone: f.officePhone ?? null,
        red_list: f.redList ?? false,
        status: f.status ?? 'active',
        source: f.source ?? 'csv',
        attributes: f.attributes ?? {},
      })
      .execute(),
  );
  return id;
}

/** Logs a person in on nord (or sud) and returns the session cookie header value. */
export async function loginAs(
  app: FastifyInstance,
  tenantId: string,
  options: { eppn: string; displayName?: string; affiliations?: string[]; admin?: boolean; host?: string },
): Promise<string> {
  const host = options.host ?? NORD;
  const sud = host === SUD;
  const attributes: Record<string, string[]> = {
    eduPersonPrincipalName: [options.eppn],
    displayName: [options.displayName ?? 'Dominique Test'],
    mail: [options.eppn],
    eduPersonAffiliation: options.affiliations ?? ['student'],
    ...(options.admin ? { eduPersonEntitlement: [ADMIN_ENTITLEMENT] } : {}),
  };
  const body = verifiedLogin(tenantId, {
    attributes,
    ...(sud ? { idpEntityId: SUD_IDP, nameId: { value: `nameid-${options.eppn}`, format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' } } : {}),
  });
  const res = await login(app, host, body);
  const cookie = cookieOf(res);
  if (!cookie) throw new Error(`login failed: ${res.statusCode} ${res.body.slice(0, 300)}`);
  return `portique_session=${cookie}`;
}

export function get(app: FastifyInstance, url: string, cookie?: string, host = NORD) {
  return app.inject({ method: 'GET', url, headers: { host, ...(cookie ? { cookie } : {}) } });
}

/** The CSRF token of the session, read from a page's meta tag. */
export async function csrfOf(app: FastifyInstance, cookie: string, host = NORD): Promise<string> {
  const res = await get(app, '/annuaire', cookie, host);
  const match = /<meta name="csrf-token" content="([^"]+)"/.exec(res.body);
  if (!match) throw new Error('no csrf token on the page');
  return match[1]!;
}

export async function post(app: FastifyInstance, url: string, cookie: string, form: Record<string, string>, host = NORD) {
  const token = await csrfOf(app, cookie, host);
  return app.inject({
    method: 'POST',
    url,
    headers: { host, cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: token, ...form }).toString(),
  });
}
