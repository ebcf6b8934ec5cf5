// notifications.digest: once a day per tenant (schedules.ts), one mail per person with the
// unread notifications of their "daily digest" categories.
//
// Idempotent: the notifications a digest carries are first stamped with its day (digest_day), in
// one statement; the mail is then enqueued under the key digest:<person>:<day>. A retry (or a
// second run the same day) finds the same stamped rows and enqueues the same key, which
// mail.send delivers at most once (src/mail/deliveries.ts). Tomorrow's digest only takes rows
// not stamped yet.
import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import { defineJob } from '../jobs/deps.js';
import { deliverySql } from './service.js';
import './tables.js';

/** The most items listed in one digest mail (the rest are counted, one link to the list). */
const MAX_ITEMS = 15;
const TIME_ZONE = 'Europe/Paris';

/** Today in the region's time zone, as YYYY-MM-DD. */
export const regionalDay = (at = new Date()) => new Intl.DateTimeFormat('en-CA', { timeZone: TIME_ZONE }).format(at);

const WORDS = {
  fr: {
    subject: (n: number) => (n === 1 ? 'Votre résumé du jour : 1 notification' : `Votre résumé du jour : ${n} notifications`),
    heading: 'Ce qui vous attend',
    more: (n: number) => `Et ${n} autre(s).`,
    action: 'Voir mes notifications',
  },
  en: {
    subject: (n: number) => (n === 1 ? 'Your daily digest: 1 notification' : `Your daily digest: ${n} notifications`),
    heading: 'What is waiting for you',
    more: (n: number) => `And ${n} more.`,
    action: 'See my notifications',
  },
};

export const notificationsDigestJob = defineJob({
  name: 'notifications.digest',
  lane: 'default',
  payload: {
    /** The digest's day (YYYY-MM-DD); today in Europe/Paris when absent (the daily schedule). */
    day: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
  },
  attempts: 5,
  async handle(payload, { log }, { database, registry, jobs }) {
    if (!jobs) throw new Error('notifications.digest needs the job client (JobDeps.jobs) to enqueue its mails');
    const { tenantId } = payload;
    const day = payload.day ?? regionalDay();
    const tenant = registry.byId(tenantId);
    const tenantLocale = tenant?.declaration.defaultLocale ?? 'fr';

    const rows = await database.withTenant(tenantId, async (trx) => {
      await trx
        .updateTable('notifications as n')
        .set({ digest_day: day })
        .where('n.tenant_id', '=', tenantId)
        .where('n.digest_day', 'is', null)
        .where('n.read_at', 'is', null)
        .where(deliverySql(sql.ref('n.category'), sql.ref('n.tenant_id'), sql.ref('n.person_id')), '=', 'digest')
        .execute();
      // Still unread among those stamped for this day (also what a retry finds again).
      return trx
        .selectFrom('notifications as n')
        .innerJoin('people as p', (j) => j.onRef('p.tenant_id', '=', 'n.tenant_id').onRef('p.id', '=', 'n.person_id'))
        .select(['n.person_id', 'n.title', 'p.display_name', 'p.locale', sql<string | null>`coalesce(p.preferred_mail, p.mail)`.as('address')])
        .where('n.tenant_id', '=', tenantId)
        .where('n.digest_day', '=', day)
        .where('n.read_at', 'is', null)
        .where('p.status', '=', 'active')
        .orderBy('n.person_id')
        .orderBy('n.id', 'desc')
        .execute();
    });

    const byPerson = new Map<string, { name: string; address: string | null; locale: 'fr' | 'en'; titles: string[] }>();
    for (const row of rows) {
      const entry = byPerson.get(row.person_id) ?? { name: row.display_name, address: row.address, locale: row.locale ?? tenantLocale, titles: [] };
      entry.titles.push(row.title);
      byPerson.set(row.person_id, entry);
    }
    let enqueued = 0;
    for (const [personId, { name, address, locale, titles }] of byPerson) {
      if (!address) continue;
      const words = WORDS[locale];
      const key = `digest:${personId}:${day}`;
      await jobs.enqueue(
        'mail.send',
        {
          tenantId,
          key,
          locale,
          to: { address, name: name.replace(/[\r\n]/g, ' ').slice(0, 200) },
          message: {
            template: 'notice',
            props: {
              subject: words.subject(titles.length),
              heading: words.heading,
              paragraphs: [
                ...titles.slice(0, MAX_ITEMS).map((title) => `• ${title}`),
                ...(titles.length > MAX_ITEMS ? [words.more(titles.length - MAX_ITEMS)] : []),
              ],
              action: { label: words.action, path: '/notifications' },
            },
          },
        },
        { key: `${tenantId}:${key}` },
      );
      enqueued += 1;
    }
    log.info({ day, people: byPerson.size, enqueued }, 'notification digests enqueued');
    return { day, enqueued };
  },
});
