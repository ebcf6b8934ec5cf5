// White pages routes: /annuaire (search), /annuaire/:id (card), /annuaire/:id/vcard, /annuaire/mon-profil.
import multipart from '@fastify/multipart';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { requireLogin } from '../identity/authorize.js';
import { BadRequestError, NotFoundError, PayloadTooLargeError } from '../platform/errors.js';
import { newId } from '../platform/ids.js';
import { tenantKey, type Storage } from '../platform/storage.js';
import { pageContext } from '../web/context.js';
import { sendPage } from '../web/render.js';
import { PersonPage, ProfilePage, SearchPage } from './pages.js';
import { editableFields } from './visibility.js';
import { vcardOf, type WhitePages, type Who } from './white-pages.js';
import { recordUsage } from '../statistics/plugin.js';

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

const PHOTO_BYTES = 2 * 1024 * 1024;

/** The image type from the first bytes, never from what the browser claims. */
function photoType(body: Buffer): string | undefined {
  if (body.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))) return 'image/jpeg';
  if (body.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (body.subarray(0, 4).toString('latin1') === 'RIFF' && body.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}

export const directoryRoutes: FastifyPluginAsync<{ whitePages: WhitePages; storage: Storage }> = async (app, { whitePages, storage }) => {
  await app.register(multipart, { limits: { fileSize: PHOTO_BYTES, files: 1, fields: 2, parts: 3 } });
  const guard = [requireService('directory'), requireLogin];

  app.get<{ Querystring: { q?: string; page?: number } }>('/annuaire', { schema: { querystring: SearchQuery }, preHandler: guard }, async (request, reply) => {
    const query = (request.query.q ?? '').trim();
    const result = query ? await whitePages.search(request.tenant, whoOf(request), query, request.query.page ?? 1) : undefined;
    if (query) recordUsage(request, 'search', 'directory');
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

  app.post('/annuaire/mon-profil/photo', { preHandler: guard }, async (request, reply) => {
    if (!editableFields(request.tenant.declaration).has('photo')) throw new BadRequestError('La photo ne peut pas être modifiée ici.');
    if (!request.isMultipart()) throw new BadRequestError('Envoyez la photo avec le formulaire.');
    const part = await request.file();
    if (!part) throw new BadRequestError('Aucune photo reçue.');
    const body = await part.toBuffer().catch((error: Error & { code?: string }) => {
      if (error.code === 'FST_REQ_FILE_TOO_LARGE') throw new PayloadTooLargeError('La photo dépasse 2 Mo.');
      throw error;
    });
    const type = photoType(body);
    if (!type) throw new BadRequestError('La photo doit être une image JPEG, PNG ou WebP.');
    const who = whoOf(request);
    const key = tenantKey(request.tenant.id, 'directory', 'photos', who.personId, newId());
    await storage.put(key, body, type);
    await whitePages.setPhoto(request.tenant, who, key);
    return reply.redirect('/annuaire/mon-profil?enregistre=1', 303);
  });

  app.post('/annuaire/mon-profil/photo/supprimer', { preHandler: guard }, async (request, reply) => {
    await whitePages.setPhoto(request.tenant, whoOf(request), null);
    return reply.redirect('/annuaire/mon-profil?enregistre=1', 303);
  });

  app.get<{ Params: { id: string } }>('/annuaire/:id/photo', { schema: { params: IdParams }, preHandler: guard }, async (request, reply) => {
    const { card, row } = await whitePages.card(request.tenant, whoOf(request), request.params.id);
    // The key is checked to be this tenant's: a row can only hold what this code wrote, but a
    // photo is never served from outside the tenant's prefix.
    if (!card.hasPhoto || !row.photo_key?.startsWith(`${request.tenant.id}/directory/photos/`)) throw new NotFoundError();
    const body = await storage.get(row.photo_key);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    const image = Buffer.concat(chunks);
    return reply.type(photoType(image) ?? 'application/octet-stream').header('cache-control', 'private, max-age=300').header('x-content-type-options', 'nosniff').send(image);
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
