// In-app notifications: the one function other services call (notify), the bell's count, the
// list, marking read, and each person's choice per category (immediate mail, daily digest, in-app).
//
// Every query names the person as well as the tenant: a notification id from someone else (or
// from another tenant, which RLS hides anyway) matches nothing and reads as "not found".
import { sql } from 'kysely';
import type { Jobs } from '../jobs/client.js';
import type { DbHandle, TenantDb } from '../platform/db.js';
import { newId } from '../platform/ids.js';
import type { TenantRegistry } from '../tenancy/registry.js';
import { CATEGORIES, CATEGORY_IDS, type Category, type Delivery } from './categories.js';
import { invalidateUnread } from './unread-cache.js';
import './tables.js';

export interface NotifyDeps {
  database: DbHandle;
  /** Enqueues the immediate mail (mail.send); without it, notifications are in-app only. */
  jobs?: Pick<Jobs, 'enqueue'>;
  /** The tenant's default language, for the words of the mail around the notification. */
  registry?: Pick<TenantRegistry, 'byId'>;
}

export interface NotifyInput {
  tenantId: string;
  personId: string;
  category: Category;
  /** In the person's language, as the caller knows it. */
  title: string;
  body?: string;
  /** A path on the tenant's host (e.g. /documents/…), never an absolute URL. */
  link?: string;
}

export interface Notification {
  id: string;
  category: Category;
  title: string;
  body: string;
  link: string | null;
  createdAt: Date;
  readAt: Date | null;
}

export class NotificationInputError extends Error {
  override name = 'NotificationInputError';
}

const LINK = /^\/(?![/\\])[^\s]*$/;
/** The bell shows "99+" beyond this: the count query stops there. */
export const UNREAD_CAP = 100;

function check(input: NotifyInput): void {
  if (!(CATEGORY_IDS as string[]).includes(input.category)) throw new NotificationInputError(`unknown notification category "${input.category}"`);
  if (!input.title.trim() || input.title.length > 200) throw new NotificationInputError('a notification title is 1 to 200 characters');
  if ((input.body ?? '').length > 2000) throw new NotificationInputError('a notification body is at most 2000 characters');
  if (input.link !== undefined && (!LINK.test(input.link) || input.link.length > 2000)) throw new NotificationInputError('a notification link is a path on the tenant host');
}

/** A person's delivery for a category: their choice, else the category's default (as SQL, for the digest). */
export function deliverySql(category: ReturnType<typeof sql.ref>, tenantId: ReturnType<typeof sql.ref>, personId: ReturnType<typeof sql.ref>) {
  const defaults = sql.join(
    CATEGORY_IDS.map((id) => sql`when ${id} then ${CATEGORIES[id].default}`),
    sql` `,
  );
  return sql<Delivery>`coalesce(
    (select p.delivery from notification_preferences p where p.tenant_id = ${tenantId} and p.person_id = ${personId} and p.category = ${category}),
    case ${category} ${defaults} else 'in-app' end)`;
}

/**
 * Stores a notification for one person and, if they chose immediate mail for its category,
 * enqueues that mail (keyed by the notification: never sent twice). Returns the notification id.
 */
export async function notify(deps: NotifyDeps, input: NotifyInput): Promise<{ id: string; mailed: boolean }> {
  check(input);
  const id = newId();
  const { tenantId, personId } = input;
  const recipient = await deps.database.withTenant(tenantId, async (trx) => {
    await trx
      .insertInto('notifications')
      .values({ tenant_id: tenantId, id, person_id: personId, category: input.category, title: input.title, body: input.body ?? '', link: input.link ?? null })
      .execute();
    const delivery = await deliveryOf(trx, tenantId, personId, input.category);
    if (delivery !== 'immediate') return undefined;
    return trx
      .selectFrom('people')
      .select(['display_name', 'locale', sql<string | null>`coalesce(preferred_mail, mail)`.as('address')])
      .where('tenant_id', '=', tenantId)
      .where('id', '=', personId)
      .where('status', '=', 'active')
      .executeTakeFirst();
  });
  invalidateUnread(tenantId, personId);
  if (!recipient?.address || !deps.jobs) return { id, mailed: false };
  const locale = recipient.locale ?? deps.registry?.byId(tenantId)?.declaration.defaultLocale ?? 'fr';
  await deps.jobs.enqueue(
    'mail.send',
    {
      tenantId,
      key: `notification:${id}`,
      locale,
      to: { address: recipient.address, name: recipient.display_name.replace(/[\r\n]/g, ' ').slice(0, 200) },
      message: {
        template: 'notice',
        props: {
          subject: input.title.replace(/[\r\n]+/g, ' '),
          heading: input.title,
          paragraphs: input.body ? [input.body] : [],
          ...(input.link ? { action: { label: locale === 'en' ? 'Open' : 'Ouvrir', path: input.link } } : {}),
        },
      },
    },
    { key: `notification:${tenantId}:${id}` },
  );
  return { id, mailed: true };
}

