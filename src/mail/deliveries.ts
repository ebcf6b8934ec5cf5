// The delivery record that makes mail.send idempotent (migrations/0004_jobs.sql).
import { sql } from 'kysely';
import type { DbHandle } from '../platform/db.js';
import { newId } from '../platform/ids.js';

/** Longer than any SMTP exchange (nodemailer's socket timeout is 30 s): a claim this old belongs to a run that died. */
export const CLAIM_LEASE_SECONDS = 120;

export type Claim = { outcome: 'claimed'; token: string } | { outcome: 'sent' } | { outcome: 'busy' };

export async function claimDelivery(database: DbHandle, tenantId: string, key: string, messageId: string): Promise<Claim> {
  const token = newId();
  return database.withTenant(tenantId, async (trx) => {
    const row = await trx
      .insertInto('mail_deliveries')
      .values({ tenant_id: tenantId, key, message_id: messageId, status: 'sending', claim: token })
      .onConflict((oc) =>
        oc
          .columns(['tenant_id', 'key'])
          .doUpdateSet({ claim: token, claimed_at: sql`now()` })
          .where('mail_deliveries.status', '=', 'sending')
          .where('mail_deliveries.claimed_at', '<', sql<Date>`now() - make_interval(secs => ${CLAIM_LEASE_SECONDS})`),
      )
      .returning('claim')
      .executeTakeFirst();
    if (row?.claim === token) return { outcome: 'claimed', token } as const;
    const existing = await trx.selectFrom('mail_deliveries').select('status').where('tenant_id', '=', tenantId).where('key', '=', key).executeTakeFirst();
    return existing?.status === 'sent' ? ({ outcome: 'sent' } as const) : ({ outcome: 'busy' } as const);
  });
}

export async function markSent(database: DbHandle, tenantId: string, key: string, token: string): Promise<void> {
  await database.withTenant(tenantId, (trx) =>
    trx
      .updateTable('mail_deliveries')
      .set({ status: 'sent', sent_at: sql`now()`, claim: null })
      .where('tenant_id', '=', tenantId)
      .where('key', '=', key)
      .where('claim', '=', token)
      .execute(),
  );
}

/** The send failed before the server accepted the message: the next try may claim at once. */
export async function releaseClaim(database: DbHandle, tenantId: string, key: string, token: string): Promise<void> {
  await database.withTenant(tenantId, (trx) =>
    trx.deleteFrom('mail_deliveries').where('tenant_id', '=', tenantId).where('key', '=', key).where('claim', '=', token).where('status', '=', 'sending').execute(),
  );
}

export async function purgeDeliveries(database: DbHandle, tenantId: string, olderThanDays: number): Promise<number> {
  const result = await database.withTenant(tenantId, (trx) =>
    trx
      .deleteFrom('mail_deliveries')
      .where('tenant_id', '=', tenantId)
      .where('claimed_at', '<', sql<Date>`now() - make_interval(days => ${olderThanDays})`)
      .executeTakeFirst(),
  );
  return Number(result.numDeletedRows);
}

export async function deliveryStatus(database: DbHandle, tenantId: string, key: string) {
  return database.withTenant(tenantId, (trx) =>
    trx.selectFrom('mail_deliveries').select(['status', 'message_id', 'sent_at']).where('tenant_id', '=', tenantId).where('key', '=', key).executeTakeFirst(),
  );
}
