// SAML attributes -> Portique attribute names: the default eduPerson/SUPANN map (urn:oid names
// with the uri NameFormat, and the plain or friendly names some IdPs send), then the tenant's map.
import { scopeAllowed } from './scopes.js';
import { SamlValidationError } from './xml.js';

/** Portique name -> OID. */
export const DEFAULT_ATTRIBUTES: Readonly<Record<string, string>> = {
  eduPersonPrincipalName: '1.3.6.1.4.1.5923.1.1.1.6',
  eduPersonAffiliation: '1.3.6.1.4.1.5923.1.1.1.1',
  eduPersonPrimaryAffiliation: '1.3.6.1.4.1.5923.1.1.1.5',
  eduPersonScopedAffiliation: '1.3.6.1.4.1.5923.1.1.1.9',
  eduPersonEntitlement: '1.3.6.1.4.1.5923.1.1.1.7',
  mail: '0.9.2342.19200300.100.1.3',
  displayName: '2.16.840.1.113730.3.1.241',
  givenName: '2.5.4.42',
  sn: '2.5.4.4',
  cn: '2.5.4.3',
  supannEtuId: '1.3.6.1.4.1.7135.1.2.1.10',
  supannEmpId: '1.3.6.1.4.1.7135.1.2.1.11',
  supannEntiteAffectation: '1.3.6.1.4.1.7135.1.2.1.8',
  supannEtablissement: '1.3.6.1.4.1.7135.1.2.1.14',
};

/** Attributes whose values are user@scope and must carry a scope the IdP declares. */
export const SCOPED_ATTRIBUTES = new Set(['eduPersonPrincipalName', 'eduPersonScopedAffiliation']);

const BY_NAME = new Map<string, string>();
for (const [name, oid] of Object.entries(DEFAULT_ATTRIBUTES)) {
  BY_NAME.set(`urn:oid:${oid}`, name);
  BY_NAME.set(oid, name);
  BY_NAME.set(name, name);
  BY_NAME.set(name.toLowerCase(), name);
}

export interface RawAttribute {
  name: string;
  friendlyName: string | undefined;
  values: string[];
}

/**
 * Maps raw attributes; the tenant's map (by Name or FriendlyName) wins over the default map.
 * Scoped values must carry one of `scopes` or match one of `scopePatterns`, else the whole login is refused: one university's IdP
 * must not assert another university's people.
 */
export function mapAttributes(
  raw: readonly RawAttribute[],
  tenantMap: Readonly<Record<string, string>>,
  scopes: readonly string[],
  scopePatterns: readonly RegExp[] = [],
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const attribute of raw) {
    const target =
      tenantMap[attribute.name] ??
      (attribute.friendlyName ? tenantMap[attribute.friendlyName] : undefined) ??
      BY_NAME.get(attribute.name) ??
      (attribute.friendlyName ? BY_NAME.get(attribute.friendlyName) ?? BY_NAME.get(attribute.friendlyName.toLowerCase()) : undefined);
    if (!target) continue;
    if (SCOPED_ATTRIBUTES.has(target)) {
      for (const value of attribute.values) {
        const at = value.lastIndexOf('@');
        const scope = at > 0 ? value.slice(at + 1).toLowerCase() : '';
        if (!scope || !scopeAllowed(scope, scopes, scopePatterns)) {
          throw new SamlValidationError(`${target} has a scope this identity provider may not assert ("${scope || 'none'}")`, 403);
        }
      }
    }
    out[target] = [...(out[target] ?? []), ...attribute.values];
  }
  return out;
}
