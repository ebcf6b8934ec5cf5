// SQL of the white pages. Every query runs in the caller's withTenant or readTenant, so RLS shows
// one tenant only; the tenant_id conditions are there for the indexes (they lead with it).
import { sql, type Expression, type SqlBool } from 'kysely';
import type { TenantDb } from '../platform/db.js';

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

/** unaccent also spells out the ligatures, which NFD leaves whole: "Cœur" is stored as "coeur". */
const LIGATURES: Record<string, string> = { œ: 'oe', æ: 'ae', ß: 'ss' };

/** Lower-case, accents removed: what the index holds. Mirrors directory_normalize in SQL. */
export function normalize(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[œæß]/g, (c) => LIGATURES[c]!);
}

/**
 * Words of a query, normalised and cut as the database cuts search texts into words
 * (directory_terms_of, migrations/0014): runs of letters, runs of digits. At most 6, so a pasted
 * paragraph cannot build a huge query.
 */
export function queryTokens(query: string): string[] {
  return (normalize(query).match(/\p{L}+|\p{N}+/gu) ?? []).slice(0, 6);
}

export interface SearchOptions {
  tenantId: string;
  query: string;
  limit: number;
  offset: number;
  /** Admins also find red-listed and deactivated people. */
  includeHidden: boolean;
  /** Tests only: 'hashed' forces the plan of several words that reads every holder of each, to compare answers. */
  plan?: 'hashed';
}

/** Typo tolerance: word similarity 0.45 lets one wrong letter in a 6-letter name through. */
const SIMILARITY = 0.45;
/** How many vocabulary words a query word may stand for: by prefix, and by likeness. */
const PREFIX_TERMS = 200;
const SIMILAR_TERMS = 50;

const isLetters = (token: string) => /^\p{L}+$/u.test(token);

/**
 * Row-level security decides the plan: PostgreSQL lets no condition that is not LEAKPROOF (the
 * trigram operators, LIKE) become an index condition on a tenant table, only btree comparisons.
 * So the search works on words (migrations/0014):
 * - a query made only of words under 3 letters is a prefix of the family name (name_key range);
 * - otherwise its longest word of letters (else of digits) drives: the vocabulary words it may
 *   stand for (its prefix range, and the nearest words by trigram likeness that are similar
 *   enough), each word's first people in name order read from the index, the query's other words
 *   checked on each of those (a prefix of one of their words, or a word like it), best likeness
 *   first, then name order. Every step reads a bounded number of index entries, not the tenant;
 * - several words of 3 letters or more: byRarestWords (each pair's rarer word walked, the other probed).
 */
