// The identity providers of a tenant, from its declaration (identity.providers): a metadata file
// in tenants/<slug>/, a metadata URL (fetched and signature-checked by refreshIdpMetadata, stored
// in saml_idp_metadata so every replica sees it), or explicit fields.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLSerializer } from '@xmldom/xmldom';
import type { DbHandle } from '../../platform/db.js';
import type { Declaration } from '../../tenancy/declaration.js';
import type { Tenant, TenantRegistry } from '../../tenancy/registry.js';
import { certificatePem } from './certificate.js';
import { verifyEnvelopedSignature } from './signature.js';
import './tables.js';
import { NS, SamlValidationError, attr, children, descendants, parseUntrustedXml, textOf } from './xml.js';

type ProviderDeclaration = NonNullable<Declaration['identity']>['providers'][number];

export interface IdpConfig {
  readonly entityId: string;
  readonly name: { readonly fr: string; readonly en?: string | undefined };
  readonly ssoUrl: string;
  readonly sloUrl: string | undefined;
  /** PEM signing certificates: any of them may sign (rollover). */
  readonly certificates: readonly string[];
  readonly scopes: readonly string[];
}

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const MAX_METADATA_BYTES = 100 * 1024 * 1024;

/** The IdP of an EntityDescriptor (trusted input: a file of the declaration, or a verified fetch). */
export function idpFromEntity(entity: Element, provider: ProviderDeclaration): IdpConfig {
  const descriptor = children(entity, NS.metadata, 'IDPSSODescriptor')[0];
  if (!descriptor) throw new Error(`${provider.entityId}: no IDPSSODescriptor in its metadata`);
  const location = (name: string) => children(descriptor, NS.metadata, name).find((s) => attr(s, 'Binding') === REDIRECT)?.getAttribute('Location') ?? undefined;
  const certificates = children(descriptor, NS.metadata, 'KeyDescriptor')
    .filter((k) => (attr(k, 'use') ?? 'signing') === 'signing')
    .flatMap((k) => descendants(k, NS.dsig, 'X509Certificate').map((c) => certificatePem(textOf(c))));
  const extensions = children(descriptor, NS.metadata, 'Extensions')[0];
  const scopes = extensions
    ? children(extensions, NS.shibmd, 'Scope')
        .filter((s) => attr(s, 'regexp') !== 'true')
        .map((s) => textOf(s))
    : [];
  const displayNames = extensions ? descendants(extensions, NS.mdui, 'DisplayName') : [];
  const display = (lang: string) => displayNames.find((d) => d.getAttributeNS('http://www.w3.org/XML/1998/namespace', 'lang') === lang);
  const ssoUrl = provider.ssoUrl ?? location('SingleSignOnService');
  if (!ssoUrl) throw new Error(`${provider.entityId}: no SingleSignOnService with the HTTP-Redirect binding`);
  const fr = provider.name?.fr ?? (display('fr') ? textOf(display('fr')!) : undefined) ?? (displayNames[0] ? textOf(displayNames[0]) : provider.entityId);
  const en = provider.name?.en ?? (display('en') ? textOf(display('en')!) : undefined);
  return {
    entityId: provider.entityId,
    name: { fr, en },
    ssoUrl,
    sloUrl: provider.sloUrl ?? location('SingleLogoutService'),
    certificates,
    scopes: provider.scopes ?? scopes,
  };
}

/** The EntityDescriptor for `entityId` in a metadata document (one entity or an aggregate). */
export function findEntity(root: Element, entityId: string): Element | undefined {
  if (root.namespaceURI === NS.metadata && root.localName === 'EntityDescriptor') return attr(root, 'entityID') === entityId ? root : undefined;
  return descendants(root, NS.metadata, 'EntityDescriptor').find((e) => attr(e, 'entityID') === entityId);
}

export interface IdpResolver {
  /** The tenant's usable IdPs; a provider whose metadata is missing is left out (and logged). */
  providers(tenant: Tenant): Promise<IdpConfig[]>;
}

