// The operator console as a SAML service provider. The SAML layer (src/identity/saml/routes.tsx)
// serves a tenant; the console is given to it as a tenant-like value (operatorTenant), in its own
// encapsulated scope where every SAML route gets the operator host constraint and
// config.operator. Its keys come from the operator declaration (not saml_sp_keys, whose rows
// belong to tenants), its IdPs from the files next to that declaration. Logins it verifies carry
// OPERATOR_REALM_ID and land in completeLogin's operator branch, which opens an operator session
// only for the declared operators and only from these IdPs.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { OPERATOR_REALM_ID, OperatorDeclarationError, type OperatorDeclaration } from '../identity/operator.js';
import { generateKeyAndCertificate } from '../identity/saml/certificate.js';
import { createIdpResolver } from '../identity/saml/idp.js';
import type { SpKeyStore, SpKeys } from '../identity/saml/keys.js';
import { samlRoutes, type SamlRoutesOptions } from '../identity/saml/routes.js';
import type { Declaration } from '../tenancy/declaration.js';
import type { Tenant } from '../tenancy/registry.js';
import { operatorHostConstraint } from './routes.js';

/** The console as the SAML layer sees a tenant. Never in the registry: no tenant route can see it. */
export function operatorTenant(operator: OperatorDeclaration): Tenant {
  const declaration: Declaration = {
    // The SAML layer finds declared files in <tenantsDir>/<slug>/: here, the declaration's folder.
    slug: basename(operator.dir),
    displayName: operator.displayName,
    hosts: [operator.host],
    defaultLocale: operator.defaultLocale ?? 'fr',
    branding: { logo: 'logo.svg', colors: { primary: '#24262b', secondary: '#e8eef9' } },
    quotas: { storageTotal: '0 B', storagePerPerson: '1 B', largestUpload: '1 B', people: 1 },
    services: [],
    identity: operator.identity,
  };
  return Object.freeze({ id: OPERATOR_REALM_ID, slug: declaration.slug, displayName: operator.displayName, status: 'active', hosts: [operator.host], declaration });
}

/** SP keys from the declared files; outside production, a pair generated at start if none is declared. */
export async function operatorKeyStore(operator: OperatorDeclaration, production: boolean): Promise<SpKeyStore> {
  const files = operator.serviceProvider;
  let keys: SpKeys;
  if (files) {
    const read = (name: string) => readFile(join(operator.dir, name), 'utf8');
    const next = files.nextPrivateKey && files.nextCertificate
      ? { id: 'next', status: 'next' as const, privateKey: await read(files.nextPrivateKey), certificate: await read(files.nextCertificate) }
      : undefined;
    keys = { current: { id: 'current', status: 'current', privateKey: await read(files.privateKey), certificate: await read(files.certificate) }, next };
  } else {
    if (production) throw new OperatorDeclarationError('operator declaration: serviceProvider (SP key and certificate files) is required in production');
    const generated = await generateKeyAndCertificate(`${operator.host} operator console`);
    keys = { current: { id: 'current', status: 'current', ...generated }, next: undefined };
  }
  const fixed = (what: string) => async () => {
    throw new Error(`the operator SP keys are files of the operator declaration: ${what} them there`);
  };
  return { keys: async () => keys, prepareNextKey: fixed('add the next pair to'), promoteNextKey: fixed('swap') };
}

export type OperatorSamlOptions = Omit<SamlRoutesOptions, 'keyStore' | 'idpResolver' | 'tenantsDir' | 'keySecret'> & {
  operator: OperatorDeclaration;
};

export const operatorSamlRoutes: FastifyPluginAsync<OperatorSamlOptions> = async (scope, { operator, ...options }) => {
  const tenant = operatorTenant(operator);
  const host = operatorHostConstraint(operator.host);
  scope.addHook('onRoute', (route) => {
    route.constraints = { ...route.constraints, host };
    route.config = { ...route.config, operator: true };
  });
  // Global hooks (tenancy, sessions) have run: the session is the operator realm's.
  scope.addHook('onRequest', async (request) => {
    request.tenant = tenant;
  });
  const tenantsDir = dirname(operator.dir);
  await scope.register(samlRoutes, {
    ...options,
    tenantsDir,
    keySecret: 'unused: the operator keys are files',
    keyStore: await operatorKeyStore(operator, options.production),
    idpResolver: createIdpResolver({ database: options.database, tenantsDir, onProblem: (m) => scope.log.warn(m) }),
  });
};
