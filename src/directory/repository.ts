// SQL of the white pages. Every query runs in the caller's withTenant transaction, so RLS shows
// one tenant only; the tenant_id conditions are there for the indexes (they lead with it).
import { sql, type Expression, type SqlBool } from 'kysely';
import type { TenantDb } from '../platform/db.js';

/** Normalised text kept by a trigger (migrations/0009), indexed with tenant_id first. */
export const searchText = sql<string>`people.search_text`;
export const nameKey = sql<string>`people.name_key`;

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
 * Words of 3 letters or more match by word similarity (`<%`: substrings, accents removed, a typo
 * forgiven). Shorter words match the start of a word; a query made only of short words is a
 * prefix of the family name.
 *
 * Row-level security decides the plan: PostgreSQL evaluates no user condition that is not
 * LEAKPROOF before the policy, so `<%` and LIKE never become index conditions on a tenant table
 * and a WHERE on them scans the tenant. What the indexes can still do: order by word-similarity
 * distance (GiST `<<->`, an ordering, not a condition) and range-scan a text prefix with the
 * leakproof `~>=~`/`~<~`. So the nearest candidates come from the GiST index, a bounded number of
 * them, and the words are checked on those; past that bound, a person refines the query.
 */
export async function searchPeople(trx: TenantDb, options: SearchOptions): Promise<PersonRow[]> {
  const tokens = queryTokens(options.query);
  if (tokens.length === 0) return [];
  const long = tokens.filter((t) => t.length >= 3);
  let query = trx.selectFrom('people').where('people.tenant_id', '=', options.tenantId);
  if (!options.includeHidden) query = query.where('people.status', '=', 'active').where('people.red_list', '=', false);
  const shortMatch = (token: string) => sql<SqlBool>`(' ' || ${searchText}) like ${`% ${escapeLike(token)}%`}`;
  if (long.length === 0) {
    const [first, ...rest] = tokens;
    let prefix = query.select(PERSON_COLUMNS).where(sql<SqlBool>`${nameKey} ~>=~ ${first!} and ${nameKey} ~<~ ${successor(first!)}` as Expression<SqlBool>);
    for (const token of rest) prefix = prefix.where(shortMatch(token) as Expression<SqlBool>);
    return (await prefix.orderBy(sql`${nameKey} using ~<~`).limit(options.limit).offset(options.offset).execute()) as PersonRow[];
  }
  // Typo tolerance: word similarity 0.45 lets one wrong letter in a 6-letter name through.
  // Computed on the candidates only, so the function (not the `<%` operator and its setting) will do.
  const checks = tokens.map((token) => (token.length >= 3 ? sql<SqlBool>`word_similarity(${token}, ${searchText}) >= 0.45` : shortMatch(token)));
  const candidates = Math.min(2000, options.offset + options.limit + 100);
  const rows = await query
    .select([...PERSON_COLUMNS, sql<boolean>`${sql.join(checks, sql` and `)}`.as('hit')])
    .orderBy(sql`${tokens.join(' ')} <<-> ${searchText}`)
    .limit(candidates)
    .execute();
  return rows
    .filter((row) => row.hit)
    .slice(options.offset, options.offset + options.limit)
    .map(({ hit: _hit, ...row }) => row as PersonRow);
}

/** The smallest string greater than every string starting with prefix (for a range scan). */
function successor(prefix: string): string {
  const last = prefix.codePointAt(prefix.length - 1)!;
  return prefix.slice(0, -1) + String.fromCodePoint(last + 1);
}

export async function personById(trx: TenantDb, tenantId: string, id: string): Promise<PersonRow | undefined> {
  const row = await trx.selectFrom('people').select(PERSON_COLUMNS).where('people.tenant_id', '=', tenantId).where('people.id', '=', id).executeTakeFirst();
  return row as PersonRow | undefined;
}