export function createIdpResolver(options: { database: DbHandle; tenantsDir: string; onProblem?: (message: string) => void }): IdpResolver {
  const cache = new WeakMap<Tenant, { at: number; providers: Promise<IdpConfig[]> }>();

  async function resolve(tenant: Tenant, provider: ProviderDeclaration): Promise<IdpConfig> {
    const dir = join(options.tenantsDir, tenant.slug);
    if (provider.metadataFile) {
      const xml = await readFile(join(dir, provider.metadataFile), 'utf8');
      const root = parseUntrustedXml(xml, MAX_METADATA_BYTES, { allowComments: true }).documentElement!;
      const entity = findEntity(root, provider.entityId);
      if (!entity) throw new Error(`${provider.entityId} is not in ${provider.metadataFile}`);
      return idpFromEntity(entity, provider);
    }
    if (provider.metadataUrl) {
      const row = await options.database.withTenant(tenant.id, (trx) =>
        trx.selectFrom('saml_idp_metadata').select(['xml', 'valid_until']).where('tenant_id', '=', tenant.id).where('entity_id', '=', provider.entityId).executeTakeFirst(),
      );
      if (!row) throw new Error(`${provider.entityId}: its metadata has not been fetched yet (refreshIdpMetadata)`);
      if (row.valid_until && row.valid_until.getTime() < Date.now()) throw new Error(`${provider.entityId}: its stored metadata expired on ${row.valid_until.toISOString()}`);
      return idpFromEntity(parseUntrustedXml(row.xml, MAX_METADATA_BYTES).documentElement!, provider);
    }
    if (!provider.ssoUrl || !provider.certificates) throw new Error(`${provider.entityId}: needs metadataFile, metadataUrl, or ssoUrl and certificates`);
    const certificates = await Promise.all(provider.certificates.map((file) => readFile(join(dir, file), 'utf8')));
    return {
      entityId: provider.entityId,
      name: { fr: provider.name?.fr ?? provider.entityId, en: provider.name?.en },
      ssoUrl: provider.ssoUrl,
      sloUrl: provider.sloUrl,
      certificates: certificates.flatMap(splitPems),
      scopes: provider.scopes ?? [],
    };
  }

  async function load(tenant: Tenant): Promise<IdpConfig[]> {
    const declared = tenant.declaration.identity?.providers ?? [];
    const settled = await Promise.allSettled(declared.map((p) => resolve(tenant, p)));
    const out: IdpConfig[] = [];
    settled.forEach((result, i) => {
      if (result.status === 'fulfilled') out.push(result.value);
      else options.onProblem?.(`tenant ${tenant.slug}: identity provider ${declared[i]!.entityId} unusable: ${(result.reason as Error).message}`);
    });
    return out;
  }

  return {
    providers(tenant) {
      const hit = cache.get(tenant);
      if (hit && Date.now() - hit.at < 60_000) return hit.providers;
      const providers = load(tenant);
      cache.set(tenant, { at: Date.now(), providers });
      return providers;
    },
  };
}

export function splitPems(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((pem) => certificatePem(pem.replace(/-----[A-Z ]+-----/g, ''))) ?? [];
}

export interface RefreshResult {
  entityId: string;
  validUntil: Date | undefined;
}

/**
 * Fetches a provider's metadataUrl, verifies the document's signature against the declared
 * metadataSigningCertificate, picks the entity by entityID and stores it. Meant to be run by a
 * scheduled job (every provider.refreshMinutes) and once when a tenant is applied.
 */
export async function refreshIdpMetadata(
  options: { database: DbHandle; tenantsDir: string; fetch?: typeof fetch },
  tenant: Tenant,
  provider: ProviderDeclaration,
): Promise<RefreshResult> {
  if (!provider.metadataUrl) throw new Error(`${provider.entityId} has no metadataUrl`);
  if (!provider.metadataSigningCertificate) throw new Error(`${provider.entityId}: metadataUrl needs metadataSigningCertificate`);
  const certificates = splitPems(await readFile(join(options.tenantsDir, tenant.slug, provider.metadataSigningCertificate), 'utf8'));
  const response = await (options.fetch ?? fetch)(provider.metadataUrl, { signal: AbortSignal.timeout(60_000), redirect: 'error' });
  if (!response.ok) throw new Error(`${provider.metadataUrl} answered ${response.status}`);
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > MAX_METADATA_BYTES) throw new SamlValidationError('metadata too large', 413);
  const xml = await response.text();
  const doc = parseUntrustedXml(xml, MAX_METADATA_BYTES, { allowComments: true });
  const signed = verifyEnvelopedSignature(doc.documentElement!, certificates);
  const validUntil = attr(signed, 'validUntil');
  if (validUntil && Date.parse(validUntil) < Date.now()) throw new SamlValidationError('the metadata has expired (validUntil)');
  const entity = findEntity(signed, provider.entityId);
  if (!entity) throw new Error(`${provider.entityId} is not in ${provider.metadataUrl}`);
  idpFromEntity(entity, provider); // usable before it replaces what works
  const entityXml = new XMLSerializer().serializeToString(entity);
  const until = validUntil ? new Date(validUntil) : null;
  await options.database.withTenant(tenant.id, (trx) =>
    trx
      .insertInto('saml_idp_metadata')
      .values({ tenant_id: tenant.id, entity_id: provider.entityId, source_url: provider.metadataUrl!, xml: entityXml, valid_until: until, fetched_at: new Date() })
      .onConflict((oc) => oc.columns(['tenant_id', 'entity_id']).doUpdateSet({ source_url: provider.metadataUrl!, xml: entityXml, valid_until: until, fetched_at: new Date() }))
      .execute(),
  );
  return { entityId: provider.entityId, validUntil: until ?? undefined };
}

/** Refreshes every metadataUrl provider of every tenant; failures are returned, not thrown. */
export async function refreshAllIdpMetadata(options: { database: DbHandle; tenantsDir: string; fetch?: typeof fetch }, registry: TenantRegistry) {
  const results: { tenant: string; entityId: string; error?: string }[] = [];
  for (const tenant of registry.all()) {
    for (const provider of tenant.declaration.identity?.providers ?? []) {
      if (!provider.metadataUrl) continue;
      try {
        await refreshIdpMetadata(options, tenant, provider);
        results.push({ tenant: tenant.slug, entityId: provider.entityId });
      } catch (error) {
        results.push({ tenant: tenant.slug, entityId: provider.entityId, error: (error as Error).message });
      }
    }
  }
  return results;
}
