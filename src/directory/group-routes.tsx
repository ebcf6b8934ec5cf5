// Groups routes: /groupes (mine), /groupes/:id, invitations, leaving; /admin/groupes for admins.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import { requireLogin } from '../identity/authorize.js';
import type { DbHandle } from '../platform/db.js';
import { pageContext } from '../web/context.js';
import { sendPage } from '../web/render.js';
import { requireDirectoryAdmin } from './admin.js';
import { AdminGroupsPage, GroupPageView, MyGroupsPage } from './group-pages.js';
import { createGroups } from './groups.js';
import { requireService, whoOf } from './routes.js';

const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const Csrf = { _csrf: Type.Optional(Type.String()) };

export const groupRoutes: FastifyPluginAsync<{ database: DbHandle }> = async (app, { database }) => {
  const groups = createGroups(database);
  const guard = [requireService('groups'), requireLogin];
  const adminGuard = [requireService('groups'), requireDirectoryAdmin(database)];

  app.get('/groupes', { preHandler: guard }, async (request, reply) => {
    const { groups: mine, invitations } = await groups.mine(request.tenant, whoOf(request));
    return sendPage(reply, <MyGroupsPage ctx={pageContext(request)} groups={mine} invitations={invitations} />);
  });

  app.post<{ Body: { name: string; description?: string } }>(
    '/groupes',
    { schema: { body: Type.Object({ ...Csrf, name: Type.String({ maxLength: 200 }), description: Type.Optional(Type.String({ maxLength: 2000 })) }) }, preHandler: guard },
    async (request, reply) => {
      const id = await groups.createWorkgroup(request.tenant, whoOf(request), request.body);
      return reply.redirect(`/groupes/${id}`, 303);
    },
  );

  app.get<{ Params: { id: string } }>('/groupes/:id', { schema: { params: IdParams }, preHandler: guard }, async (request, reply) => {
    const page = await groups.page(request.tenant, whoOf(request), request.params.id);
    return sendPage(reply, <GroupPageView ctx={pageContext(request)} page={page} />);
  });

  app.post<{ Params: { id: string }; Body: { target: string } }>(
    '/groupes/:id/inviter',
    { schema: { params: IdParams, body: Type.Object({ ...Csrf, target: Type.String({ maxLength: 254 }) }) }, preHandler: guard },
    async (request, reply) => {
      await groups.invite(request.tenant, whoOf(request), request.params.id, request.body.target);
      return reply.redirect(`/groupes/${request.params.id}`, 303);
    },
  );

  for (const [path, accept] of [['accepter', true], ['refuser', false]] as const) {
    app.post<{ Params: { id: string } }>(`/groupes/:id/invitation/${path}`, { schema: { params: IdParams }, preHandler: guard }, async (request, reply) => {
      await groups.answer(request.tenant, whoOf(request), request.params.id, accept);
      return reply.redirect(accept ? `/groupes/${request.params.id}` : '/groupes', 303);
    });
  }

  app.post<{ Params: { id: string; personId: string }; Body: { role: 'owner' | 'member' } }>(
    '/groupes/:id/membres/:personId/role',
    {
      schema: {
        params: Type.Object({ id: Type.String({ maxLength: 64 }), personId: Type.String({ maxLength: 64 }) }),
        body: Type.Object({ ...Csrf, role: Type.Union([Type.Literal('owner'), Type.Literal('member')]) }),
      },
      preHandler: guard,
    },
    async (request, reply) => {
      await groups.setRole(request.tenant, whoOf(request), request.params.id, request.params.personId, request.body.role);
      return reply.redirect(`/groupes/${request.params.id}`, 303);
    },
  );

  app.post<{ Params: { id: string } }>('/groupes/:id/quitter', { schema: { params: IdParams }, preHandler: guard }, async (request, reply) => {
    await groups.leave(request.tenant, whoOf(request), request.params.id);
    return reply.redirect('/groupes', 303);
  });

  app.get('/admin/groupes', { preHandler: adminGuard }, async (request, reply) =>
    sendPage(reply, <AdminGroupsPage ctx={pageContext(request)} groups={await groups.listAll(request.tenant)} />),
  );

  app.post<{ Body: { kind: 'institutional' | 'dynamic'; name: string; rule?: string } }>(
    '/admin/groupes',
    {
      schema: { body: Type.Object({ ...Csrf, kind: Type.Union([Type.Literal('institutional'), Type.Literal('dynamic')]), name: Type.String({ maxLength: 200 }), rule: Type.Optional(Type.String({ maxLength: 2000 })) }) },
      preHandler: adminGuard,
    },
    async (request, reply) => {
      const { kind, name, rule } = request.body;
      const id = await groups.createByAdmin(request.tenant, whoOf(request), { kind, name, ...(rule ? { rule } : {}) });
      return reply.redirect(`/groupes/${id}`, 303);
    },
  );
};
