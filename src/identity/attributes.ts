// What a tenant requires of a login before anyone is provisioned or logged in: the identifier
// (eduPersonPrincipalName by default, another attribute, or 'nameid' for a persistent NameID)
// and the required attributes (identity.attributes.required, default displayName).
import type { Declaration } from '../tenancy/declaration.js';
import type { VerifiedLogin } from './verified-login.js';

export const PERSISTENT_NAMEID = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const DEFAULT_IDENTIFIER = 'eduPersonPrincipalName';
const DEFAULT_REQUIRED = ['displayName'];

export interface LoginProfile {
  /** people.external_id: the identifier's value (for a NameID, qualified by the IdP). */
  readonly externalId: string;
  readonly displayName: string;
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly mail: string | null;
  readonly affiliations: string[];
}

export type ProfileResult =
  | { readonly ok: true; readonly profile: LoginProfile }
  /** `missing` names the attributes (or 'NameID (persistent)') the login lacked. */
  | { readonly ok: false; readonly missing: string[] };

type Identity = Declaration['identity'];

export function identifierOf(identity: Identity): string {
  return identity?.attributes?.identifier ?? DEFAULT_IDENTIFIER;
}

export function requiredAttributes(identity: Identity): string[] {
  const identifier = identifierOf(identity);
  const declared = identity?.attributes?.required ?? DEFAULT_REQUIRED;
  return [...new Set([...(identifier === 'nameid' ? [] : [identifier]), ...declared])];
}

/** The first non-blank value of an attribute. */
function first(login: VerifiedLogin, name: string): string | undefined {
  return login.attributes[name]?.map((v) => v.trim()).find((v) => v !== '');
}

export function profileOf(login: VerifiedLogin, identity: Identity): ProfileResult {
  const missing = requiredAttributes(identity).filter((name) => first(login, name) === undefined);
  const identifier = identifierOf(identity);
  let externalId: string | undefined;
  if (identifier === 'nameid') {
    // A transient NameID changes at every login: it cannot identify anyone.
    if (login.nameId.format === PERSISTENT_NAMEID && login.nameId.value.trim() !== '') {
      // Persistent NameIDs are only unique per IdP (Shibboleth's "idp!sp!value" convention).
      externalId = `${login.idpEntityId}!${login.nameId.value.trim()}`;
    } else missing.unshift('NameID (persistent)');
  } else externalId = first(login, identifier);
  if (missing.length > 0 || !externalId) return { ok: false, missing };

  const givenName = first(login, 'givenName') ?? null;
  const familyName = first(login, 'sn') ?? null;
  const fullName = [givenName, familyName].filter(Boolean).join(' ');
  const affiliations = [
    ...new Set([...(login.attributes.eduPersonAffiliation ?? []), ...(login.attributes.eduPersonPrimaryAffiliation ?? [])].map((v) => v.trim().toLowerCase())),
  ].filter(Boolean);
  return {
    ok: true,
    profile: {
      externalId: externalId.slice(0, 500),
      displayName: (first(login, 'displayName') ?? (fullName || externalId)).slice(0, 300),
      givenName: givenName?.slice(0, 200) ?? null,
      familyName: familyName?.slice(0, 200) ?? null,
      mail: first(login, 'mail')?.slice(0, 320) ?? null,
      affiliations,
    },
  };
}

/** Mapped attributes as stored on the person: plain arrays, bounded. */
export function storedAttributes(login: VerifiedLogin): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(login.attributes).slice(0, 100)) {
    out[name] = values.slice(0, 100).map((v) => v.slice(0, 1000));
  }
  return out;
}
