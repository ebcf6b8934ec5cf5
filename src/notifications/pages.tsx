// The notification list and the per-category preferences: plain forms, no JavaScript needed.
import { CsrfField, Layout, type PageContext } from '../web/layout.js';
import { CATEGORIES, CATEGORY_IDS, DELIVERIES, type Category, type Delivery } from './categories.js';
import type { Notification } from './service.js';

export const WORDS = {
  fr: {
    bell: 'Notifications',
    bellUnread: (n: string) => `Notifications : ${n} non lue(s)`,
    title: 'Notifications',
    none: "Vous n'avez aucune notification.",
    unread: 'Non lue',
    markRead: 'Marquer comme lue',
    markAll: 'Tout marquer comme lu',
    open: 'Ouvrir',
    older: 'Notifications plus anciennes',
    settings: 'Choisir comment je suis prévenu',
    prefsTitle: 'Préférences de notification',
    prefsIntro: 'Pour chaque type de notification, choisissez comment en être prévenu. Toutes restent visibles ici.',
    delivery: { immediate: 'Un courriel tout de suite', digest: 'Un résumé quotidien par courriel', 'in-app': 'Seulement dans l’ENT' } as Record<Delivery, string>,
    save: 'Enregistrer',
    saved: 'Vos préférences sont enregistrées.',
    back: 'Retour aux notifications',
  },
  en: {
    bell: 'Notifications',
    bellUnread: (n: string) => `Notifications: ${n} unread`,
    title: 'Notifications',
    none: 'You have no notifications.',
    unread: 'Unread',
    markRead: 'Mark as read',
    markAll: 'Mark all as read',
    open: 'Open',
    older: 'Older notifications',
    settings: 'Choose how I am told',
    prefsTitle: 'Notification preferences',
    prefsIntro: 'For each kind of notification, choose how you are told. All of them stay listed here.',
    delivery: { immediate: 'An e-mail right away', digest: 'A daily digest e-mail', 'in-app': 'In the workspace only' } as Record<Delivery, string>,
    save: 'Save',
    saved: 'Your preferences are saved.',
    back: 'Back to notifications',
  },
};

export function NotificationsPage(props: { ctx: PageContext; items: Notification[]; more: boolean }) {
  const { ctx, items } = props;
  const w = WORDS[ctx.locale];
  const when = new Intl.DateTimeFormat(ctx.locale === 'en' ? 'en-GB' : 'fr-FR', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Europe/Paris' });
  const unread = items.some((n) => !n.readAt);
  return (
    <Layout ctx={ctx} title={w.title}>
      <h1>{w.title}</h1>
      <div class="notifications-tools">
        <p>
          <a href="/notifications/preferences">{w.settings}</a>
        </p>
        {unread && (
          <form method="post" action="/notifications/tout-lu">
            <CsrfField ctx={ctx} />
            <button type="submit">{w.markAll}</button>
          </form>
        )}
      </div>
      {items.length === 0 ? (
        <p class="notice compact">{w.none}</p>
      ) : (
        <ul class="notifications">
          {items.map((n) => (
            <li class={n.readAt ? 'notification' : 'notification unread'} id={`n-${n.id}`}>
              <div class="notification-content">
                <p class="notification-title">
                  {!n.readAt && <strong class="badge">{w.unread}</strong>} <span>{n.title}</span>
                </p>
                {n.body && <p class="notification-body">{n.body}</p>}
                <p class="notification-meta">
                  <span>{CATEGORIES[n.category]?.label[ctx.locale] ?? n.category}</span> · <time dateTime={n.createdAt.toISOString()}>{when.format(n.createdAt)}</time>
                  {n.link && (
                    <>
                      {' · '}
                      <a href={n.link}>{w.open}</a>
                    </>
                  )}
                </p>
              </div>
              {!n.readAt && (
                <form method="post" action={`/notifications/${n.id}/lu`} class="inline-form">
                  <CsrfField ctx={ctx} />
                  <button type="submit" aria-label={`${w.markRead} : ${n.title}`}>
                    {w.markRead}
                  </button>
                </form>
              )}
            </li>
          ))}
        </ul>
      )}
      {props.more && items.length > 0 && (
        <nav class="pager" aria-label={w.older}>
          <a href={`/notifications?avant=${items[items.length - 1]!.id}`} rel="next">
            {w.older}
          </a>
        </nav>
      )}
    </Layout>
  );
}

export function PreferencesPage(props: { ctx: PageContext; choices: Record<Category, Delivery>; saved: boolean }) {
  const { ctx, choices } = props;
  const w = WORDS[ctx.locale];
  return (
    <Layout ctx={ctx} title={w.prefsTitle}>
      <p class="breadcrumb">
        <a href="/notifications">{w.title}</a>
      </p>
      <h1>{w.prefsTitle}</h1>
      {props.saved && (
        <p role="status" class="notice compact">
          {w.saved}
        </p>
      )}
      <p class="lead">{w.prefsIntro}</p>
      <form method="post" action="/notifications/preferences" class="preferences">
        <CsrfField ctx={ctx} />
        {CATEGORY_IDS.map((category) => (
          <fieldset>
            <legend>{CATEGORIES[category].label[ctx.locale]}</legend>
            <div class="choices">
              {DELIVERIES.map((delivery) => (
                <label class="choice">
                  <input type="radio" name={category} value={delivery} checked={choices[category] === delivery} /> {w.delivery[delivery]}
                </label>
              ))}
            </div>
          </fieldset>
        ))}
        <button type="submit" class="primary">
          {w.save}
        </button>
      </form>
      <p>
        <a href="/notifications">{w.back}</a>
      </p>
    </Layout>
  );
}
