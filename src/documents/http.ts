// What the documents' HTTP handlers share ("Mes documents" in routes.tsx, group spaces in
// group-routes.tsx, the admin pages): reading a request, answering a form or a script, and the
// two upload bodies, so that both spaces take files in exactly the same way.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { UnauthenticatedError } from '../platform/errors.js';
import { recordUsage } from '../statistics/plugin.js';
import { wantsJson } from '../web/plugin.js';
import { bodyStream, declaredLength } from './raw-upload.js';
import type { Actor, DocumentNode, DocumentsService, IncomingFile } from './service.js';

/** The signed-in person acting in their own name. */
export function actorOf(request: FastifyRequest): Actor {
  const session = request.session;
  if (!session) throw new UnauthenticatedError();
  return { tenant: request.tenant, personId: session.personId };
}

export const field = (body: unknown, name: string): string | undefined => {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
};

/** A folder id from a form or query (empty or absent: the root). */
export const folderParam = (value: string | undefined): string | null => (value ? value : null);

/** A script gets `body` as JSON; a form is sent back to `to`. */
export function done(request: FastifyRequest, reply: FastifyReply, to: string, body: object): FastifyReply {
  return wantsJson(request) ? reply.send(body) : reply.redirect(to, 303);
}

export const publicNode = (n: DocumentNode) => ({ id: n.id, kind: n.kind, name: n.name, size: n.size, parentId: n.parentId, contentType: n.contentType });

/**
 * POST multipart: every file part of the form goes to `upload`, with the request's Content-Length
 * as the reservation's bound; each stored file is counted in the statistics.
 */
export async function uploadParts(request: FastifyRequest, upload: (bound: number | undefined, files: AsyncIterable<IncomingFile>) => Promise<DocumentNode[]>): Promise<DocumentNode[]> {
  const length = Number(request.headers['content-length']);
  async function* files(): AsyncGenerator<IncomingFile> {
    for await (const part of request.parts()) {
      if (part.type === 'file') yield { filename: part.filename, stream: part.file };
    }
  }
  const stored = await upload(Number.isSafeInteger(length) && length >= 0 ? length : undefined, files());
  for (let i = 0; i < stored.length; i++) recordUsage(request, 'upload', 'documents');
  return stored;
}

/** PUT with the file as the body (?nom=<name>), Content-Length required (raw-upload.ts). */
export async function uploadBody(request: FastifyRequest, documents: DocumentsService, actor: Actor, parent: string | null): Promise<DocumentNode> {
  const length = declaredLength(request);
  const node = await documents.uploadSized(actor, parent, (request.query as { nom?: string }).nom, length, bodyStream(request));
  recordUsage(request, 'upload', 'documents');
  return node;
}
