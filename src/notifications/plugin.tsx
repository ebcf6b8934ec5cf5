// Notifications over HTTP: the bell's count for the layout, the list, marking read, preferences.
import fp from 'fastify-plugin';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Jobs } from '../jobs/client.js';
import type { DbHandle } from '../platform/db.js';
import { BadRequestError, NotFoundError } from '../platform/errors.js';
import { requireLogin } from '../identity/authorize.js';
import { localeOf, pageContext } from '../web/context.js';
import { CSRF_FIELD } from '../web/layout.js';
import { sendPage } from '../web/render.js';
import { wantsJson } from '../web/plugin.js';
import { CATEGORY_IDS, isDelivery, type Category, type Delivery } from './categories.js';
import { NotificationsPage, PreferencesPage, WORDS } from './pages.js';
import { UNREAD_CAP, countUnread, listNotifications, markAllRead, markRead, preferences, setPreferences } from './service.js';
import { cachedUnread } from './unread-cache.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The header's bell, for a logged-in person's page (set before the handler). */
    bell: { count: number; label: string } | undefined;
  }
}

const Uuid = Type.String({ pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' });
const IdParams = Type.Object({ id: Uuid });
const ListQuery = Type.Object({ avant: Type.Optional(Uuid) });
const PrefsQuery = Type.Object({ enregistre: Type.Optional(Type.String({ maxLength: 1 })) });

const personOf = (request: FastifyRequest) => ({ tenantId: request.tenant.id, personId: request.session!.personId });

export const notificationsPlugin = fp<{ database: DbHandle; jobs?: Pick<Jobs, 'enqueue'> }>(
  async (app: FastifyInstance, { database }) => {
    app.decorateRequest('bell', undefined);

    // Anonymous visitors cost nothing here; a logged-in person's page one indexed count, cached
    // a few seconds per process (unread-cache.ts). Only GET pages draw the header.
    app.addHook('preHandler', async (request) => {
      const session = request.session;
      if (!session || session.realm.kind !== 'tenant' || !request.tenant || request.method !== 'GET' || wantsJson(request)) return;
      const { tenantId, personId } = personOf(request);
      const count = await cachedUnread(tenantId, personId, () => countUnread(database, tenantId, personId));
      const w = WORDS[localeOf(request)];
      request.bell = { count, label: count > 0 ? w.bellUnread(count >= UNREAD_CAP ? `${UNREAD_CAP - 1}+` : String(count)) : w.bell };
    });

    app.get<{ Querystring: { avant?: string } }>('/notifications', { schema: { querystring: ListQuery }, preHandler: requireLogin }, async (request, reply) => {
      const { tenantId, personId } = personOf(request);
      const { items, more } = await listNotifications(database, tenantId, personId, request.query.avant ? { before: request.query.avant } : {});
      return sendPage(reply, <NotificationsPage ctx={pageContext(request)} items={items} more={more} />);
    });

    app.post<{ Params: { id: string } }>('/notifications/:id/lu', { schema: { params: IdParams }, preHandler: requireLogin }, async (request, reply) => {
      const { tenantId, personId } = personOf(request);
      // Someone else's id (or another tenant's) matches nothing: the same 404 as an unknown one.
      if (!(await markRead(database, tenantId, personId, request.params.id))) throw new NotFoundError();
      return reply.redirect('/notifications', 303);
    });

    app.post('/notifications/tout-lu', { preHandler: requireLogin }, async (request, reply) => {
      const { tenantId, personId } = personOf(request);
      await markAllRead(database, tenantId, personId);
      return reply.redirect('/notifications', 303);
    });

    app.get<{ Querystring: { enregistre?: string } }>('/notifications/preferences', { schema: { querystring: PrefsQuery }, preHandler: requireLogin }, async (request, reply) => {
      const { tenantId, personId } = personOf(request);
      const choices = await preferences(database, tenantId, personId);
      return sendPage(reply, <PreferencesPage ctx={pageContext(request)} choices={choices} saved={request.query.enregistre === '1'} />);
    });

    const PrefsBody = Type.Object(
      {
        [CSRF_FIELD]: Type.Optional(Type.String({ maxLength: 100 })),
        ...Object.fromEntries(CATEGORY_IDS.map((c) => [c, Type.Optional(Type.String({ maxLength: 20 }))])),
      },
      { additionalProperties: false },
    );
    app.post<{ Body: Record<string, string | undefined> }>('/notifications/preferences', { schema: { body: PrefsBody }, preHandler: requireLogin }, async (request, reply) => {
      const { tenantId, personId } = personOf(request);
      const choices: Partial<Record<Category, Delivery>> = {};
      for (const category of CATEGORY_IDS) {
        const value = request.body[category];
        if (value === undefined) continue;
        if (!isDelivery(value)) throw new BadRequestError(`unknown delivery "${value}"`);
        choices[category] = value;
      }
      await setPreferences(database, tenantId, personId, choices);
      return reply.redirect('/notifications/preferences?enregistre=1', 303);
    });
  },
  { name: 'notifications' },
);
