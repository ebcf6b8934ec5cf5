// Identity after the SAML layer: from a VerifiedLogin to a person, roles and a session; the
// session cookie; CSRF; "Mes sessions"; logout; the operator's separate realm.
//
// The SAML routes (src/identity/saml/) call completeLogin() once a response has passed every
// check, endSessions() for an IdP-initiated LogoutRequest, and currentSession() for an
// SP-initiated one. Nothing here reads XML.
import fp from 'fastify-plugin';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { DbHandle } from '../platform/db.js';
import { BadRequestError, UnavailableError } from '../platform/errors.js';
import type { Declaration } from '../tenancy/declaration.js';
import { localeOf, pageContext } from '../web/context.js';
import { translator } from '../web/i18n/index.js';
import { CSRF_FIELD } from '../web/layout.js';
import { sendPage } from '../web/render.js';
import { safeReturnPath } from '../web/plugin.js';
import { OperatorMessagePage } from '../operator/pages.js';
import { profileOf, storedAttributes } from './attributes.js';
import { requireLogin } from './authorize.js';
import { checkCsrf } from './csrf.js';
import { OPERATOR_REALM_ID, type OperatorDeclaration } from './operator.js';
import { operatorPageContext } from '../operator/context.js';
import { LoginRefusedPage, SessionsPage } from './pages.js';
import { provisionPerson } from './provisioning.js';
import { ROLES, deriveRoles } from './roles.js';
import { createSessionStore, type Realm, type Session, type SessionData, type SessionStore, type Timeouts } from './session-store.js';
import type { VerifiedLogin } from './verified-login.js';
import type { UsageRecorder } from '../statistics/recorder.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The live session of this host's realm (tenant or operator), or null. */
    session: Session | null;
  }
  interface FastifyInstance {
    /** What the SAML routes call: completeLogin, endSessions, currentSession. */
    identity: Identity;
  }
}

export interface IdentityDeps {
  config: Config;
  database: DbHandle;
  redis: Redis;
  operator: OperatorDeclaration | undefined;
  /**
   * Runs once an operator login passed every check, before its session opens: the console's
   * audit trail (src/operator/audit.ts). If it fails, the login fails: no unrecorded sign-in.
   */
  onOperatorLogin?: (request: FastifyRequest, operator: { id: string; displayName: string }) => Promise<void>;
  /** Usage statistics (src/statistics/): a tenant login is recorded, never waited for. */
  usage?: Pick<UsageRecorder, 'record'> | null;
  /** Clock, for tests of idle and absolute timeouts. */
  now?: () => number;
}

