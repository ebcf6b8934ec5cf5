// The identity providers of a tenant, from its declaration (identity.providers): a metadata file
// in tenants/<slug>/, a metadata URL, or explicit fields. Whatever the source, what a login trusts
// is the IdP's entity stored in saml_idp_metadata, which every replica reads: `tenants apply`
// copies it from the metadata file, or builds it from the explicit fields and their certificate
// files (storedIdpsOf); refreshIdpMetadata fetches and signature-checks a metadata URL's. So serve
// replicas need no tenants/ folder. Only the operator console, whose declaration is a file of the
// deployment and not a registry row, reads its files where they are (filesDir).
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLSerializer } from '@xmldom/xmldom';
import type { DbHandle } from '../../platform/db.js';
import type { Declaration } from '../../tenancy/declaration.js';
import type { Tenant, TenantRegistry } from '../../tenancy/registry.js';
import { certificateBody, certificatePem } from './certificate.js';
import { ScopePatternError, compileScopePattern } from './scopes.js';
import { verifyEnvelopedSignature } from './signature.js';
import './tables.js';
import { NS, SamlValidationError, attr, children, descendants, escapeXml, parseUntrustedXml, textOf } from './xml.js';

type ProviderDeclaration = NonNullable<Declaration['identity']>['providers'][number];

export interface IdpConfig {
  readonly entityId: string;
  readonly name: { readonly fr: string; readonly en?: string | undefined };
  readonly ssoUrl: string;
  readonly sloUrl: string | undefined;
  /** PEM signing certificates: any of them may sign (rollover). */
  readonly certificates: readonly string[];
  readonly scopes: readonly string[];
  /** shibmd:Scope regexp="true" of its metadata, compiled anchored (src/identity/saml/scopes.ts). */
  readonly scopePatterns: readonly RegExp[];
}

const REDIRECT = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
const MAX_METADATA_BYTES = 100 * 1024 * 1024;

