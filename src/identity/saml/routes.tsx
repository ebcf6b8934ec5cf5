// The SAML endpoints of every tenant: SP metadata, login (discovery, AuthnRequest), the ACS, and
// single logout. What happens after a verified login (people, roles, sessions) is handed over to
// the functions in the options; nothing past them reads XML.
import { createHash } from 'node:crypto';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { DbHandle } from '../../platform/db.js';
import { DomainError, NotFoundError } from '../../platform/errors.js';
import type { Tenant } from '../../tenancy/registry.js';
import { localeOf, pageContext } from '../../web/context.js';
import { sendPage } from '../../web/render.js';
import type { VerifiedLogin } from '../verified-login.js';
import { mapAttributes } from './attributes.js';
import { redirectUrl } from './binding.js';
import { createIdpResolver, type IdpConfig, type IdpResolver } from './idp.js';
import { createSpKeyStore, type SpKeyStore } from './keys.js';
import { readLogoutMessage } from './logout.js';
import { samlText } from './messages.js';
import { Layout } from '../../web/layout.js';
import { DiscoveryPage, LogoutContinuePage, type SamlShell } from './pages.js';
import { validateLoginResponse, type PendingRequest } from './response.js';
import { authnRequestXml, logoutRequestXml, logoutResponseXml, newRequestId, spEndpoints, spMetadata } from './sp.js';
import { SamlValidationError } from './xml.js';

/** What the SAML layer needs to know of the current session, for an SP-initiated logout. */
export interface SamlSessionInfo {
  readonly idpEntityId: string;
  readonly nameId: string;
  readonly nameIdFormat: string | undefined;
  readonly sessionIndex: string | undefined;
}

export interface SamlHandover {
  completeLogin(request: FastifyRequest, reply: FastifyReply, login: VerifiedLogin): Promise<FastifyReply>;
  endSessions(tenantId: string, nameId: string, sessionIndex?: string): Promise<number>;
  currentSession(request: FastifyRequest): SamlSessionInfo | null | undefined;
  /** The session a new login of this browser replaces (opaque to the SAML layer). */
  sessionToReplace?(request: FastifyRequest): { personId: string; handle: string } | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** false: no CSRF check (cross-site protocol endpoints that authenticate their messages). */
    csrf?: boolean;
  }
}

/** A base64 SAMLResponse of MAX_MESSAGE_BYTES, with room for RelayState: refused before parsing. */
const ACS_BODY_LIMIT = 400 * 1024;

export interface SamlRoutesOptions {
  database: DbHandle;
  redis: Redis;
  production: boolean;
  /** The public port in development (http://<host>:<port>); ignored in production (https). */
  port: number;
  keySecret: string;
  handover: SamlHandover;
  keyStore?: SpKeyStore;
  idpResolver?: IdpResolver;
  /** The shell of the SAML pages (default: the tenant's portal layout). */
  shell?: (request: FastifyRequest) => SamlShell;
}

/** The tenant's portal layout, for the SAML pages of a tenant host. */
export function tenantShell(request: FastifyRequest): SamlShell {
  const ctx = pageContext(request);
  return { locale: ctx.locale, page: (props) => <Layout ctx={ctx} {...props} /> };
}

const REQUEST_TTL_SECONDS = 10 * 60;
const IDP_COOKIE = 'portique_idp';
const RELAY_STATE = /^\/(?![/\\])[^\s\\]{0,1023}$/;
const redisKey = (tenant: Tenant, kind: string, id: string) => `portique:${tenant.id}:saml:${kind}:${createHash('sha256').update(id).digest('hex')}`;

