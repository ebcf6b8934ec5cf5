// mail.send: renders a tenant's branded mail and hands it to SMTP, exactly once to visible
// effect. Idempotency: the payload's `key` (chosen by the caller: "welcome:<personId>",
// "notification:<id>") is claimed in mail_deliveries before SMTP and marked sent after; a
// retried or re-run job finds it sent and stops. The same key also derives the job id (so the
// same mail enqueued twice is one job) and the Message-ID. The one remaining window: a worker
// killed between the SMTP server's acceptance and the "sent" mark; its claim expires after
// CLAIM_LEASE_SECONDS and the mail goes out again (at least once rather than lost).
import { Type } from '@sinclair/typebox';
import { UnrecoverableError } from 'bullmq';
import { createHash } from 'node:crypto';
import type { DbHandle } from '../platform/db.js';
import { defineJob } from '../jobs/deps.js';
import type { Tenant } from '../tenancy/registry.js';
import { claimDelivery, markSent, purgeDeliveries, releaseClaim } from './deliveries.js';
import { LOGO_CID } from './layout.js';
import { renderMail } from './render.js';
import { MailMessage } from './templates.js';

const Address = Type.String({ pattern: '^[^@\\s<>"(),;:]+@[^@\\s<>"(),;:]+$', maxLength: 254, description: 'an e-mail address' });

export const mailSendJob = defineJob({
  name: 'mail.send',
  lane: 'mail',
  payload: {
    /** What makes this mail unique for the tenant: the same key is never sent twice. */
    key: Type.String({ minLength: 1, maxLength: 200 }),
    to: Type.Object({ address: Address, name: Type.Optional(Type.String({ maxLength: 200, pattern: '^[^\\r\\n]*$' })) }, { additionalProperties: false }),
    /** The person's language; the tenant's default when absent. */
    locale: Type.Optional(Type.Union([Type.Literal('fr'), Type.Literal('en')])),
    message: MailMessage,
  },
  // Retries after 2 s, 4 s, 8 s... the last about 34 min later: an SMTP outage of about an hour
  // delays mail instead of losing it (and the job stays in failed, visible, after that).
  attempts: 12,
  backoffMs: 2000,
  async handle(payload, { log }, { database, registry, mailer, config }) {
    const tenant = registry.byId(payload.tenantId);
    if (!tenant) throw new UnrecoverableError(`no tenant ${payload.tenantId} in the registry`);
    const sender = tenant.declaration.mail;
    if (!sender) throw new UnrecoverableError(`tenant ${tenant.slug} declares no mail sender (mail.from in tenants/${tenant.slug}.yaml)`);

    const logo = await tenantLogo(database, tenant);
    const rendered = renderMail(tenant, payload.locale ?? tenant.declaration.defaultLocale, payload.message as MailMessage, {
      config,
      hasLogo: !!logo,
    });
    const messageId = `<${digest(`${tenant.id}\n${payload.key}`).slice(0, 40)}@${sender.from.address.split('@')[1]}>`;

    const claim = await claimDelivery(database, tenant.id, payload.key, messageId);
    if (claim.outcome === 'sent') {
      log.info({ key: payload.key }, 'mail already sent; nothing to do');
      return { messageId, duplicate: true };
    }
    // Another run holds the claim (a job put back while its first run is still talking to SMTP).
    if (claim.outcome === 'busy') throw new Error(`mail ${payload.key} is being sent by another run; will check again`);

    try {
      await mailer.send({
        messageId,
        from: { name: sender.from.name ?? tenant.displayName, address: sender.from.address },
        ...(sender.replyTo ? { replyTo: sender.replyTo } : {}),
        to: payload.to.name ? { name: payload.to.name, address: payload.to.address } : payload.to.address,
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Portique-Tenant': tenant.slug },
        ...(logo ? { attachments: [{ filename: logo.name, content: logo.body, contentType: logo.contentType, cid: LOGO_CID, contentDisposition: 'inline' as const }] } : {}),
      });
    } catch (error) {
      await releaseClaim(database, tenant.id, payload.key, claim.token);
      throw error;
    }
    await markSent(database, tenant.id, payload.key, claim.token);
    log.info({ key: payload.key, messageId }, 'mail sent');
    return { messageId };
  },
});

/** Daily: delivery records older than this are only history. */
export const DELIVERY_RECORDS_DAYS = 90;

export const mailPurgeDeliveriesJob = defineJob({
  name: 'mail.purge-deliveries',
  lane: 'default',
  payload: {},
  attempts: 3,
  async handle(payload, { log }, { database }) {
    const deleted = await purgeDeliveries(database, payload.tenantId, DELIVERY_RECORDS_DAYS);
    log.info({ deleted }, 'old mail delivery records purged');
    return { deleted };
  },
});

const digest = (text: string) => createHash('sha256').update(text).digest('hex');

// The logo travels inline (cid:) rather than as a link, so it shows without a request to our
// hosts. Cached briefly per process: a mail burst reads it once.
const logoCache = new Map<string, { at: number; logo: { name: string; body: Buffer; contentType: string } | undefined }>();
const LOGO_CACHE_MS = 60_000;

async function tenantLogo(database: DbHandle, tenant: Tenant) {
  const name = tenant.declaration.branding.logo;
  const cacheKey = `${tenant.id}/${name}`;
  const cached = logoCache.get(cacheKey);
  if (cached && Date.now() - cached.at < LOGO_CACHE_MS) return cached.logo;
  const row = await database.withTenant(tenant.id, (trx) =>
    trx.selectFrom('tenant_assets').select(['name', 'body', 'content_type']).where('tenant_id', '=', tenant.id).where('name', '=', name).executeTakeFirst(),
  );
  const logo = row ? { name: row.name, body: row.body, contentType: row.content_type } : undefined;
  logoCache.set(cacheKey, { at: Date.now(), logo });
  return logo;
}
