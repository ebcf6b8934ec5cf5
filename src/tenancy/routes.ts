// Branding files (logo, favicon) from the tenant's declaration folder, served from the database
// so that every replica has them.
import type { FastifyPluginAsync } from 'fastify';
import type { DbHandle } from '../platform/db.js';
import { NotFoundError } from '../platform/errors.js';
import { findTenantAsset } from './repository.js';

export const tenancyRoutes: FastifyPluginAsync<{ database: DbHandle }> = async (app, { database }) => {
  app.get('/branding/:name', { config: { whenSuspended: true } }, async (request, reply) => {
    const { name } = request.params as { name: string };
    const tenant = request.tenant;
    const asset = await database.readTenant(tenant.id, (db) => findTenantAsset(db, tenant.id, name));
    if (!asset) throw new NotFoundError();
    const etag = `"${asset.sha256}"`;
    reply
      .header('etag', etag)
      .header('cache-control', 'public, max-age=300')
      .header('x-content-type-options', 'nosniff')
      // An SVG is an active document: when opened directly it may run nothing and load nothing.
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    if (request.headers['if-none-match'] === etag) return reply.status(304).send();
    return reply.type(asset.content_type).send(asset.body);
  });
};