export const samlRoutes: FastifyPluginAsync<SamlRoutesOptions> = async (app, options) => {
  const { redis, handover } = options;
  const shellOf = options.shell ?? tenantShell;
  const keyStore = options.keyStore ?? createSpKeyStore(options.database, options.keySecret);
  const idps = options.idpResolver ?? createIdpResolver({ database: options.database, onProblem: (m) => app.log.warn(m) });
  const sp = (tenant: Tenant) => spEndpoints(tenant, { production: options.production, port: options.port });
  const keysOf = (tenant: Tenant) => keyStore.keys(tenant.id, sp(tenant).entityId);

  function refused(request: FastifyRequest, error: unknown, key: 'refused' | 'logout.refused' = 'refused'): never {
    if (error instanceof SamlValidationError) {
      request.log.warn({ reason: error.reason }, 'SAML message refused');
      const status = error.status >= 500 ? 502 : error.status;
      throw new DomainError(status, 'saml_refused', samlText(localeOf(request), key, { reason: error.reason }));
    }
    throw error;
  }

  async function providers(request: FastifyRequest): Promise<IdpConfig[]> {
    const list = await idps.providers(request.tenant);
    if (list.length === 0) throw new DomainError(503, 'saml_unavailable', samlText(localeOf(request), 'unavailable'));
    return list;
  }

  app.get('/saml/metadata', async (request, reply) => {
    const xml = spMetadata(request.tenant, sp(request.tenant), await keysOf(request.tenant));
    return reply.type('application/samlmetadata+xml; charset=utf-8').header('cache-control', 'public, max-age=3600').send(xml);
  });

  app.get('/connexion', async (request, reply) => {
    const query = request.query as { retour?: unknown; idp?: unknown; q?: unknown };
    const returnTo = typeof query.retour === 'string' && RELAY_STATE.test(query.retour) ? query.retour : '/';
    const list = await providers(request);
    let idp: IdpConfig | undefined;
    if (typeof query.idp === 'string') {
      idp = list.find((i) => i.entityId === query.idp);
      if (!idp) throw new DomainError(400, 'saml_unknown_idp', samlText(localeOf(request), 'unknownIdp'));
    } else if (list.length === 1) {
      idp = list[0];
    }
    if (!idp) {
      const last = list.find((i) => i.entityId === request.cookies[IDP_COOKIE]);
      const q = typeof query.q === 'string' ? query.q.slice(0, 100) : '';
      return sendPage(reply, <DiscoveryPage ctx={shellOf(request)} idps={list} query={q} last={last} returnTo={returnTo} />);
    }
    if (list.length > 1) {
      reply.setCookie(IDP_COOKIE, idp.entityId, { path: '/', httpOnly: true, sameSite: 'lax', secure: options.production, maxAge: 365 * 24 * 3600 });
    }
    const endpoints = sp(request.tenant);
    const keys = await keysOf(request.tenant);
    const id = newRequestId();
    const replaces = handover.sessionToReplace?.(request);
    const pending: PendingRequest = { idp: idp.entityId, returnTo, ...(replaces ? { replaces } : {}) };
    await redis.set(redisKey(request.tenant, 'request', id), JSON.stringify(pending), 'EX', REQUEST_TTL_SECONDS);
    const url = redirectUrl(idp.ssoUrl, 'SAMLRequest', authnRequestXml(endpoints, { id, destination: idp.ssoUrl }), returnTo, keys.current.privateKey);
    return reply.header('cache-control', 'no-store').redirect(url, 303);
  });

  app.post('/saml/acs', { config: { csrf: false }, bodyLimit: ACS_BODY_LIMIT }, async (request, reply) => {
    const body = (request.body ?? {}) as { SAMLResponse?: unknown; RelayState?: unknown };
    const tenant = request.tenant;
    const declaration = tenant.declaration.identity;
    try {
      if (typeof body.SAMLResponse !== 'string' || body.SAMLResponse === '') throw new SamlValidationError('no SAMLResponse in the request');
      const relayState = body.RelayState;
      if (relayState !== undefined && (typeof relayState !== 'string' || !RELAY_STATE.test(relayState))) {
        throw new SamlValidationError('RelayState must be a path on this site');
      }
      const endpoints = sp(tenant);
      const keys = await keysOf(tenant);
      const result = await validateLoginResponse(body.SAMLResponse, {
        spEntityId: endpoints.entityId,
        acsUrl: endpoints.acsUrl,
        idps: await providers(request),
        decryptionKeys: [keys.current.privateKey, ...(keys.next ? [keys.next.privateKey] : [])],
        allowUnsolicited: declaration?.allowUnsolicited === true,
        claim: async (requestId, assertionId, until) => {
          const assertion = redisKey(tenant, 'assertion', assertionId);
          const pxat = Math.max(until.getTime(), Date.now() + 1000);
          if (requestId === undefined) return { request: undefined, firstUse: (await redis.set(assertion, '1', 'PXAT', pxat, 'NX')) === 'OK' };
          const replies = await redis.pipeline().getdel(redisKey(tenant, 'request', requestId)).set(assertion, '1', 'PXAT', pxat, 'NX').exec();
          if (!replies || replies.some(([error]) => error)) throw new Error('Redis refused the login request and assertion claim');
          const [[, raw], [, set]] = replies as [[null, string | null], [null, string | null]];
          return { request: raw ? (JSON.parse(raw) as PendingRequest) : undefined, firstUse: set === 'OK' };
        },
      });
      const attributes = mapAttributes(result.attributes, declaration?.attributes?.map ?? {}, result.idp.scopes, result.idp.scopePatterns);
      const identifier = declaration?.attributes?.identifier ?? 'eduPersonPrincipalName';
      const required = [...new Set([...(declaration?.attributes?.required ?? []), ...(identifier === 'nameid' ? [] : [identifier])])];
      const missing = required.filter((name) => !attributes[name]?.length);
      if (missing.length > 0) {
        request.log.warn({ missing }, 'SAML login without required attributes');
        throw new DomainError(403, 'saml_missing_attributes', samlText(localeOf(request), 'missing', { names: missing.join(', ') }));
      }
      const login: VerifiedLogin = {
        tenantId: tenant.id,
        idpEntityId: result.idp.entityId,
        nameId: result.nameId,
        sessionIndex: result.sessionIndex,
        attributes,
        returnTo: result.request?.returnTo ?? (typeof relayState === 'string' ? relayState : '/'),
        replacesSession: result.request?.replaces,
      };
      request.log.info({ idp: login.idpEntityId }, 'SAML login verified');
      return handover.completeLogin(request, reply, login);
    } catch (error) {
      refused(request, error);
    }
  });

  // SP-initiated single logout: the local sessions of this login end first, then the IdP is asked.
  app.post('/saml/deconnexion', async (request, reply) => {
    const session = handover.currentSession(request);
    if (!session) return reply.redirect('/', 303);
    const tenant = request.tenant;
    await handover.endSessions(tenant.id, session.nameId, session.sessionIndex);
    // The pages below must not show the person as still logged in.
    request.session = null;
    const idp = (await idps.providers(tenant)).find((i) => i.entityId === session.idpEntityId);
    if (!idp?.sloUrl) return reply.redirect('/', 303);
    const id = newRequestId();
    await redis.set(redisKey(tenant, 'logout', id), idp.entityId, 'EX', REQUEST_TTL_SECONDS);
    const xml = logoutRequestXml(sp(tenant), { id, destination: idp.sloUrl, nameId: session.nameId, nameIdFormat: session.nameIdFormat, sessionIndex: session.sessionIndex });
    const to = redirectUrl(idp.sloUrl, 'SAMLRequest', xml, undefined, (await keysOf(tenant)).current.privateKey);
    const shell = shellOf(request);
    const idpName = (shell.locale === 'en' && idp.name.en) || idp.name.fr;
    return sendPage(reply.header('cache-control', 'no-store'), <LogoutContinuePage ctx={shell} idpName={idpName} to={to} />);
  });

  async function singleLogout(request: FastifyRequest, reply: FastifyReply, binding: 'redirect' | 'post') {
    const tenant = request.tenant;
    const source = (binding === 'redirect' ? request.query : request.body ?? {}) as Record<string, unknown>;
    const kind = typeof source.SAMLRequest === 'string' ? 'SAMLRequest' : typeof source.SAMLResponse === 'string' ? 'SAMLResponse' : undefined;
    if (!kind) throw new NotFoundError();
    const endpoints = sp(tenant);
    try {
      const rawQuery = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      const keys = await keysOf(tenant);
      const message = await readLogoutMessage(
        binding === 'redirect' ? { binding, rawQuery, kind, value: source[kind] as string } : { binding, kind, value: source[kind] as string },
        { idps: await providers(request), sloUrl: endpoints.sloUrl, decryptionKeys: [keys.current.privateKey, ...(keys.next ? [keys.next.privateKey] : [])] },
      );
      if (message.kind === 'response') {
        const idp = await redis.getdel(redisKey(tenant, 'logout', message.inResponseTo));
        if (idp !== message.idp.entityId) throw new SamlValidationError('this logout response answers no logout in progress', 403);
        request.log.info({ idp, success: message.success }, 'SAML single logout completed');
        return reply.redirect('/', 303);
      }
      const indexes = message.sessionIndexes.length ? message.sessionIndexes : [undefined];
      let ended = 0;
      for (const index of indexes) ended += await handover.endSessions(tenant.id, message.nameId, index);
      request.log.info({ idp: message.idp.entityId, ended }, 'SAML IdP-initiated logout');
      if (!message.idp.sloUrl) return reply.redirect('/', 303);
      const xml = logoutResponseXml(endpoints, { destination: message.idp.sloUrl, inResponseTo: message.id });
      const relay = typeof source.RelayState === 'string' && source.RelayState.length <= 1024 ? source.RelayState : undefined;
      return reply.redirect(redirectUrl(message.idp.sloUrl, 'SAMLResponse', xml, relay, (await keysOf(tenant)).current.privateKey), 303);
    } catch (error) {
      refused(request, error, 'logout.refused');
    }
  }

  app.get('/saml/slo', { config: { csrf: false } }, (request, reply) => singleLogout(request, reply, 'redirect'));
  app.post('/saml/slo', { config: { csrf: false }, bodyLimit: ACS_BODY_LIMIT }, (request, reply) => singleLogout(request, reply, 'post'));
};