export interface Identity {
  readonly sessions: SessionStore;
  /** After the SAML layer verified a login: provision, derive roles, open a new session, redirect back. */
  completeLogin(request: FastifyRequest, reply: FastifyReply, login: VerifiedLogin): Promise<FastifyReply>;
  /** IdP-initiated single logout: ends the realm's sessions of this NameID (and SessionIndex). tenantId is OPERATOR_REALM_ID for the operator. */
  endSessions(tenantId: string, nameId: string, sessionIndex?: string): Promise<number>;
  /** The request's session (NameID, SessionIndex and IdP for an SP-initiated LogoutRequest). */
  currentSession(request: FastifyRequest): Session | null;
  /** Ends the request's session and clears its cookie; returns what it was, for single logout. */
  endCurrentSession(request: FastifyRequest, reply: FastifyReply): Promise<Session | null>;
  /** Ends every session of a person in a tenant (deactivation by the directory, a grant withdrawn). */
  endPersonSessions(tenantId: string, personId: string): Promise<number>;
  /** onRequest hook: the session named by this host's realm cookie, if live. */
  loadSession(request: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** The session a new login of this browser will replace, noted by the SAML layer at /connexion. */
  sessionToReplace(request: FastifyRequest): { personId: string; handle: string } | undefined;
  /** The language a logged-in person chose, kept on their person so mail reaches them in it. */
  rememberLocale(request: FastifyRequest, locale: 'fr' | 'en'): Promise<void>;
}

/** SP-initiated single logout (src/identity/saml/routes.tsx). */
export const SINGLE_LOGOUT_PATH = '/saml/deconnexion';

const DEFAULT_IDLE_MINUTES = 30;
const DEFAULT_ABSOLUTE_HOURS = 12;

export function timeoutsOf(identity: Declaration['identity']): Timeouts {
  return {
    idleMs: (identity?.session?.idleMinutes ?? DEFAULT_IDLE_MINUTES) * 60_000,
    absoluteMs: (identity?.session?.absoluteHours ?? DEFAULT_ABSOLUTE_HOURS) * 3_600_000,
  };
}

export function createIdentity(deps: IdentityDeps): Identity {
  const { config, database, operator } = deps;
  const sessions = createSessionStore(deps.redis, deps.now);

  // Secure everywhere but plain-http development; with it, the __Host- prefix, which a browser
  // only accepts host-only, on path / and over https: no other host can plant this cookie.
  const isSecure = (request: FastifyRequest) => config.env === 'production' || request.protocol === 'https';
  const cookieName = (realm: Realm, request: FastifyRequest) => {
    const base = realm.kind === 'operator' ? 'portique_operator' : 'portique_session';
    return isSecure(request) ? `__Host-${base}` : base;
  };
  const cookieOptions = (request: FastifyRequest) =>
    ({ path: '/', httpOnly: true, secure: isSecure(request), sameSite: 'lax' }) as const;

  function realmOf(request: FastifyRequest): Realm | undefined {
    if (request.onOperatorHost) return operator ? { kind: 'operator' } : undefined;
    return request.tenant ? { kind: 'tenant', tenantId: request.tenant.id } : undefined;
  }

  async function endCurrentSession(request: FastifyRequest, reply: FastifyReply): Promise<Session | null> {
    const realm = realmOf(request);
    if (!realm) return null;
    const name = cookieName(realm, request);
    const id = request.cookies[name];
    if (id) {
      await sessions.destroy(realm, id);
      reply.clearCookie(name, cookieOptions(request));
    }
    const ended = request.session;
    request.session = null;
    return ended;
  }

  async function startSession(request: FastifyRequest, reply: FastifyReply, realm: Realm, data: SessionData, timeouts: Timeouts, login: VerifiedLogin) {
    // A new id at every login, and the one the browser came with is ended: no fixation. The ACS
    // POST comes without the cookie (cross-site), so the session noted when the login started
    // is ended too.
    await endCurrentSession(request, reply);
    if (login.replacesSession) await sessions.endForPerson(realm, login.replacesSession.personId, login.replacesSession.handle);
    const returnTo = login.returnTo;
    const { id, session } = await sessions.create(data, timeouts);
    request.session = session;
    reply.setCookie(cookieName(realm, request), id, cookieOptions(request));
    request.log.info({ person: data.personId, realm: realm.kind, roles: data.roles }, 'login');
    return reply.redirect(safeReturnPath(returnTo), 303);
  }

  async function refuse(request: FastifyRequest, reply: FastifyReply, reason: string, message: string): Promise<FastifyReply> {
    request.log.warn({ reason }, 'login refused');
    await endCurrentSession(request, reply);
    if (request.onOperatorHost) {
      const ctx = operatorPageContext(request, operator);
      return sendPage(reply, <OperatorMessagePage ctx={ctx} title={ctx.t('login.refused.title')} message={message} requestId={request.id} />, 403);
    }
    return sendPage(reply, <LoginRefusedPage ctx={pageContext(request)} message={message} requestId={request.id} />, 403);
  }

  function sessionData(request: FastifyRequest, login: VerifiedLogin, personId: string, displayName: string, roles: SessionData['roles']): SessionData {
    return {
      realm: realmOf(request)!,
      personId,
      displayName,
      roles,
      idpEntityId: login.idpEntityId,
      nameId: login.nameId.value,
      nameIdFormat: login.nameId.format,
      sessionIndex: login.sessionIndex,
      userAgent: request.headers['user-agent'] ?? '',
    };
  }

  async function completeOperatorLogin(request: FastifyRequest, reply: FastifyReply, login: VerifiedLogin, op: OperatorDeclaration) {
    const t = translator(localeOf(request));
    // Only the operator's own IdP can open an operator session; a tenant's IdP never can.
    if (login.tenantId !== OPERATOR_REALM_ID || !op.identity.providers.some((p) => p.entityId === login.idpEntityId)) {
      return refuse(request, reply, 'operator login from a non-operator IdP', t('login.refused.wrongRealm'));
    }
    const result = profileOf(login, op.identity);
    if (!result.ok) return refuse(request, reply, `missing ${result.missing.join(', ')}`, t('login.refused.missing', { names: result.missing.join(', ') }));
    const { profile } = result;
    if (!op.operators.includes(profile.externalId)) return refuse(request, reply, 'not an operator', t('login.refused.notOperator'));
    await deps.onOperatorLogin?.(request, { id: profile.externalId, displayName: profile.displayName });
    const data = sessionData(request, login, profile.externalId, profile.displayName, []);
    return startSession(request, reply, { kind: 'operator' }, data, timeoutsOf(op.identity), login);
  }

  async function completeLogin(request: FastifyRequest, reply: FastifyReply, login: VerifiedLogin): Promise<FastifyReply> {
    const realm = realmOf(request);
    if (!realm) throw new BadRequestError('No login is possible at this address.');
    if (realm.kind === 'operator') return completeOperatorLogin(request, reply, login, operator!);
    const tenant = request.tenant;
    const t = translator(localeOf(request));
    const identity = tenant.declaration.identity;
    if (login.tenantId !== tenant.id || !identity?.providers.some((p) => p.entityId === login.idpEntityId)) {
      return refuse(request, reply, 'login for another realm or IdP', t('login.refused.wrongRealm'));
    }
    const result = profileOf(login, identity);
    if (!result.ok) {
      return refuse(request, reply, `missing ${result.missing.join(', ')}`, t('login.refused.missing', { names: result.missing.join(', ') }));
    }
    const { profile } = result;
    const roles = deriveRoles(login.attributes, identity.roles);
    const person = await provisionPerson(database, {
      tenantId: tenant.id,
      profile,
      roles,
      attributes: storedAttributes(login),
      nameId: login.nameId.value,
      idpEntityId: login.idpEntityId,
      maxPeople: tenant.declaration.quotas.people,
    });
    if (person.status === 'full') return refuse(request, reply, 'people quota reached', t('login.refused.full'));
    if (person.status === 'deactivated') return refuse(request, reply, 'person deactivated', t('login.refused.deactivated'));
    const sessionRoles = ROLES.filter((r) => roles.includes(r) || person.grantedRoles.includes(r));
    const data = sessionData(request, login, person.personId, profile.displayName, sessionRoles);
    deps.usage?.record({ tenantId: tenant.id, personId: person.personId, event: 'login', service: 'portal' });
    return startSession(request, reply, realm, data, timeoutsOf(identity), login);
  }

  async function loadSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const realm = realmOf(request);
    if (!realm) return;
    const name = cookieName(realm, request);
    const id = request.cookies[name];
    if (!id) return;
    // Looked up in this host's realm only: another tenant's session is not found here.
    // Redis away: a clear 503 at once (the client fails fast), never a 500 or a silent logout.
    const session = await sessions.get(realm, id).catch((error: unknown) => {
      request.log.error({ err: error }, 'session store unavailable');
      throw new UnavailableError(translator(localeOf(request))('error.sessionsUnavailable'));
    });
    if (session) {
      request.session = session;
      request.log = request.log.child({ person: session.personId });
      // A page drawn for one person is never kept by a shared cache.
      reply.header('cache-control', 'private, no-store');
    } else {
      reply.clearCookie(name, cookieOptions(request));
    }
  }

