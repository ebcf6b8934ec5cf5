// A Portique with two SAML tenants (nord, sud), each trusting its own test IdP (keys generated
// here), and simple stand-ins for the sessions side: completeLogin answers the VerifiedLogin as
// JSON, endSessions records its calls, currentSession comes from a test header.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { mkdtemp, mkdir, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdp, idpMetadata, readAuthnRequest, type TestIdp } from '../../infra/dev-idp/idp.js';
import type { SamlSessionInfo } from '../../src/identity/saml/routes.js';
import { spEndpoints } from '../../src/identity/saml/sp.js';
import type { Tenant } from '../../src/tenancy/registry.js';
import { startPortique, type TestPortique } from '../helpers/app.js';

export interface SamlHarness {
  portique: TestPortique;
  app: FastifyInstance;
  idpNord: TestIdp;
  idpSud: TestIdp;
  tenantsDir: string;
  endSessionsCalls: { tenantId: string; nameId: string; sessionIndex: string | undefined }[];
  tenant(slug: string): Tenant;
  sp(slug: string): ReturnType<typeof spEndpoints>;
  startLogin(host: string, retour?: string): Promise<{ id: string; location: string; relayState: string | undefined }>;
  postAcs(host: string, samlResponse: string, relayState?: string): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

function declaration(slug: string, idp: TestIdp, extra = '', people = 1000): string {
  return `slug: ${slug}
displayName: Université ${slug}
hosts: [${slug}.localhost]
defaultLocale: fr
branding:
  logo: logo.svg
  colors: { primary: "#1f3a93", secondary: "#f2b705" }
quotas: { storageTotal: 1 TiB, storagePerPerson: 1 GiB, largestUpload: 1 GiB, people: ${people} }
services: [help]
identity:
  providers:
    - entityId: ${idp.entityId}
      metadataFile: idp-metadata.xml
${extra}`;
}

export async function startSamlHarness(
  options: {
    nordExtra?: string;
    /** the real app.identity (sessions, provisioning) instead of stand-ins */
    realSessions?: boolean;
    /** quotas.people of each tenant (default 1000) */
    people?: number;
  } = {},
): Promise<SamlHarness> {
  const idpNord = await createIdp({ entityId: 'https://idp.univ-nord.example/idp/shibboleth', ssoUrl: 'https://idp.univ-nord.example/idp/sso', sloUrl: 'https://idp.univ-nord.example/idp/slo', scopes: ['univ-nord.example'] });
  const idpSud = await createIdp({ entityId: 'https://idp.univ-sud.example/idp/shibboleth', ssoUrl: 'https://idp.univ-sud.example/idp/sso', sloUrl: 'https://idp.univ-sud.example/idp/slo', scopes: ['univ-sud.example'] });
  const tenantsDir = await mkdtemp(join(tmpdir(), 'portique-saml-'));
  for (const [slug, idp, extra] of [['nord', idpNord, options.nordExtra ?? ''], ['sud', idpSud, '']] as const) {
    await mkdir(join(tenantsDir, slug));
    await copyFile(`tenants/${slug}/logo.svg`, join(tenantsDir, slug, 'logo.svg'));
    await writeFile(join(tenantsDir, slug, 'idp-metadata.xml'), idpMetadata(idp));
    await writeFile(join(tenantsDir, `${slug}.yaml`), declaration(slug, idp, extra, options.people));
  }
  const endSessionsCalls: SamlHarness['endSessionsCalls'] = [];
  const portique = await startPortique({
    tenantsDir,
    samlHandover: options.realSessions ? undefined : {
      completeLogin: async (_request, reply, login) => reply.send({ login }),
      endSessions: async (tenantId, nameId, sessionIndex) => {
        endSessionsCalls.push({ tenantId, nameId, sessionIndex });
        return 1;
      },
      currentSession: (request) => {
        const header = request.headers['x-test-session'];
        return typeof header === 'string' ? (JSON.parse(header) as SamlSessionInfo) : null;
      },
    },
  });
  const app = portique.app;
  const harness: SamlHarness = {
    portique,
    app,
    idpNord,
    idpSud,
    tenantsDir,
    endSessionsCalls,
    tenant: (slug) => portique.registry.bySlug(slug)!,
    sp: (slug) => spEndpoints(portique.registry.bySlug(slug)!, { production: false, port: 3000 }),
    async startLogin(host, retour = '/') {
      const res = await app.inject({ method: 'GET', url: `/connexion?retour=${encodeURIComponent(retour)}`, headers: { host } });
      if (res.statusCode !== 303) throw new Error(`login start answered ${res.statusCode}: ${res.body.slice(0, 300)}`);
      const location = res.headers.location as string;
      const request = readAuthnRequest(location);
      return { id: request.id, location, relayState: request.relayState };
    },
    postAcs(host, samlResponse, relayState) {
      const form = new URLSearchParams({ SAMLResponse: samlResponse, ...(relayState !== undefined ? { RelayState: relayState } : {}) });
      return app.inject({ method: 'POST', url: '/saml/acs', headers: { host, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, payload: form.toString() });
    },
    close: () => portique.close(),
  };
  return harness;
}
