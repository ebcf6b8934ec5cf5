import { en } from './en.js';
import { fr, type MessageKey, type Messages } from './fr.js';

export type Locale = 'fr' | 'en';
export const LOCALES: readonly Locale[] = ['fr', 'en'];
const catalogues: Record<Locale, Messages> = { fr, en };

export type Translate = (key: MessageKey, params?: Record<string, string>) => string;

export function translator(locale: Locale): Translate {
  const messages = catalogues[locale];
  return (key, params) => {
    const text = messages[key];
    return params ? text.replace(/\{(\w+)\}/g, (m, name: string) => params[name] ?? m) : text;
  };
}

export const isLocale = (value: unknown): value is Locale => value === 'fr' || value === 'en';
export type { MessageKey };