  async function rememberLocale(request: FastifyRequest, locale: 'fr' | 'en'): Promise<void> {
    const session = request.session;
    if (session?.realm.kind !== 'tenant') return;
    const { tenantId } = session.realm;
    await database.withTenant(tenantId, (trx) =>
      trx.updateTable('people').set({ locale }).where('tenant_id', '=', tenantId).where('id', '=', session.personId).execute(),
    );
  }

  return {
    sessions,
    loadSession,
    rememberLocale,
    sessionToReplace: (request) => (request.session ? { personId: request.session.personId, handle: request.session.handle } : undefined),
    completeLogin,
    endCurrentSession,
    currentSession: (request) => request.session,
    endPersonSessions: (tenantId, personId) => sessions.endOthers({ kind: 'tenant', tenantId }, personId, ''),
    async endSessions(tenantId, nameId, sessionIndex) {
      const realm: Realm = tenantId === OPERATOR_REALM_ID ? { kind: 'operator' } : { kind: 'tenant', tenantId };
      return sessions.endByNameId(realm, nameId, sessionIndex);
    },
  };
}

/** A form of these pages: its CSRF token (checked before validation, by checkCsrf). */
const FormBody = Type.Object({ [CSRF_FIELD]: Type.Optional(Type.String({ maxLength: 100 })) });
const EndSessionBody = Type.Object({
  [CSRF_FIELD]: Type.Optional(Type.String({ maxLength: 100 })),
  /** A session's handle, as "Mes sessions" lists them. */
  session: Type.String({ pattern: '^[0-9a-f]{64}$' }),
});