/** The IdP of an EntityDescriptor (trusted input: a file of the declaration, or a verified fetch). */
export function idpFromEntity(entity: Element, provider: ProviderDeclaration, onProblem?: (message: string) => void): IdpConfig {
  const descriptor = children(entity, NS.metadata, 'IDPSSODescriptor')[0];
  if (!descriptor) throw new Error(`${provider.entityId}: no IDPSSODescriptor in its metadata`);
  const location = (name: string) => children(descriptor, NS.metadata, name).find((s) => attr(s, 'Binding') === REDIRECT)?.getAttribute('Location') ?? undefined;
  const certificates = children(descriptor, NS.metadata, 'KeyDescriptor')
    .filter((k) => (attr(k, 'use') ?? 'signing') === 'signing')
    .flatMap((k) => descendants(k, NS.dsig, 'X509Certificate').map((c) => certificatePem(textOf(c))));
  const extensions = children(descriptor, NS.metadata, 'Extensions')[0];
  const declaredScopes = extensions ? children(extensions, NS.shibmd, 'Scope') : [];
  const isRegexp = (s: Element) => ['true', '1'].includes(attr(s, 'regexp')?.trim() ?? '');
  const scopes = declaredScopes.filter((s) => !isRegexp(s)).map((s) => textOf(s));
  const scopePatterns = declaredScopes.filter(isRegexp).flatMap((s) => {
    try {
      return [compileScopePattern(textOf(s))];
    } catch (error) {
      if (!(error instanceof ScopePatternError)) throw error;
      // Left out: values it would have allowed are refused, never accepted.
      onProblem?.(`${provider.entityId}: shibmd:Scope regexp ignored: ${error.message}`);
      return [];
    }
  });
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
    // Scopes declared for the provider replace those of its metadata, patterns included.
    scopes: provider.scopes ?? scopes,
    scopePatterns: provider.scopes ? [] : scopePatterns,
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

/** Where stored entities of declared (not URL) providers say they came from (saml_idp_metadata.source_url). */
const fileSource = (name: string) => `file:${name}`;
const DECLARATION_SOURCE = 'declaration';

export function createIdpResolver(options: {
  database: DbHandle;
  /** Read metadata and certificate files from <filesDir>/<slug>/ instead of the database (the operator console). */
  filesDir?: string;
  onProblem?: (message: string) => void;
}): IdpResolver {
  const cache = new WeakMap<Tenant, { at: number; providers: Promise<IdpConfig[]> }>();

  async function fromFiles(dir: string, provider: ProviderDeclaration): Promise<IdpConfig> {
    if (provider.metadataFile) {
      const xml = await readFile(join(dir, provider.metadataFile), 'utf8');
      const root = parseUntrustedXml(xml, MAX_METADATA_BYTES, { allowComments: true }).documentElement!;
      const entity = findEntity(root, provider.entityId);
      if (!entity) throw new Error(`${provider.entityId} is not in ${provider.metadataFile}`);
      return idpFromEntity(entity, provider, options.onProblem);
    }
    if (!provider.ssoUrl || !provider.certificates) throw new Error(`${provider.entityId}: needs metadataFile, or ssoUrl and certificates`);
    const certificates = await Promise.all(provider.certificates.map((file) => readFile(join(dir, file), 'utf8')));
    return explicitIdp(provider, certificates.flatMap(splitPems));
  }

  async function resolve(tenant: Tenant, provider: ProviderDeclaration): Promise<IdpConfig> {
    if (options.filesDir && !provider.metadataUrl) return fromFiles(join(options.filesDir, tenant.slug), provider);
    const row = await options.database.readTenant(tenant.id, (db) =>
      db.selectFrom('saml_idp_metadata').select(['xml', 'valid_until', 'source_url']).where('tenant_id', '=', tenant.id).where('entity_id', '=', provider.entityId).executeTakeFirst(),
    );
    const source = provider.metadataUrl ?? (provider.metadataFile ? fileSource(provider.metadataFile) : DECLARATION_SOURCE);
    if (!row || row.source_url !== source) {
      throw new Error(provider.metadataUrl ? `${provider.entityId}: its metadata has not been fetched yet (refreshIdpMetadata)` : `${provider.entityId}: not stored yet: run \`portique tenants apply\``);
    }
    if (row.valid_until && row.valid_until.getTime() < Date.now()) throw new Error(`${provider.entityId}: its stored metadata expired on ${row.valid_until.toISOString()}`);
    return idpFromEntity(parseUntrustedXml(row.xml, MAX_METADATA_BYTES).documentElement!, provider, options.onProblem);
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

function explicitIdp(provider: ProviderDeclaration, certificates: string[]): IdpConfig {
  return {
    entityId: provider.entityId,
    name: { fr: provider.name?.fr ?? provider.entityId, en: provider.name?.en },
    ssoUrl: provider.ssoUrl!,
    sloUrl: provider.sloUrl,
    certificates,
    scopes: provider.scopes ?? [],
    scopePatterns: [],
  };
}

/** The entity saml_idp_metadata keeps for an IdP given by explicit fields (what idpFromEntity reads). */
function explicitEntityXml(provider: ProviderDeclaration, certificates: string[]): string {
  const keys = certificates.map((c) => `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificateBody(c)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`);
  const service = (name: string, url: string | undefined) => (url ? `<md:${name} Binding="${REDIRECT}" Location="${escapeXml(url)}"/>` : '');
  return (
    `<md:EntityDescriptor xmlns:md="${NS.metadata}" xmlns:ds="${NS.dsig}" entityID="${escapeXml(provider.entityId)}">` +
    `<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keys.join('')}` +
    `${service('SingleLogoutService', provider.sloUrl)}${service('SingleSignOnService', provider.ssoUrl)}</md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

/** An IdP's entity as `tenants apply` stores it (saml_idp_metadata), from the files of the declaration. */
export interface StoredIdp {
  entityId: string;
  source: string;
  xml: string;
  validUntil: Date | null;
}

/** The certificates that sign a metadataUrl's document, as `tenants apply` stores them (saml_metadata_signers). */
export interface MetadataSigner {
  entityId: string;
  metadataUrl: string;
  certificates: string;
}

export interface DeclaredIdpProblem {
  field: string;
  reason: string;
}

/**
 * Reads the metadata and certificate files a tenant's providers name, in tenants/<slug>/, and
 * returns the entity of each as it will be stored, checked as a login would use it. A file that
 * does not exist yet is a warning (the IdP may be declared before the federation has published
 * it; its logins stay unavailable until it is there and applied again); a file that is there but
 * unusable is a problem, and nothing is applied.
 */
export async function storedIdpsOf(
  dir: string,
  providers: readonly ProviderDeclaration[],
): Promise<{ idps: StoredIdp[]; signers: MetadataSigner[]; problems: DeclaredIdpProblem[]; warnings: DeclaredIdpProblem[] }> {
  const idps: StoredIdp[] = [];
  const signers: MetadataSigner[] = [];
  const problems: DeclaredIdpProblem[] = [];
  const warnings: DeclaredIdpProblem[] = [];
  for (const [i, provider] of providers.entries()) {
    const at = `identity.providers.${i}`;
    if (providers.findIndex((p) => p.entityId === provider.entityId) !== i) {
      problems.push({ field: `${at}.entityId`, reason: `${provider.entityId} is declared twice` });
      continue;
    }
    if (provider.metadataUrl) {
      const signer = await metadataSignerOf(dir, at, provider, problems, warnings);
      if (signer) signers.push(signer);
      continue;
    }
    const files = provider.metadataFile ? [['metadataFile', provider.metadataFile] as const] : (provider.certificates ?? []).map((f, j) => [`certificates.${j}`, f] as const);
    if (files.length === 0 || (!provider.metadataFile && !provider.ssoUrl)) {
      warnings.push({ field: at, reason: `${provider.entityId} needs metadataFile, metadataUrl, or ssoUrl and certificates: its logins are unavailable` });
      continue;
    }
    const texts: string[] = [];
    for (const [field, name] of files) {
      const path = join(dir, name);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) warnings.push({ field: `${at}.${field}`, reason: `${path} does not exist: logins through ${provider.entityId} are unavailable until it does and is applied` });
      else if (info.size > MAX_METADATA_BYTES) problems.push({ field: `${at}.${field}`, reason: `${path} is larger than ${MAX_METADATA_BYTES / 2 ** 20} MiB` });
      else texts.push(await readFile(path, 'utf8'));
    }
    if (texts.length < files.length) continue;
    try {
      if (provider.metadataFile) {
        const root = parseUntrustedXml(texts[0]!, MAX_METADATA_BYTES, { allowComments: true }).documentElement!;
        const entity = findEntity(root, provider.entityId);
        if (!entity) throw new Error(`${provider.entityId} is not in it`);
        const usable = idpFromEntity(entity, provider, (reason) => warnings.push({ field: `${at}.metadataFile`, reason }));
        if (usable.certificates.length === 0) throw new Error(`${provider.entityId} has no signing certificate in it`);
        const validUntil = attr(entity, 'validUntil') ?? (root === entity ? undefined : attr(root, 'validUntil'));
        idps.push({ entityId: provider.entityId, source: fileSource(provider.metadataFile), xml: new XMLSerializer().serializeToString(entity), validUntil: validUntil ? new Date(validUntil) : null });
      } else {
        const certificates = texts.flatMap(splitPems);
        if (certificates.length === 0) throw new Error('no PEM certificate in the certificate files');
        idps.push({ entityId: provider.entityId, source: DECLARATION_SOURCE, xml: explicitEntityXml(provider, certificates), validUntil: null });
      }
    } catch (error) {
      const reason = error instanceof SamlValidationError ? error.reason : (error as Error).message;
      problems.push({ field: `${at}.${provider.metadataFile ? 'metadataFile' : 'certificates'}`, reason });
    }
  }
  return { idps, signers, problems, warnings };
}

async function metadataSignerOf(dir: string, at: string, provider: ProviderDeclaration, problems: DeclaredIdpProblem[], warnings: DeclaredIdpProblem[]): Promise<MetadataSigner | undefined> {
  const unavailable = `the metadata at ${provider.metadataUrl} cannot be checked, so logins through ${provider.entityId} are unavailable`;
  if (!provider.metadataSigningCertificate) {
    warnings.push({ field: `${at}.metadataSigningCertificate`, reason: `is needed with metadataUrl: ${unavailable}` });
    return undefined;
  }
  const path = join(dir, provider.metadataSigningCertificate);
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) {
    warnings.push({ field: `${at}.metadataSigningCertificate`, reason: `${path} does not exist: ${unavailable} until it does and is applied` });
    return undefined;
  }
  const certificates = info.size > 1024 * 1024 ? [] : splitPems(await readFile(path, 'utf8'));
  if (certificates.length === 0) {
    problems.push({ field: `${at}.metadataSigningCertificate`, reason: `${path}: no PEM certificate in it` });
    return undefined;
  }
  return { entityId: provider.entityId, metadataUrl: provider.metadataUrl!, certificates: certificates.join('') };
}

/** What changes when stored IdPs or metadata signers change (part of a tenant's digest). */
export function storedIdpsDigest(idps: readonly StoredIdp[], signers: readonly MetadataSigner[]): string {
  return createHash('sha256')
    .update(JSON.stringify(idps.map((i) => [i.entityId, i.source, i.xml, i.validUntil?.toISOString() ?? null])))
    .update(JSON.stringify(signers.map((s) => [s.entityId, s.metadataUrl, s.certificates])))
    .digest('hex');
}

export interface RefreshResult {
  entityId: string;
  validUntil: Date | undefined;
}

/**
 * Fetches a provider's metadataUrl, verifies the document's signature against the declared
 * metadataSigningCertificate (as `tenants apply` stored it: no tenants/ folder needed), picks the
 * entity by entityID and stores it. Run by the saml.refresh-metadata job (every
 * provider.refreshMinutes).
 */
export async function refreshIdpMetadata(options: { database: DbHandle; fetch?: typeof fetch }, tenant: Tenant, provider: ProviderDeclaration): Promise<RefreshResult> {
  if (!provider.metadataUrl) throw new Error(`${provider.entityId} has no metadataUrl`);
  if (!provider.metadataSigningCertificate) throw new Error(`${provider.entityId}: metadataUrl needs metadataSigningCertificate`);
  const signer = await options.database.readTenant(tenant.id, (db) =>
    db.selectFrom('saml_metadata_signers').select(['metadata_url', 'certificates']).where('tenant_id', '=', tenant.id).where('entity_id', '=', provider.entityId).executeTakeFirst(),
  );
  if (signer?.metadata_url !== provider.metadataUrl) {
    throw new Error(`${provider.entityId}: no metadataSigningCertificate stored for ${provider.metadataUrl}: run \`portique tenants apply\``);
  }
  const certificates = splitPems(signer.certificates);
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
export async function refreshAllIdpMetadata(options: { database: DbHandle; fetch?: typeof fetch }, registry: TenantRegistry) {
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
