// Server-side sessions in Redis. The cookie carries only a random id; Redis keys carry the
// realm (a tenant, or the operator) and the SHA-256 of that id, so a session is looked up only in
// the realm of the request's host (a session of tenant A presented on tenant B's host is simply
// not found) and a copy of Redis holds no usable cookie value.
//
// Timeouts: the key's TTL follows the idle timeout (capped by the absolute one), and every read
// checks both against the stored times too, so a clock or TTL surprise never extends a session.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Role } from './roles.js';

/** Where a session is valid: one tenant, or the operator console. */
export type Realm = { readonly kind: 'tenant'; readonly tenantId: string } | { readonly kind: 'operator' };

export interface SessionData {
  readonly realm: Realm;
  readonly personId: string;
  readonly displayName: string;
  readonly roles: readonly Role[];
  /** SAML details of the login, for single logout. */
  readonly idpEntityId: string;
  readonly nameId: string;
  readonly nameIdFormat: string | undefined;
  readonly sessionIndex: string | undefined;
  readonly userAgent: string;
}

export interface Session extends SessionData {
  /** SHA-256 of the cookie value: names the session in Redis and on the "Mes sessions" page. */
  readonly handle: string;
  readonly csrfToken: string;
  readonly createdAt: number;
  readonly lastSeenAt: number;
  /** createdAt + the absolute timeout, fixed at login. */
  readonly expiresAt: number;
  readonly idleMs: number;
}

export interface Timeouts {
  readonly idleMs: number;
  readonly absoluteMs: number;
}

export interface SessionStore {
  /** A new session under a new random id; returns the cookie value. */
  create(data: SessionData, timeouts: Timeouts): Promise<{ id: string; session: Session }>;
  /** The live session for this cookie value in this realm, touched; undefined if none or expired. */
  get(realm: Realm, id: string): Promise<Session | undefined>;
  destroy(realm: Realm, id: string): Promise<void>;
  /** The person's live sessions in this realm, most recent activity first. */
  listForPerson(realm: Realm, personId: string): Promise<Session[]>;
  /** Ends one of the person's sessions by handle; false if it is not theirs or already gone. */
  endForPerson(realm: Realm, personId: string, handle: string): Promise<boolean>;
  /** Ends every session of the person except `keepHandle`; returns how many ended. */
  endOthers(realm: Realm, personId: string, keepHandle: string): Promise<number>;
  /** Single logout: ends the sessions opened by this NameID (and SessionIndex, if given). */
  endByNameId(realm: Realm, nameId: string, sessionIndex?: string): Promise<number>;
}

/** Activity is written back at most this often, so a burst of requests is not a burst of writes. */
const TOUCH_EVERY_MS = 15_000;

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
const realmKey = (realm: Realm) => (realm.kind === 'operator' ? 'operator' : `tenant:${realm.tenantId}`);
const sessionKey = (realm: Realm, handle: string) => `portique:${realmKey(realm)}:session:${handle}`;
const personKey = (realm: Realm, personId: string) => `portique:${realmKey(realm)}:person-sessions:${personId}`;
const nameIdKey = (realm: Realm, nameId: string) => `portique:${realmKey(realm)}:nameid-sessions:${sha256(nameId)}`;
const sameRealm = (a: Realm, b: Realm) =>
  a.kind === b.kind && (a.kind === 'operator' || (b.kind === 'tenant' && a.tenantId === b.tenantId));

/** A cookie value: 256 random bits. */
const COOKIE_VALUE = /^[A-Za-z0-9_-]{43}$/;

