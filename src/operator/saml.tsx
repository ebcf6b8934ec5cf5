// The operator console as a SAML service provider. The SAML layer (src/identity/saml/routes.tsx)
// serves a tenant; the console is given to it as a tenant-like value (operatorTenant), in its own
// encapsulated scope where every SAML route gets the operator host constraint and
// config.operator. Its keys come from the operator declaration (not saml_sp_keys, whose rows
// belong to tenants), its IdPs from the files next to that declaration. Logins it verifies carry
// OPERATOR_REALM_ID and land in completeLogin's operator branch, which opens an operator session
// only for the declared operators and only from these IdPs. Its pages (discovery, logout, errors)
// are drawn in the console's shell, never a tenant's: the console has no tenant logo or portal.
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FastifyError, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { OPERATOR_REALM_ID, OperatorDeclarationError, type OperatorDeclaration } from '../identity/operator.js';
import { generateKeyAndCertificate } from '../identity/saml/certificate.js';
import { createIdpResolver } from '../identity/saml/idp.js';
import type { SpKeyStore, SpKeys } from '../identity/saml/keys.js';
import type { SamlShell } from '../identity/saml/pages.js';
import { samlRoutes, type SamlRoutesOptions } from '../identity/saml/routes.js';
import { DomainError } from '../platform/errors.js';
import type { Declaration } from '../tenancy/declaration.js';
import type { Tenant } from '../tenancy/registry.js';
import { sendPage } from '../web/render.js';
import { wantsJson } from '../web/plugin.js';
import { operatorPageContext } from './context.js';
import { OperatorLayout, OperatorMessagePage } from './pages.js';
import { operatorHostConstraint } from './routes.js';

/** The console as the SAML layer sees a tenant. Never in the registry: no tenant route can see it. */
export function operatorTenant(operator: OperatorDeclaration): Tenant {
  const declaration: Declaration = {
    // The IdP resolver reads declared files in <filesDir>/<slug>/: here, the declaration's folder.
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

/** The console's shell for the SAML pages. */
export function operatorShell(request: FastifyRequest, operator: OperatorDeclaration): SamlShell {
  const ctx = operatorPageContext(request, operator);
  return { locale: ctx.locale, page: (props) => <OperatorLayout ctx={ctx} {...props} /> };
}

export type OperatorSamlOptions = Omit<SamlRoutesOptions, 'keyStore' | 'idpResolver' | 'keySecret'> & {
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
  // A refused login or logout on the console: the console's error page. JSON callers, and what
  // is not a 4xx the SAML layer chose, go on to the global handler (it hides internals).
  scope.setErrorHandler((error: FastifyError | DomainError, request, reply) => {
    const status = error instanceof DomainError ? error.status : error.statusCode;
    if (wantsJson(request) || status === undefined || status < 400 || status >= 600 || (!(error instanceof DomainError) && status >= 500)) throw error;
    if (status >= 500) request.log.error({ err: error }, error.message);
    const ctx = operatorPageContext(request, operator);
    const title = `${ctx.t('error.title')} ${status}`;
    return sendPage(reply, <OperatorMessagePage ctx={ctx} title={title} message={error.message} requestId={request.id} />, status);
  });
  await scope.register(samlRoutes, {
    ...options,
    shell: (request) => operatorShell(request, operator),
    keySecret: 'unused: the operator keys are files',
    keyStore: await operatorKeyStore(operator, options.production),
    idpResolver: createIdpResolver({ database: options.database, filesDir: dirname(operator.dir), onProblem: (m) => scope.log.warn(m) }),
  });
};
