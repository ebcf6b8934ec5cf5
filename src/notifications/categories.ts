// The kinds of notification a service may emit, and how each reaches a person who chose nothing.
// A new category is a line here (and its two labels): the typed list keeps callers honest.
export const DELIVERIES = ['immediate', 'digest', 'in-app'] as const;
export type Delivery = (typeof DELIVERIES)[number];

export const CATEGORIES = {
  share: { default: 'immediate', label: { fr: 'Partages de documents', en: 'Shared documents' } },
  import: { default: 'immediate', label: { fr: 'Imports de l’annuaire', en: 'Directory imports' } },
  group: { default: 'digest', label: { fr: 'Groupes et invitations', en: 'Groups and invitations' } },
  announcement: { default: 'digest', label: { fr: 'Annonces de l’établissement', en: 'Announcements' } },
  // A file of mine quarantined by the virus scan, or lost by the storage (src/documents/scan.ts, reconcile.ts).
  documents: { default: 'immediate', label: { fr: 'Alertes sur mes documents', en: 'Alerts about my documents' } },
} as const satisfies Record<string, { default: Delivery; label: { fr: string; en: string } }>;

export type Category = keyof typeof CATEGORIES;
export const CATEGORY_IDS = Object.keys(CATEGORIES) as Category[];

export const isCategory = (value: unknown): value is Category => typeof value === 'string' && Object.hasOwn(CATEGORIES, value);
export const isDelivery = (value: unknown): value is Delivery => typeof value === 'string' && (DELIVERIES as readonly string[]).includes(value);
