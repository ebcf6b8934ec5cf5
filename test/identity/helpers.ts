// Identity test helpers: tenant declarations with an identity section, a test-only route that
// hands a VerifiedLogin to completeLogin (what the SAML ACS does once a response is verified),
// and cookie handling for app.inject.
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { VerifiedLogin } from '../../src/identity/verified-login.js';
import { OPERATOR_REALM_ID } from '../../src/identity/operator.js';
import { operatorHostConstraint } from '../../src/operator/routes.js';

export const NORD_IDP = 'https://idp.univ-nord.example/idp/shibboleth';
export const SUD_IDP = 'https://idp.univ-sud.example/idp/shibboleth';
export const OPERATOR_IDP = 'https://idp.consortium.example/idp';
export const OPERATOR_HOST = 'console.localhost';
export const ADMIN_ENTITLEMENT = 'urn:mace:univ-nord.example:ent:admin';

/** tenants/ copied, with nord and sud given an identity section (replacing any they have). */
export async function identityTenantsDir(extra: { nord?: object; sud?: object } = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portique-identity-tenants-'));
  await cp('tenants', dir, { recursive: true });
  const identities: Record<string, object> = {
    nord: {
      providers: [{ entityId: NORD_IDP }],
      roles: [{ role: 'admin', attribute: 'eduPersonEntitlement', values: [ADMIN_ENTITLEMENT] }],
      session: { idleMinutes: 30, absoluteHours: 12 },
      ...extra.nord,
    },
    sud: {
      providers: [{ entityId: SUD_IDP }],
      attributes: { identifier: 'nameid', required: ['displayName', 'mail'] },
      ...extra.sud,
    },
  };
  for (const [slug, identity] of Object.entries(identities)) {
    const file = join(dir, `${slug}.yaml`);
    const doc = parseDocument(await readFile(file, 'utf8'));
    doc.set('identity', identity);
    await writeFile(file, doc.toString());
  }
  return dir;
}

/** The operator declaration file for tests. */
export async function operatorDeclarationFile(idpMetadataXml?: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portique-operator-'));
  const file = join(dir, 'operator.yaml');
  if (idpMetadataXml) await writeFile(join(dir, 'idp-metadata.xml'), idpMetadataXml);
  await writeFile(
    file,
    [
      'displayName: Consortium Portique',
      'identity:',
      '  providers:',
      `    - entityId: ${OPERATOR_IDP}`,
      ...(idpMetadataXml ? ['      metadataFile: idp-metadata.xml'] : []),
      '  session: { idleMinutes: 15, absoluteHours: 8 }',
      'operators:',
      '  - alice@consortium.example',
      '',
    ].join('\n'),
  );
  return file;
}

export function verifiedLogin(tenantId: string, overrides: Partial<VerifiedLogin> & { attributes?: Record<string, string[]> } = {}): VerifiedLogin {
  return {
    tenantId,
    idpEntityId: NORD_IDP,
    nameId: { value: 'AAdzZWNyZXQxzbHTn4Wv3n8a', format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' },
    sessionIndex: '_session-index-1',
    returnTo: '/',
    ...overrides,
    attributes: overrides.attributes ?? {
      eduPersonPrincipalName: ['camille.martin@univ-nord.example'],
      displayName: ['Camille Martin'],
      givenName: ['Camille'],
      sn: ['Martin'],
      mail: ['camille.martin@univ-nord.example'],
      eduPersonAffiliation: ['student', 'member'],
    },
  };
}

/** POST /test/login: what the ACS does after verifying a response. Registered on tenant hosts and the operator host. */
export function loginRoute(app: FastifyInstance): void {
  const handler = (request: { body: unknown }, reply: unknown) =>
    app.identity.completeLogin(request as never, reply as never, (request.body as { login: VerifiedLogin }).login);
  // Like the ACS, a cross-site protocol endpoint: no CSRF token.
  app.post('/test/login', { config: { csrf: false } }, handler);
  app.post('/test/login', { config: { csrf: false, operator: true }, constraints: { host: operatorHostConstraint(OPERATOR_HOST) } }, handler);
  app.route({
    method: ['POST', 'PUT', 'PATCH', 'DELETE'],
    url: '/test/change',
    handler: async (request) => ({ changed: true, person: request.session?.personId ?? null }),
  });
}

export { OPERATOR_REALM_ID };

export function cookieOf(res: LightMyRequestResponse, name = 'portique_session'): string | undefined {
  const cookie = res.cookies.find((c) => c.name === name);
  return cookie?.value || undefined;
}

export async function login(app: FastifyInstance, host: string, body: VerifiedLogin, cookie?: string, userAgent?: string) {
  return app.inject({
    method: 'POST',
    url: '/test/login',
    headers: { host, ...(cookie ? { cookie } : {}), ...(userAgent ? { 'user-agent': userAgent } : {}) },
    payload: { login: body },
  });
}

/**
 * Where the "you are logged out" page sends the browser on (its meta refresh): SP-initiated single
 * logout goes on to the IdP by a page, not a redirect, since the CSP's form-action would block a
 * form submission redirected to another origin.
 */
export function sloContinuation(res: LightMyRequestResponse): string {
  if (res.statusCode !== 200) throw new Error(`expected the logout page, got ${res.statusCode}`);
  const match = /<meta http-equiv="refresh" content="0;url=([^"]+)"/.exec(res.body);
  if (!match) throw new Error('no meta refresh on the logout page');
  return match[1]!.replaceAll('&amp;', '&');
}