export async function searchPeople(trx: TenantDb, options: SearchOptions): Promise<PersonRow[]> {
  const tokens = queryTokens(options.query);
  if (tokens.length === 0) return [];
  const t = options.tenantId;
  const visible = options.includeHidden ? sql`` : sql`and s.visible`;
  const byLength = [...tokens].sort((a, b) => Number(isLetters(b)) - Number(isLetters(a)) || b.length - a.length);
  const driver = byLength[0]!;
  if (driver.length < 3) return byNamePrefix(trx, options, tokens);
  const others = tokens.filter((_, i) => i !== tokens.indexOf(driver));
  const isLong = (token: string) => token.length >= 3 && isLetters(token);
  /** The vocabulary words a query word stands for, with their likeness to it: its prefix range and the nearest similar words. */
  const termsOf = (token: string) =>
    sql`select v.term, word_similarity(${token}, v.term) as score from (
          (select d.term from directory_terms d where d.tenant_id = ${t} and d.term >= ${token} and d.term < ${successor(token)} order by d.term limit ${PREFIX_TERMS})
          union
          (select d.term from directory_terms d where d.tenant_id = ${t} order by ${token} <<-> d.term limit ${SIMILAR_TERMS})) v
        where (v.term >= ${token} and v.term < ${successor(token)}) or word_similarity(${token}, v.term) >= ${SIMILARITY}`;
  const longOthers = others.filter(isLong);
  // Short words and numbers: a prefix of one of the candidate's words, checked on the candidate.
  const shortOthers = others.filter((token) => !isLong(token));
  if (isLetters(driver) && longOthers.length > 0 && options.plan !== 'hashed') {
    const rows = await byRarestWords(trx, options, [driver, ...longOthers], shortOthers, termsOf);
    if (rows) return rows;
  }
  // The hashed plan (one long word, a driver of digits, or what byRarestWords gives back).
  const driverTerms = isLetters(driver)
    ? termsOf(driver)
    : sql`select distinct s.term, 1::real as score from people_search_terms s
          where s.tenant_id = ${t} and s.term >= ${driver} and s.term < ${successor(driver)} limit ${PREFIX_TERMS}`;
  // Materialized: each computed once whatever the statistics say (a freshly loaded tenant has none
  // for the word tables until autovacuum comes), and joined by hashing.
  const ctes = [
    sql`terms as materialized (${driverTerms})`,
    ...longOthers.flatMap((token, k) => {
      const o = sql.id(`o${k}`);
      return [
        sql`${o} as materialized (${termsOf(token)})`,
        sql`${sql.id(`h${k}`)} as materialized (select x.person_id, max(${o}.score) as score from ${o} join people_search_terms x on x.tenant_id = ${t} and x.term = ${o}.term group by x.person_id)`,
      ];
    }),
  ];
  const checks = shortOthers.map((token) => sql`and exists (select from people_search_terms x where x.tenant_id = ${t} and x.person_id = s.person_id and x.term >= ${token} and x.term < ${successor(token)})`);
  // The people holding one of each other long word's words (h0, h1...), with the best likeness.
  const holders = longOthers.map((_, k) => sql`join ${sql.id(`h${k}`)} on ${sql.id(`h${k}`)}.person_id = s.person_id`);
  const otherScores = sql.join([sql`0`, ...longOthers.map((_, k) => sql`${sql.id(`h${k}`)}.score`)], sql` + `);
  const wanted = options.offset + options.limit;
  // One long word: each of its words' first people in name order (an index range each), merged.
  // Several: the people holding all of them, found by hashing each word's people.
  const candidates =
    longOthers.length === 0
      ? sql`select c.person_id, max(c.score) as score, min(c.name_key) as name_key
            from terms, lateral (
              select s.person_id, s.name_key, terms.score from people_search_terms s
              where s.tenant_id = ${t} and s.term = terms.term ${visible} ${sql.join(checks, sql` `)}
              order by s.name_key limit ${wanted}) c
            group by c.person_id`
      : sql`select s.person_id, max(terms.score + ${otherScores}) as score, min(s.name_key) as name_key
            from terms join people_search_terms s on s.tenant_id = ${t} and s.term = terms.term ${sql.join(holders, sql` `)}
            where true ${visible} ${sql.join(checks, sql` `)}
            group by s.person_id`;
  const columns = sql.join(PERSON_COLUMNS.map((column) => sql.ref(column.replace('people.', 'p.'))));
  const { rows } = await sql<PersonRow>`
    with ${sql.join(ctes)}
    select ${columns} from (
      ${candidates}
      order by score desc, name_key, person_id
      offset ${options.offset} limit ${options.limit}) c
    join people p on p.tenant_id = ${t} and p.id = c.person_id
    order by c.score desc, c.name_key, c.person_id`.execute(trx);
  return rows;
}

/** At most this many combinations of vocabulary words for one query; more (short prefixes of several words) are hashed as before. */
const MAX_COMBINATIONS = 256;
/** How far one combination's rarest word is walked before giving the query to the hashed plan. */
const WALK_LIMIT = 1000;
/** A probe (an index descent) against one sequential index entry of the hashed plan: about 20 on bench/directory.ts (1,000 probes ~ 20,000 entries hashed). */
const PROBE_COST = 20;

interface Combination {
  /** One vocabulary word per long query word, in the query words' order. */
  terms: string[];
  /** The combination's likeness, summed as the hashed plan sums it (real scores as double precision, plus 0). */
  score: number;
  /** Each word's people (directory_terms), in the same order as terms. */
  people: number[];
  /** Its rarest word (fewest people), walked in name order; the others are probed. */
  drive: number;
}

