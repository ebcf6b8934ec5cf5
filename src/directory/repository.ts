// SQL of the white pages. Every query runs in the caller's withTenant transaction, so RLS shows
// one tenant only; the tenant_id conditions are there for the indexes (they lead with it).
import { sql, type Expression, type SqlBool } from 'kysely';
import type { TenantDb } from '../platform/db.js';

/** The expressions migrations/0005 indexes: the same function calls, or the index is not used. */
export const searchText = sql<string>`directory_search_text(people.given_name, people.family_name, people.display_name, people.mail, people.affectation)`;
export const nameKey = sql<string>`directory_name_key(people.family_name, people.display_name, people.given_name)`;

export const PERSON_COLUMNS = [
  'people.id',
  'people.external_id',
  'people.display_name',
  'people.given_name',
  'people.family_name',
  'people.mail',
  'people.preferred_mail',
  'people.affectation',
  'people.title',
  'people.office_phone',
  'people.phone_visible',
  'people.photo_key',
  'people.affiliations',
  'people.roles',
  'people.granted_roles',
  'people.red_list',
  'people.status',
  'people.source',
  'people.attributes',
  'people.deactivated_at',
  'people.last_login_at',
] as const;

export interface PersonRow {
  id: string;
  external_id: string;
  display_name: string;
  given_name: string | null;
  family_name: string | null;
  mail: string | null;
  preferred_mail: string | null;
  affectation: string | null;
  title: string | null;
  office_phone: string | null;
  phone_visible: boolean;
  photo_key: string | null;
  affiliations: string[];
  roles: string[];
  granted_roles: string[];
  red_list: boolean;
  status: 'active' | 'deactivated';
  source: string;
  attributes: Record<string, string[]>;
  deactivated_at: Date | null;
  last_login_at: Date | null;
}

/** Lower-case, accents removed: what the index holds. Mirrors directory_normalize in SQL. */
export function normalize(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

const escapeLike = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Words of a query, normalised; at most 6, so a pasted paragraph cannot build a huge query. */
export function queryTokens(query: string): string[] {
  return normalize(query)
    .split(/[\s,;()"']+/)
    .filter(Boolean)
    .slice(0, 6);
}

export interface SearchOptions {
  tenantId: string;
  query: string;
  limit: number;
  offset: number;
  /** Admins also find red-listed and deactivated people. */
  includeHidden: boolean;
}

/**
 * Words of 3 letters or more match anywhere (trigram index: substring, accents removed) or,
 * misspelt, by word similarity (`<%`, same index). Shorter words match the start of a word; a
 * query made only of short words is a prefix of the family name (btree index), as people type.
 */
export async function searchPeople(trx: TenantDb, options: SearchOptions): Promise<PersonRow[]> {
  const tokens = queryTokens(options.query);
  if (tokens.length === 0) return [];
  // Typo tolerance: word similarity 0.45 lets one wrong letter in a 6-letter name through.
  await sql`select set_config('pg_trgm.word_similarity_threshold', '0.45', true)`.execute(trx);
  const long = tokens.filter((t) => t.length >= 3);
  const normalizedQuery = tokens.join(' ');
  let query = trx
    .selectFrom('people')
    .select(PERSON_COLUMNS)
    .where('people.tenant_id', '=', options.tenantId);
  if (!options.includeHidden) query = query.where('people.status', '=', 'active').where('people.red_list', '=', false);
  for (const token of tokens) {
    if (token.length >= 3) {
      query = query.where(sql<SqlBool>`(${searchText} like ${`%${escapeLike(token)}%`} or ${token} <% ${searchText})` as Expression<SqlBool>);
    } else {
      query = query.where(sql<SqlBool>`(' ' || ${searchText}) like ${`% ${escapeLike(token)}%`}` as Expression<SqlBool>);
    }
  }
  if (long.length === 0) query = query.where(sql<SqlBool>`${nameKey} like ${`${escapeLike(tokens[0]!)}%`}` as Expression<SqlBool>);
  const rows = await (long.length
    ? query.orderBy(sql`word_similarity(${normalizedQuery}, ${searchText})`, 'desc').orderBy(nameKey).orderBy('people.id')
    : query.orderBy(nameKey).orderBy('people.id')
  )
    .limit(options.limit)
    .offset(options.offset)
    .execute();
  return rows as PersonRow[];
}

export async function personById(trx: TenantDb, tenantId: string, id: string): Promise<PersonRow | undefined> {
  const row = await trx.selectFrom('people').select(PERSON_COLUMNS).where('people.tenant_id', '=', tenantId).where('people.id', '=', id).executeTakeFirst();
  return row as PersonRow | undefined;
}
