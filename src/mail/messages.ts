// The words of the shared mail layout and of the mail templates, French first.
import type { Locale } from '../web/i18n/index.js';

const fr = {
  'layout.footer': "Vous recevez ce message de l'espace numérique de travail de {name}.",
  'layout.open': "Ouvrir l'ENT",
  'welcome.subject': "Bienvenue sur l'ENT de {name}",
  'welcome.heading': 'Bonjour {person},',
  'welcome.body': "Votre espace numérique de travail est prêt : documents, agenda, emploi du temps et informations de {name}, au même endroit.",
  'welcome.action': 'Découvrir mon ENT',
};
export type MailMessageKey = keyof typeof fr;

const en: Record<MailMessageKey, string> = {
  'layout.footer': 'You receive this message from the digital workspace of {name}.',
  'layout.open': 'Open the workspace',
  'welcome.subject': "Welcome to {name}'s digital workspace",
  'welcome.heading': 'Hello {person},',
  'welcome.body': 'Your digital workspace is ready: documents, calendar, timetable and news from {name}, all in one place.',
  'welcome.action': 'Discover my workspace',
};

const catalogues: Record<Locale, Record<MailMessageKey, string>> = { fr, en };

export type MailTranslate = (key: MailMessageKey, params?: Record<string, string>) => string;

export function mailTranslator(locale: Locale): MailTranslate {
  return (key, params) => catalogues[locale][key].replace(/\{(\w+)\}/g, (m, name: string) => params?.[name] ?? m);
}
