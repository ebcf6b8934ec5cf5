// The white pages: search and person cards, within the tenant's visibility rules.
import type { DbHandle, TenantDb } from '../platform/db.js';
import { BadRequestError, NotFoundError } from '../platform/errors.js';
import { isUuid } from '../platform/ids.js';
import type { Tenant } from '../tenancy/registry.js';
import { personById, searchPeople, type PersonRow } from './repository.js';
import { editableFields, visibleFields, type Viewer } from './visibility.js';

export const PAGE_SIZE = 20;

export interface Card {
  id: string;
  displayName: string;
  givenName: string | null;
  familyName: string | null;
  mail?: string;
  affectation?: string;
  title?: string;
  officePhone?: string;
  hasPhoto: boolean;
  /** Only ever set for admins, who also see red-listed and deactivated people. */
  redList?: boolean;
  status?: 'active' | 'deactivated';
}

export interface Who {
  personId: string;
  roles: readonly string[];
}

export const kindsOf = (row: Pick<PersonRow, 'affiliations' | 'roles'>): string[] => [...new Set([...row.affiliations, ...row.roles])];

export async function viewerOf(trx: TenantDb, tenantId: string, who: Who): Promise<Viewer> {
  const row = await personById(trx, tenantId, who.personId);
  // A session whose person is gone or deactivated sees as little as possible.
  if (!row || row.status !== 'active') return { personId: who.personId, kinds: [], admin: false };
  const admin = who.roles.includes('admin') || row.granted_roles.includes('admin');
  return { personId: row.id, kinds: kindsOf(row), admin };
}

export function cardOf(tenant: Tenant, viewer: Viewer, row: PersonRow): Card {
  const fields = visibleFields(tenant.declaration, viewer, { id: row.id, kinds: kindsOf(row) });
  const self = viewer.personId === row.id;
  const mail = row.preferred_mail ?? row.mail;
  const card: Card = { id: row.id, displayName: row.display_name, givenName: row.given_name, familyName: row.family_name, hasPhoto: false };
  if (fields.has('mail') && mail) card.mail = mail;
  if (fields.has('affectation') && row.affectation) card.affectation = row.affectation;
  if (fields.has('title') && row.title) card.title = row.title;
  if (fields.has('officePhone') && row.office_phone && (row.phone_visible || viewer.admin || self)) card.officePhone = row.office_phone;
  if (fields.has('photo') && row.photo_key) card.hasPhoto = true;
  if (viewer.admin) {
    card.redList = row.red_list;
    card.status = row.status;
  }
  return card;
}

export interface SearchResult {
  cards: Card[];
  page: number;
  hasMore: boolean;
}

export function createWhitePages(database: DbHandle) {
  return {
    async search(tenant: Tenant, who: Who, query: string, page = 1, options: { adminView?: boolean } = {}): Promise<SearchResult> {
      if (query.length > 200) throw new BadRequestError('La recherche est trop longue (200 caractères au plus).');
      const safePage = Number.isInteger(page) && page >= 1 && page <= 500 ? page : 1;
      // Two reads, each one round trip (readTenant), rather than a transaction's three.
      return database.readTenant(tenant.id, async (trx) => {
        const viewer = await viewerOf(trx, tenant.id, who);
        const rows = await searchPeople(trx, {
          tenantId: tenant.id,
          query,
          limit: PAGE_SIZE + 1,
          offset: (safePage - 1) * PAGE_SIZE,
          includeHidden: viewer.admin && options.adminView === true,
        });
        return { cards: rows.slice(0, PAGE_SIZE).map((row) => cardOf(tenant, viewer, row)), page: safePage, hasMore: rows.length > PAGE_SIZE };
      });
    },

    /** A person's card; a red-listed, deactivated or unknown person is the same 404 to non-admins. */
    async card(tenant: Tenant, who: Who, id: string): Promise<{ card: Card; row: PersonRow; viewer: Viewer }> {
      if (!isUuid(id)) throw new NotFoundError();
      return database.withTenant(tenant.id, async (trx) => {
        const viewer = await viewerOf(trx, tenant.id, who);
        const row = await personById(trx, tenant.id, id);
        if (!row) throw new NotFoundError();
        const hidden = row.red_list || row.status !== 'active';
        if (hidden && !viewer.admin && row.id !== viewer.personId) throw new NotFoundError();
        return { card: cardOf(tenant, viewer, row), row, viewer };
      });
    },

    async setPhoto(tenant: Tenant, who: Who, key: string | null): Promise<void> {
      await database.withTenant(tenant.id, (trx) =>
        trx.updateTable('people').set({ photo_key: key, updated_at: new Date() }).where('tenant_id', '=', tenant.id).where('id', '=', who.personId).execute(),
      );
    },

    /** What a person may change on their own card, as the declaration allows. */
    async updateProfile(tenant: Tenant, who: Who, changes: { preferredMail?: string | null; phoneVisible?: boolean }): Promise<void> {
      const editable = editableFields(tenant.declaration);
      const set: { preferred_mail?: string | null; phone_visible?: boolean } = {};
      if (changes.preferredMail !== undefined) {
        if (!editable.has('preferredMail')) throw new BadRequestError("L'adresse de messagerie ne peut pas être modifiée ici.");
        const mail = changes.preferredMail?.trim() || null;
        if (mail && !/^[^@\s<>"]{1,64}@[^@\s<>"]{1,253}$/.test(mail)) throw new BadRequestError("Cette adresse de messagerie n'est pas valide.");
        set.preferred_mail = mail;
      }
      if (changes.phoneVisible !== undefined) {
        if (!editable.has('phoneVisibility')) throw new BadRequestError('La visibilité du téléphone ne peut pas être modifiée ici.');
        set.phone_visible = changes.phoneVisible;
      }
      if (Object.keys(set).length === 0) return;
      await database.withTenant(tenant.id, (trx) =>
        trx.updateTable('people').set({ ...set, updated_at: new Date() }).where('tenant_id', '=', tenant.id).where('id', '=', who.personId).execute(),
      );
    },
  };
}

export type WhitePages = ReturnType<typeof createWhitePages>;

/** vCard 4.0 (RFC 6350) of what the viewer may see. */
export function vcardOf(card: Card, organisation: string): string {
  const esc = (value: string) => value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/,/g, '\\,').replace(/;/g, '\\;').replace(/\r/g, '');
  const lines = [
    'BEGIN:VCARD',
    'VERSION:4.0',
    `FN:${esc(card.displayName)}`,
    `N:${esc(card.familyName ?? '')};${esc(card.givenName ?? '')};;;`,
    `ORG:${esc(organisation)}${card.affectation ? `;${esc(card.affectation)}` : ''}`,
    ...(card.title ? [`TITLE:${esc(card.title)}`] : []),
    ...(card.mail ? [`EMAIL;TYPE=work:${esc(card.mail)}`] : []),
    ...(card.officePhone ? [`TEL;TYPE=work,voice:${esc(card.officePhone)}`] : []),
    `UID:urn:uuid:${card.id}`,
    'END:VCARD',
  ];
  return `${lines.join('\r\n')}\r\n`;
}