async function deliveryOf(trx: TenantDb, tenantId: string, personId: string, category: Category): Promise<Delivery> {
  const row = await trx
    .selectFrom('notification_preferences')
    .select('delivery')
    .where('tenant_id', '=', tenantId)
    .where('person_id', '=', personId)
    .where('category', '=', category)
    .executeTakeFirst();
  return row?.delivery ?? CATEGORIES[category].default;
}

/** Unread notifications of a person, counted up to UNREAD_CAP (one index-only scan of the partial index). */
export async function countUnread(database: DbHandle, tenantId: string, personId: string): Promise<number> {
  const row = await database.withTenant(tenantId, (trx) =>
    trx
      .selectFrom((db) =>
        db
          .selectFrom('notifications')
          .select(sql`1`.as('one'))
          .where('tenant_id', '=', tenantId)
          .where('person_id', '=', personId)
          .where('read_at', 'is', null)
          .limit(UNREAD_CAP)
          .as('unread'),
      )
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow(),
  );
  return Number(row.n);
}

export const PAGE_SIZE = 30;

/** Newest first; `before` (an id from the previous page) for the next page. */
export async function listNotifications(database: DbHandle, tenantId: string, personId: string, options: { before?: string } = {}): Promise<{ items: Notification[]; more: boolean }> {
  const rows = await database.withTenant(tenantId, (trx) => {
    let query = trx
      .selectFrom('notifications')
      .select(['id', 'category', 'title', 'body', 'link', 'created_at', 'read_at'])
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', personId);
    if (options.before) query = query.where('id', '<', options.before);
    return query.orderBy('id', 'desc').limit(PAGE_SIZE + 1).execute();
  });
  return {
    more: rows.length > PAGE_SIZE,
    items: rows.slice(0, PAGE_SIZE).map((r) => ({ id: r.id, category: r.category as Category, title: r.title, body: r.body, link: r.link, createdAt: r.created_at, readAt: r.read_at })),
  };
}

/** Marks one of the person's notifications read; false when they have none with this id. */
export async function markRead(database: DbHandle, tenantId: string, personId: string, id: string): Promise<boolean> {
  const result = await database.withTenant(tenantId, (trx) =>
    trx
      .updateTable('notifications')
      .set({ read_at: sql`coalesce(read_at, now())` })
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', personId)
      .where('id', '=', id)
      .executeTakeFirst(),
  );
  invalidateUnread(tenantId, personId);
  return result.numUpdatedRows > 0n;
}

export async function markAllRead(database: DbHandle, tenantId: string, personId: string): Promise<number> {
  const result = await database.withTenant(tenantId, (trx) =>
    trx
      .updateTable('notifications')
      .set({ read_at: sql`now()` })
      .where('tenant_id', '=', tenantId)
      .where('person_id', '=', personId)
      .where('read_at', 'is', null)
      .executeTakeFirst(),
  );
  invalidateUnread(tenantId, personId);
  return Number(result.numUpdatedRows);
}

/** The person's delivery for every category (their choice or the default). */
export async function preferences(database: DbHandle, tenantId: string, personId: string): Promise<Record<Category, Delivery>> {
  const rows = await database.withTenant(tenantId, (trx) =>
    trx.selectFrom('notification_preferences').select(['category', 'delivery']).where('tenant_id', '=', tenantId).where('person_id', '=', personId).execute(),
  );
  const chosen = new Map(rows.map((r) => [r.category, r.delivery]));
  return Object.fromEntries(CATEGORY_IDS.map((c) => [c, chosen.get(c) ?? CATEGORIES[c].default])) as Record<Category, Delivery>;
}

export async function setPreferences(database: DbHandle, tenantId: string, personId: string, choices: Partial<Record<Category, Delivery>>): Promise<void> {
  const rows = Object.entries(choices).map(([category, delivery]) => ({ tenant_id: tenantId, person_id: personId, category, delivery: delivery! }));
  if (rows.length === 0) return;
  await database.withTenant(tenantId, (trx) =>
    trx
      .insertInto('notification_preferences')
      .values(rows)
      .onConflict((oc) => oc.columns(['tenant_id', 'person_id', 'category']).doUpdateSet({ delivery: (eb) => eb.ref('excluded.delivery'), updated_at: sql`now()` }))
      .execute(),
  );
}
