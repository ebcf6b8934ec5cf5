// The boundary between the SAML protocol layer (src/identity/saml/) and the rest of identity
// (sessions, people, roles): what a login proved, after every check of the SAML layer passed.
// Nothing past this boundary reads XML.

export interface VerifiedLogin {
  readonly tenantId: string;
  /** entityID of the IdP that signed the assertion. */
  readonly idpEntityId: string;
  readonly nameId: { readonly value: string; readonly format: string | undefined };
  /** For single logout. */
  readonly sessionIndex: string | undefined;
  /**
   * Attribute values keyed by Portique attribute name (eduPersonPrincipalName, mail, displayName,
   * eduPersonAffiliation, ...), after the default eduPerson/SUPANN map and the tenant's own map,
   * with scoped values already checked against the IdP's declared scopes.
   */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
  /** Where the person asked to go: a relative path on the same host (already checked). */
  readonly returnTo: string;
  /**
   * The session the browser had when it asked to log in (noted at /connexion, kept server-side
   * with the request): the IdP's POST is cross-site and comes without the cookie, so this is how
   * the old session is ended instead of lingering.
   */
  readonly replacesSession?: { readonly personId: string; readonly handle: string } | undefined;
}