/**
 * Several words of 3 letters or more, without reading every holder of each (migrations/0026). A
 * person's likeness is the best of the combinations of vocabulary words (one per query word) that
 * they hold. Combinations are taken best first, a group of equal likeness at a time; for each, its
 * first `offset + limit` people in name order, walking its rarest word's index range and probing the
 * person's other words (primary key). Once that many people are found, the combinations left are
 * all less alike, so none of their people could rank before them: the answer is exactly the
 * hashed plan's, and the work is bounded by the combinations read, not by how common each word is.
 * Undefined (the caller hashes instead) when the words stand for too many combinations, when a
 * walk goes past WALK_LIMIT people, or when the walks would cost more than hashing (words rarely
 * held together, like two family names: each walk finds nobody and cannot stop early). The counts
 * only weigh costs: a wrong count makes a search slower, never different.
 */
async function byRarestWords(
  trx: TenantDb,
  options: SearchOptions,
  longTokens: string[],
  shortTokens: string[],
  termsOf: (token: string) => ReturnType<typeof sql>,
): Promise<PersonRow[] | undefined> {
  const t = options.tenantId;
  // Round trip 1: each long word's vocabulary words, likeness (exact, as double) and people count.
  const lists = sql.join(
    longTokens.map((token, k) => sql`select ${k}::int as k, v.term, v.score::float8 as score, coalesce(d.people, 0) as people
      from (${termsOf(token)}) v left join directory_terms d on d.tenant_id = ${t} and d.term = v.term`),
    sql` union all `,
  );
  const { rows: found } = await sql<{ k: number; term: string; score: number; people: number }>`${lists}`.execute(trx);
  const perToken = longTokens.map((_, k) => found.filter((row) => row.k === k));
  if (perToken.some((list) => list.length === 0)) return [];
  if (perToken.reduce((n, list) => n * list.length, 1) > MAX_COMBINATIONS) return undefined;
  // The hashed plan's sum: 0 + driver's score + each other word's score, in double precision.
  let partial: Omit<Combination, 'drive'>[] = [{ terms: [], score: 0, people: [] }];
  for (const list of perToken) partial = partial.flatMap((c) => list.map((row) => ({ terms: [...c.terms, row.term], score: c.score + row.score, people: [...c.people, row.people] })));
  const combinations: Combination[] = partial.map((c) => ({ ...c, drive: c.people.indexOf(Math.min(...c.people)) }));
  // What hashing would read: every holder of every word, once (sequential index entries).
  const hashedReads = found.reduce((n, row) => n + row.people, 0);
  const order = combinations.map((_, i) => i).sort((a, b) => combinations[b]!.score - combinations[a]!.score);

  const wanted = options.offset + options.limit;
  const visible = options.includeHidden ? sql`` : sql`and s.visible`;
  const shortChecks = shortTokens.map(
    (token) => sql`and exists (select from people_search_terms x where x.tenant_id = ${t} and x.person_id = s.person_id and x.term >= ${token} and x.term < ${successor(token)} offset 0)`,
  );
  const best = new Map<string, { score: number; nameKey: string }>();
  let at = 0;
  let batch = 1;
  let walked = 0;
  while (at < order.length && best.size < wanted) {
    // Whole groups of equal likeness, at least `batch` combinations (doubling: few round trips).
    let end = Math.min(order.length, at + batch);
    while (end < order.length && combinations[order[end]!]!.score === combinations[order[end - 1]!]!.score) end++;
    const chosen = order.slice(at, end);
    // The walks' cost at worst (a probe costs several sequential entries); past what hashing
    // reads (words rarely held together: every walk finds nobody and cannot stop early), hash.
    walked += chosen.reduce((n, i) => n + Math.min(WALK_LIMIT, combinations[i]!.people[combinations[i]!.drive]!), 0);
    if (at > 0 && walked * PROBE_COST > hashedReads) return undefined;
    at = end;
    batch *= 2;
    const drives = chosen.map((i) => combinations[i]!.terms[combinations[i]!.drive]!);
    // The other words of each combination, as one array per position (the drive's own word repeated: a probe that always finds).
    const probes = longTokens.slice(1).map((_, j) => chosen.map((i) => combinations[i]!.terms[j + 1 === combinations[i]!.drive ? 0 : j + 1]!));
    const columns = [sql`drive`, ...probes.map((_, j) => sql.id(`p${j}`)), sql`score`];
    const arrays = [sql`${drives}::text[]`, ...probes.map((list) => sql`${list}::text[]`), sql`${chosen.map((i) => combinations[i]!.score)}::float8[]`];
    const probeChecks = probes.map(
      (_, j) => sql`and exists (select from people_search_terms y where y.tenant_id = ${t} and y.person_id = s.person_id and y.term = ${sql.ref(`x.p${j}`)} offset 0)`,
    );
    // Each combination: the first WALK_LIMIT people of its rarest word in rank order, probed
    // ("offset 0" keeps each probe a per-candidate subplan on the primary key: without it the
    // planner turns exists into a join that reads every holder of the other word), its first
    // `wanted` holders of all the words; and whether the walk stopped at WALK_LIMIT short of them.
    const { rows } = await sql<{ ids: string[]; keys: string[]; truncated: boolean; score: number }>`
      select c.ids, c.keys, x.score,
             case when c.n < ${wanted} then exists (select from people_search_terms s where s.tenant_id = ${t} and s.term = x.drive ${visible}
                                                    order by s.name_key, s.person_id offset ${WALK_LIMIT}) else false end as truncated
      from unnest(${sql.join(arrays)}) x(${sql.join(columns)}),
      lateral (select coalesce(array_agg(w.person_id::text), '{}') as ids, coalesce(array_agg(w.name_key), '{}') as keys, count(*) as n
               from (select s.person_id, s.name_key
                     from (select s.person_id, s.name_key from people_search_terms s
                           where s.tenant_id = ${t} and s.term = x.drive ${visible}
                           order by s.name_key, s.person_id limit ${WALK_LIMIT}) s
                     where true ${sql.join(probeChecks, sql` `)} ${sql.join(shortChecks, sql` `)}
                     order by s.name_key, s.person_id limit ${wanted}) w) c`.execute(trx);
    if (rows.some((row) => row.truncated)) return undefined;
    for (const row of rows) {
      row.ids.forEach((id, i) => {
        const seen = best.get(id);
        if (!seen || seen.score < row.score) best.set(id, { score: row.score, nameKey: row.keys[i]! });
      });
    }
  }
  // Best likeness first, then name order ("C" collation: bytes), then id, as the hashed plan orders.
  const ranked = [...best.entries()]
    .sort(([ia, a], [ib, b]) => b.score - a.score || Buffer.compare(Buffer.from(a.nameKey), Buffer.from(b.nameKey)) || (ia < ib ? -1 : ia > ib ? 1 : 0))
    .slice(options.offset, wanted)
    .map(([id]) => id);
  if (ranked.length === 0) return [];
  const rows = (await trx.selectFrom('people').select(PERSON_COLUMNS).where('people.tenant_id', '=', t).where('people.id', 'in', ranked).execute()) as PersonRow[];
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ranked.flatMap((id) => byId.get(id) ?? []);
}

/** Words under 3 letters only: the first is a prefix of the family name, the others of any word. */
async function byNamePrefix(trx: TenantDb, options: SearchOptions, tokens: string[]): Promise<PersonRow[]> {
  const [first, ...rest] = tokens;
  let query = trx.selectFrom('people').where('people.tenant_id', '=', options.tenantId);
  if (!options.includeHidden) query = query.where('people.status', '=', 'active').where('people.red_list', '=', false);
  let prefix = query.select(PERSON_COLUMNS).where(sql<SqlBool>`${nameKey} ~>=~ ${first!} and ${nameKey} ~<~ ${successor(first!)}` as Expression<SqlBool>);
  for (const token of rest) {
    prefix = prefix.where(
      sql<SqlBool>`exists (select from people_search_terms x where x.tenant_id = people.tenant_id and x.person_id = people.id
                           and x.term >= ${token} and x.term < ${successor(token)})` as Expression<SqlBool>,
    );
  }
  return (await prefix.orderBy(sql`${nameKey} using ~<~`).limit(options.limit).offset(options.offset).execute()) as PersonRow[];
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