/** Loads the session on every request of a tenant or operator route, checks CSRF, serves the session routes. */
export const identityPlugin = fp<{ identity: Identity }>(
  async (app: FastifyInstance, { identity }) => {
    app.decorateRequest('session', null);
    app.decorate('identity', identity);

    app.addHook('onRequest', identity.loadSession);
    // The language switch (src/web/plugin.tsx) sets a cookie; a logged-in person's choice is kept too,
    // before the answer goes (onSend): the next page or mail must already see it.
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.routeOptions.url !== '/langue/:locale' || reply.statusCode !== 303 || !request.session) return payload;
      const { locale } = request.params as { locale: string };
      if (locale !== 'fr' && locale !== 'en') return payload;
      await identity.rememberLocale(request, locale).catch((error: unknown) => request.log.warn({ err: error }, 'language not kept'));
      return payload;
    });

    app.addHook('preValidation', checkCsrf);

    app.get('/mes-sessions', { preHandler: requireLogin }, async (request, reply) => {
      const session = request.session!;
      const list = await identity.sessions.listForPerson(session.realm, session.personId);
      return sendPage(reply, <SessionsPage ctx={pageContext(request)} sessions={list} currentHandle={session.handle} />);
    });

    app.post('/mes-sessions/terminer', { preHandler: requireLogin, schema: { body: EndSessionBody } }, async (request, reply) => {
      const session = request.session!;
      const handle = (request.body as Static<typeof EndSessionBody>).session;
      if (handle !== session.handle) {
        await identity.sessions.endForPerson(session.realm, session.personId, handle);
      }
      return reply.redirect('/mes-sessions', 303);
    });

    app.post('/mes-sessions/terminer-les-autres', { preHandler: requireLogin, schema: { body: FormBody } }, async (request, reply) => {
      const session = request.session!;
      await identity.sessions.endOthers(session.realm, session.personId, session.handle);
      return reply.redirect('/mes-sessions', 303);
    });

    // The header's logout button. Where the SAML routes are served, the same POST (its CSRF token
    // included) goes on to their SP-initiated single logout, which ends this session and asks the
    // IdP to end its own; otherwise the local session ends here.
    app.post('/deconnexion', { schema: { body: FormBody } }, async (request, reply) => {
      if (request.session && app.hasRoute({ method: 'POST', url: SINGLE_LOGOUT_PATH })) return reply.redirect(SINGLE_LOGOUT_PATH, 307);
      await identity.endCurrentSession(request, reply);
      return reply.redirect('/', 303);
    });
  },
  { name: 'portique-identity', dependencies: ['portique-tenancy'] },
);
