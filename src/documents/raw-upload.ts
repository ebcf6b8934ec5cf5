// Uploads as a raw request body (WebDAV/Nextcloud-style PUT): the file is the body, its size is
// the Content-Length, so the service reserves exactly that and sends S3 a single PutObject of
// known length instead of a multipart upload (which s3rver completes by rewriting every byte).
// The multipart POST form stays as the no-script fallback.
//
// The route lives in its own encapsulated context whose only content-type parser hands the
// request stream through untouched: fastify neither buffers the body nor applies its bodyLimit
// (that holds only for parsers with parseAs), whatever Content-Type the browser sends (the stored
// type comes from the name, src/documents/content-types.ts). CSRF: the global preValidation hook
// (src/identity/csrf.ts) runs after this parser, before the handler; script callers send the
// token in the x-csrf-token header.
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, PayloadTooLargeError } from '../platform/errors.js';

export class LengthRequiredError extends DomainError {
  constructor() {
    super(411, 'length_required', "L'envoi doit annoncer sa taille (en-tête Content-Length).");
  }
}

/** The declared body length: a 411 without one (chunked bodies included), 413 for absurd values. */
export function declaredLength(request: FastifyRequest): number {
  const raw = request.headers['content-length'];
  if (raw === undefined || request.headers['transfer-encoding'] !== undefined) throw new LengthRequiredError();
  const length = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(length)) throw new PayloadTooLargeError("La taille annoncée de l'envoi n'est pas valable.");
  return length;
}

/** The body as a stream (an empty body, which skips the parser, reads as the ended request). */
export const bodyStream = (request: FastifyRequest): Readable => (request.body as Readable | undefined) ?? request.raw;

/** Registers `PUT path` with a pass-through body parser, in a child context of `app`. */
export async function rawUploadRoute(app: FastifyInstance, path: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>): Promise<void> {
  await app.register(async (raw) => {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    // Refused before the body was read (411, 413, 403, 404...): close the connection rather than
    // let the client send a gigabyte nobody reads.
    raw.addHook('onError', async (request, reply) => {
      if (!request.raw.readableEnded) reply.header('connection', 'close');
    });
    // The body limit that matters is the tenant's (service.uploadSized checks Content-Length
    // against largestUpload and the quota before reading); fastify's own applies only to parseAs parsers.
    raw.put(path, { bodyLimit: Number.MAX_SAFE_INTEGER }, handler);
  });
}