export function createSessionStore(redis: Redis, now: () => number = Date.now): SessionStore {
  function ttl(session: Session, at: number): number {
    return Math.max(1, Math.min(session.idleMs, session.expiresAt - at));
  }

  function alive(session: Session, at: number): boolean {
    return at < session.expiresAt && at - session.lastSeenAt < session.idleMs;
  }

  async function read(realm: Realm, handle: string): Promise<Session | undefined> {
    const raw = await redis.get(sessionKey(realm, handle));
    if (!raw) return undefined;
    const session = JSON.parse(raw) as Session;
    // Belt and braces: the key already names the realm.
    return sameRealm(session.realm, realm) && session.handle === handle ? session : undefined;
  }

  async function remove(session: Session): Promise<void> {
    const { realm, handle } = session;
    await redis
      .multi()
      .del(sessionKey(realm, handle))
      .srem(personKey(realm, session.personId), handle)
      .srem(nameIdKey(realm, session.nameId), handle)
      .exec();
  }

  async function handlesOf(key: string): Promise<string[]> {
    return redis.smembers(key);
  }

  async function liveSessions(realm: Realm, setKey: string): Promise<Session[]> {
    const handles = await handlesOf(setKey);
    const at = now();
    const sessions: Session[] = [];
    for (const handle of handles) {
      const session = await read(realm, handle);
      if (session && alive(session, at)) sessions.push(session);
      else if (session) await remove(session);
      else await redis.srem(setKey, handle);
    }
    return sessions;
  }

  return {
    async create(data, timeouts) {
      const id = randomBytes(32).toString('base64url');
      const at = now();
      const session: Session = {
        ...data,
        userAgent: data.userAgent.slice(0, 300),
        handle: sha256(id),
        csrfToken: randomBytes(32).toString('base64url'),
        createdAt: at,
        lastSeenAt: at,
        expiresAt: at + timeouts.absoluteMs,
        idleMs: timeouts.idleMs,
      };
      const px = ttl(session, at);
      const indexTtl = Math.ceil(timeouts.absoluteMs / 1000);
      const { realm, handle } = session;
      await redis
        .multi()
        .set(sessionKey(realm, handle), JSON.stringify(session), 'PX', px)
        .sadd(personKey(realm, data.personId), handle)
        .expire(personKey(realm, data.personId), indexTtl, 'GT')
        .expire(personKey(realm, data.personId), indexTtl, 'NX')
        .sadd(nameIdKey(realm, data.nameId), handle)
        .expire(nameIdKey(realm, data.nameId), indexTtl, 'GT')
        .expire(nameIdKey(realm, data.nameId), indexTtl, 'NX')
        .exec();
      return { id, session };
    },

    async get(realm, id) {
      if (!COOKIE_VALUE.test(id)) return undefined;
      const session = await read(realm, sha256(id));
      if (!session) return undefined;
      const at = now();
      if (!alive(session, at)) {
        await remove(session);
        return undefined;
      }
      if (at - session.lastSeenAt < TOUCH_EVERY_MS) return session;
      const touched: Session = { ...session, lastSeenAt: at };
      // XX: never resurrect a session that was ended meanwhile.
      await redis.set(sessionKey(realm, session.handle), JSON.stringify(touched), 'PX', ttl(touched, at), 'XX');
      return touched;
    },

    async destroy(realm, id) {
      if (!COOKIE_VALUE.test(id)) return;
      const session = await read(realm, sha256(id));
      if (session) await remove(session);
    },

    async listForPerson(realm, personId) {
      const sessions = await liveSessions(realm, personKey(realm, personId));
      return sessions.filter((s) => s.personId === personId).sort((a, b) => b.lastSeenAt - a.lastSeenAt);
    },

    async endForPerson(realm, personId, handle) {
      if (!/^[0-9a-f]{64}$/.test(handle)) return false;
      const session = await read(realm, handle);
      if (!session || session.personId !== personId) return false;
      await remove(session);
      return true;
    },

    async endOthers(realm, personId, keepHandle) {
      const sessions = await liveSessions(realm, personKey(realm, personId));
      let ended = 0;
      for (const session of sessions) {
        if (session.handle === keepHandle || session.personId !== personId) continue;
        await remove(session);
        ended++;
      }
      return ended;
    },

    async endByNameId(realm, nameId, sessionIndex) {
      const sessions = await liveSessions(realm, nameIdKey(realm, nameId));
      let ended = 0;
      for (const session of sessions) {
        if (session.nameId !== nameId) continue;
        if (sessionIndex !== undefined && session.sessionIndex !== sessionIndex) continue;
        await remove(session);
        ended++;
      }
      return ended;
    },
  };
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfTokenMatches(session: Session, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length === 0) return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}
