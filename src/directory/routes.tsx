// White pages routes: /annuaire (search), /annuaire/:id (card), /annuaire/:id/vcard, /annuaire/mon-profil.
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { requireLogin } from '../identity/authorize.js';
import { NotFoundError } from '../platform/errors.js';
import { pageContext } from '../web/context.js';
import { sendPage } from '../web/render.js';
import { PersonPage, ProfilePage, SearchPage } from './pages.js';
import { editableFields } from './visibility.js';
import { vcardOf, type WhitePages, type Who } from './white-pages.js';

export const whoOf = (request: FastifyRequest): Who => ({ personId: request.session!.personId, roles: request.session!.roles });

export function requireService(service: 'directory' | 'groups') {
  return async (request: FastifyRequest) => {
    if (!request.tenant?.declaration.services.includes(service)) throw new NotFoundError();
  };
}

const SearchQuery = Type.Object({ q: Type.Optional(Type.String({ maxLength: 200 })), page: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) });
const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
const ProfileBody = Type.Object({
  _csrf: Type.Optional(Type.String()),
  preferredMail: Type.Optional(Type.String({ maxLength: 254 })),
  phoneVisible: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())])),
});

export const directoryRoutes: FastifyPluginAsync<{ whitePages: WhitePages }> = async (app, { whitePages }) => {
  const guard = [requireService('directory'), requireLogin];

  app.get<{ Querystring: { q?: string; page?: number } }>('/annuaire', { schema: { querystring: SearchQuery }, preHandler: guard }, async (request, reply) => {
    const query = (request.query.q ?? '').trim();
    const result = query ? await whitePages.search(request.tenant, whoOf(request), query, request.query.page ?? 1) : undefined;
    return sendPage(reply, <SearchPage ctx={pageContext(request)} query={query} {...(result ? { result } : {})} />);
  });

  app.get('/annuaire/mon-profil', { preHandler: guard }, async (request, reply) => {
    const who = whoOf(request);
    const { card, row } = await whitePages.card(request.tenant, who, who.personId);
    const saved = (request.query as Record<string, string>).enregistre === '1';
    return sendPage(
      reply,
      <ProfilePage ctx={pageContext(request)} card={card} preferredMail={row.preferred_mail} phoneVisible={row.phone_visible} editable={editableFields(request.tenant.declaration)} saved={saved} />,
    );
  });

  app.post<{ Body: { preferredMail?: string; phoneVisible?: string | string[] } }>('/annuaire/mon-profil', { schema: { body: ProfileBody }, preHandler: guard }, async (request, reply) => {
    const editable = editableFields(request.tenant.declaration);
    const { preferredMail, phoneVisible } = request.body;
    await whitePages.updateProfile(request.tenant, whoOf(request), {
      ...(editable.has('preferredMail') && preferredMail !== undefined ? { preferredMail } : {}),
      ...(editable.has('phoneVisibility') && phoneVisible !== undefined ? { phoneVisible: [phoneVisible].flat().includes('1') } : {}),
    });
    return reply.redirect('/annuaire/mon-profil?enregistre=1', 303);
  });

  app.get<{ Params: { id: string } }>('/annuaire/:id', { schema: { params: IdParams }, preHandler: guard }, async (request, reply) => {
    const { card } = await whitePages.card(request.tenant, whoOf(request), request.params.id);
    return sendPage(reply, <PersonPage ctx={pageContext(request)} card={card} />);
  });

  app.get<{ Params: { id: string } }>('/annuaire/:id/vcard', { schema: { params: IdParams }, preHandler: guard }, async (request, reply) => {
    const { card } = await whitePages.card(request.tenant, whoOf(request), request.params.id);
    const name = card.displayName.normalize('NFD').replace(/\p{M}/gu, '').replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'fiche';
    return reply
      .type('text/vcard; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}.vcf"`)
      .send(vcardOf(card, request.tenant.displayName));
  });
};
