// Import runs: a CSV file becomes a plan (create, update, reactivate, deactivate, group
// memberships) checked against the people of the tenant, then either a report (dry run) or one
// transaction that applies all of it (real run). Same file twice: the second plan is empty.
// A real run with a bad line applies nothing (a missing line would otherwise read as a person
// to deactivate); one that would deactivate more than the threshold stops until forced; one
// that would take the tenant over its people quota is refused. All three are known before the
// run writes anything, and their report says what the run would have done.
import { sql, type RawBuilder, type SqlBool } from 'kysely';
import type { Logger } from 'pino';
import type { DbHandle, TenantDb } from '../platform/db.js';
import { BadRequestError, NotFoundError, PayloadTooLargeError } from '../platform/errors.js';
import { isUuid, newId } from '../platform/ids.js';
import { MAX_CSV_BYTES, parseCsv, type CsvPerson, type Problem } from './csv.js';

export const DEFAULT_DEACTIVATION_THRESHOLD = 0.05;
export type Source = 'csv' | 'ldap';
const REPORT_LIMIT = 1000;
const BATCH = 500;
/** People staged, then planned and applied, at a time by a CSV run. */
const CHUNK = 2000;
/**
 * People a CSV run sends to its staging table at a time, and bytes of its stored file read at a
 * time: each is one string in this process (the statement's JSON parameter, the piece's hex
 * text), kept small, so that what a run allocates dies young instead of piling up in V8's old
 * space until a full collection (bench/directory.ts: the worker's peak RSS).
 */
const STAGE_BATCH = 250;
const FILE_PIECE = 48 * 1024;
/**
 * People a CSV run writes a statement. The word tables' statement triggers (migrations/0026)
 * rewrite the count of every word a statement touches, so each statement leaves a dead version of
 * those rows in directory_terms until it is vacuumed, which the searches that follow walk: fewer,
 * larger statements leave fewer (bench/directory.ts, 'search prefix p95 after import').
 */
const WRITE_BATCH = 10_000;
/** People a run changes from which it refreshes the statistics of the word tables (analyzeWords). */
const ANALYZE_AFTER_CHANGES = 1000;

export interface Change {
  action: 'create' | 'update' | 'reactivate' | 'deactivate';
  id: string;
  fields?: string[];
}

export interface ImportRun {
  id: string;
  source: 'csv' | 'ldap';
  dryRun: boolean;
  forced: boolean;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'needs_force';
  fileName: string | null;
  progress: number;
  counts: Record<string, number>;
  problems: Problem[];
  changes: Change[];
  error: string | null;
  createdAt: Date;
  hasFile: boolean;
}

type Existing = {
  id: string;
  external_id: string;
  display_name: string;
  given_name: string | null;
  family_name: string | null;
  mail: string | null;
  affiliations: string[];
  affectation: string | null;
  title: string | null;
  office_phone: string | null;
  red_list: boolean;
  status: 'active' | 'deactivated';
  source: string;
  attributes: Record<string, string[]>;
};

export interface Plan {
  upserts: { person: CsvPerson; id: string; action: 'create' | 'update' | 'reactivate'; fields?: string[] }[];
  deactivate: { id: string; externalId: string }[];
  unchanged: number;
  activeCount: number;
  groups: Map<string, Set<string>>;
  /** Name and description of imported groups, where the source has them (LDAP); else the code is the name. */
  groupDetails?: Map<string, { name: string; description: string | null }>;
}

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);

function changedFields(row: Existing, p: CsvPerson, source: Source): string[] {
  const fields: string[] = [];
  if (row.display_name !== p.displayName) fields.push('displayName');
  if (row.given_name !== p.givenName) fields.push('givenName');
  if (row.family_name !== p.familyName) fields.push('sn');
  if (row.mail !== p.mail) fields.push('mail');
  if (!sameList(row.affiliations, p.affiliations)) fields.push('eduPersonAffiliation');
  if (row.affectation !== p.affectation) fields.push('supannEntiteAffectation');
  if (row.title !== p.title) fields.push('title');
  if (row.office_phone !== p.officePhone) fields.push('telephoneNumber');
  if (row.red_list !== p.redList) fields.push('supannListeRouge');
  if (row.source !== source) fields.push('source');
  for (const [name, values] of Object.entries(p.attributes)) if (!sameList(row.attributes[name] ?? [], values)) fields.push(name);
  return fields;
}

/**
 * full: people of this source missing from `people` are deactivated; incremental (LDAP changes
 * since the last run): only what is listed is created or updated.
 */
export async function planImport(trx: TenantDb, tenantId: string, people: CsvPerson[], source: Source = 'csv', full = true): Promise<Plan> {
  // Only the people this run can touch are loaded: those of its source (who may be deactivated)
  // and those the file names; not a 200,000-person tenant that came by login (bench/directory.ts).
  const columns = ['id', 'external_id', 'display_name', 'given_name', 'family_name', 'mail', 'affiliations', 'affectation', 'title', 'office_phone', 'red_list', 'status', 'source', 'attributes'] as const;
  const existing = (await trx.selectFrom('people').select(columns).where('tenant_id', '=', tenantId).where('source', '=', source).execute()) as Existing[];
  const loaded = new Set(existing.map((row) => row.external_id));
  const others = people.map((p) => p.externalId).filter((id) => !loaded.has(id));
  for (let i = 0; i < others.length; i += 1000) {
    const batch = others.slice(i, i + 1000);
    existing.push(...((await trx.selectFrom('people').select(columns).where('tenant_id', '=', tenantId).where('external_id', 'in', batch).execute()) as Existing[]));
  }
  const { active } = await trx.selectFrom('people').select(sql<number>`count(*)::int`.as('active')).where('tenant_id', '=', tenantId).where('status', '=', 'active').executeTakeFirstOrThrow();
  const byExternal = new Map(existing.map((row) => [row.external_id, row]));
  const plan: Plan = { upserts: [], deactivate: [], unchanged: 0, activeCount: active, groups: new Map() };
  const inFile = new Set<string>();
  for (const person of people) {
    inFile.add(person.externalId);
    for (const code of person.groups) {
      if (!plan.groups.has(code)) plan.groups.set(code, new Set());
      plan.groups.get(code)!.add(person.externalId);
    }
    const upsert = planPerson(person, byExternal.get(person.externalId), source);
    if (upsert) plan.upserts.push(upsert);
    else plan.unchanged++;
  }
  // Only people this source brought in are deactivated when they leave it (not guests who logged in).
  for (const row of full ? existing : []) {
    if (row.source === source && row.status === 'active' && !inFile.has(row.external_id)) plan.deactivate.push({ id: row.id, externalId: row.external_id });
  }
  return plan;
}

/** What a run does to one person of its source, given their row if they have one: nothing when unchanged. */
function planPerson(person: CsvPerson, row: Existing | undefined, source: Source): Plan['upserts'][number] | undefined {
  if (!row) return { person, id: newId(), action: 'create' };
  const fields = changedFields(row, person, source);
  if (row.status === 'deactivated') return { person, id: row.id, action: 'reactivate', fields };
  if (fields.length) return { person, id: row.id, action: 'update', fields };
  return undefined;
}

/**
 * A run's stored file (directory_import_files.body), a piece at a time: PostgreSQL reads a
 * slice of the value (substring), so the file is never whole in this process.
 */
async function* storedFile(trx: TenantDb, tenantId: string, importId: string, size: number, onRead: (bytes: number) => Promise<void>): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < size; offset += FILE_PIECE) {
    const { piece } = await trx
      .selectFrom('directory_import_files')
      .select(sql<Buffer>`substring(body from ${offset + 1}::int for ${FILE_PIECE}::int)`.as('piece'))
      .where('tenant_id', '=', tenantId)
      .where('import_id', '=', importId)
      .executeTakeFirstOrThrow();
    yield piece;
    await onRead(offset + piece.length);
  }
}

/** Two lists of problems, each in line order, as one. */
function inLineOrder(a: Problem[], b: Problem[]): Problem[] {
  const out: Problem[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && (a[i]!.line ?? 0) <= (b[j]!.line ?? 0))) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

/**
 * After a run that changed many people: the planner statistics of people and of the white
 * pages' word tables brought up to date at once (migrations/0028), rather than when autovacuum
 * next passes, so the searches that follow an import are planned on what is there now. The run
 * has committed: a failure here is logged, not the run's.
 */
async function analyzeWords(database: DbHandle, tenantId: string, importId: string, log?: Logger): Promise<void> {
  try {
    await sql`select directory_analyze_words()`.execute(database.db);
  } catch (error) {
    log?.warn({ tenant: tenantId, import: importId, err: error }, 'directory import: could not analyze the word tables');
  }
}

class RunStop extends Error {
  constructor(readonly status: 'failed', readonly counts: Record<string, number>, readonly report: object, message: string) {
    super(message);
  }
}

export async function applyPlan(trx: TenantDb, tenantId: string, plan: Plan, progress: (fraction: number) => Promise<void>, source: Source = 'csv', full = true): Promise<{ groupsCreated: number; membershipsAdded: number; membershipsRemoved: number }> {
  const now = new Date();
  for (let i = 0; i < plan.upserts.length; i += BATCH) {
    // One jsonb parameter for the batch, not a Kysely VALUES list of 17 cells a person: a
    // 100,000-line import then builds a few objects per person instead of dozens (peak RSS).
    const rows = plan.upserts.slice(i, i + BATCH).map(({ person: p, id }) => ({
      id,
      external_id: p.externalId,
      display_name: p.displayName,
      given_name: p.givenName,
      family_name: p.familyName,
      mail: p.mail,
      affiliations: p.affiliations,
      affectation: p.affectation,
      title: p.title,
      office_phone: p.officePhone,
      red_list: p.redList,
      attributes: p.attributes,
    }));
    await upsertPeople(trx, tenantId, source, now, sql`jsonb_to_recordset(${rows as never}::jsonb) as r(id uuid, external_id text, display_name text, given_name text, family_name text, mail text, affiliations text[], affectation text, title text, office_phone text, red_list boolean, attributes jsonb)`);
    await progress(0.5 + (0.4 * (i + rows.length)) / Math.max(plan.upserts.length, 1));
  }
  for (let i = 0; i < plan.deactivate.length; i += BATCH) {
    const ids = plan.deactivate.slice(i, i + BATCH).map((d) => d.id);
    await trx.updateTable('people').set({ status: 'deactivated', deactivated_at: now, updated_at: now }).where('tenant_id', '=', tenantId).where('id', 'in', ids).execute();
  }
  // An incremental run sees part of the people: group memberships are reconciled by full runs.
  if (!full) return { groupsCreated: 0, membershipsAdded: 0, membershipsRemoved: 0 };
  return syncImportedGroups(trx, tenantId, plan.groups, source, plan.groupDetails);
}

/**
 * People written from `rows`, a relation r(id, external_id, display_name, given_name, family_name,
 * mail, affiliations, affectation, title, office_phone, red_list, attributes): created, or
 * updated (and reactivated) when the tenant has their external_id already.
 */
async function upsertPeople(trx: TenantDb, tenantId: string, source: Source, now: Date, rows: RawBuilder<unknown>): Promise<void> {
  await sql`
    insert into people (tenant_id, id, external_id, display_name, given_name, family_name, mail, affiliations, affectation, title, office_phone, red_list, attributes, source, status, deactivated_at, updated_at)
    select ${tenantId}::uuid, r.id, r.external_id, r.display_name, r.given_name, r.family_name, r.mail, r.affiliations, r.affectation, r.title, r.office_phone, r.red_list, r.attributes, ${source}, 'active', null, ${now}
    from ${rows}
    on conflict (tenant_id, external_id) do update set
      display_name = excluded.display_name, given_name = excluded.given_name, family_name = excluded.family_name, mail = excluded.mail,
      affiliations = excluded.affiliations, affectation = excluded.affectation, title = excluded.title, office_phone = excluded.office_phone,
      red_list = excluded.red_list,
      -- Attributes from the file replace those of the same name; others (from logins) stay.
      attributes = people.attributes || excluded.attributes,
      source = excluded.source, status = excluded.status, deactivated_at = null, updated_at = excluded.updated_at`.execute(trx);
}

/** The staged people of a CSV run (csv_import_people) at these lines, written with these ids: no person travels back from JavaScript. */
async function upsertStaged(trx: TenantDb, tenantId: string, now: Date, upserts: { line: number; id: string }[]): Promise<void> {
  await upsertPeople(
    trx,
    tenantId,
    'csv',
    now,
    sql`(select u.id, x."externalId" as external_id, x."displayName" as display_name, x."givenName" as given_name, x."familyName" as family_name, x.mail,
                x.affiliations, x.affectation, x.title, x."officePhone" as office_phone, x."redList" as red_list, x.attributes
         from unnest(${upserts.map((u) => u.line)}::int[], ${upserts.map((u) => u.id)}::uuid[]) as u(line, id)
         join csv_import_people s on s.line = u.line
         cross join lateral jsonb_to_record(s.person) as x("externalId" text, "displayName" text, "givenName" text, "familyName" text, mail text, affiliations text[], affectation text, title text, "officePhone" text, "redList" boolean, attributes jsonb)) as r`,
  );
}

/** Imported groups of a source (source_key <source>:<code>): members exactly as the source says. */
async function syncImportedGroups(trx: TenantDb, tenantId: string, groups: Map<string, Set<string>>, source: Source, details?: Plan['groupDetails']) {
  const existing = await trx.selectFrom('groups').select(['id', 'source_key', 'name', 'description']).where('tenant_id', '=', tenantId).where('source_key', 'like', `${source}:%`).execute();
  const idByKey = new Map(existing.map((g) => [g.source_key!, g.id]));
  const byKey = new Map(existing.map((g) => [g.source_key!, g]));
  const created: { tenant_id: string; id: string; kind: 'imported'; name: string; description: string | null; source_key: string }[] = [];
  for (const code of groups.keys()) {
    const detail = details?.get(code);
    const name = detail?.name ?? code;
    const description = detail?.description ?? null;
    const known = byKey.get(`${source}:${code}`);
    if (known) {
      if (detail && (known.name !== name || known.description !== description)) {
        await trx.updateTable('groups').set({ name, description, updated_at: new Date() }).where('tenant_id', '=', tenantId).where('id', '=', known.id).execute();
      }
      continue;
    }
    const id = newId();
    created.push({ tenant_id: tenantId, id, kind: 'imported', name, description, source_key: `${source}:${code}` });
    idByKey.set(`${source}:${code}`, id);
  }
  for (let i = 0; i < created.length; i += BATCH) await trx.insertInto('groups').values(created.slice(i, i + BATCH)).execute();
  const people = await trx.selectFrom('people').select(['id', 'external_id']).where('tenant_id', '=', tenantId).where('source', '=', source).execute();
  const personId = new Map(people.map((p) => [p.external_id, p.id]));
  const current = await trx
    .selectFrom('group_members')
    .innerJoin('groups', (j) => j.onRef('groups.tenant_id', '=', 'group_members.tenant_id').onRef('groups.id', '=', 'group_members.group_id'))
    .select(['group_members.group_id', 'group_members.person_id'])
    .where('groups.tenant_id', '=', tenantId)
    .where('groups.source_key', 'like', `${source}:%`)
    .execute();
  const want = new Set<string>();
  for (const [code, members] of groups) {
    const groupId = idByKey.get(`${source}:${code}`)!;
    for (const external of members) {
      const id = personId.get(external);
      if (id) want.add(`${groupId} ${id}`);
    }
  }
  const have = new Set(current.map((m) => `${m.group_id} ${m.person_id}`));
  const add = [...want].filter((k) => !have.has(k)).map((k) => k.split(' ') as [string, string]);
  const remove = [...have].filter((k) => !want.has(k)).map((k) => k.split(' ') as [string, string]);
  for (let i = 0; i < add.length; i += BATCH) {
    await trx.insertInto('group_members').values(add.slice(i, i + BATCH).map(([group_id, person_id]) => ({ tenant_id: tenantId, group_id, person_id }))).execute();
  }
  // A batch of pairs a statement, not a statement a membership (a reorganised LDAP removes thousands).
  for (let i = 0; i < remove.length; i += BATCH) {
    const batch = remove.slice(i, i + BATCH);
    await sql`delete from group_members m using unnest(${batch.map(([g]) => g)}::uuid[], ${batch.map(([, p]) => p)}::uuid[]) as r(group_id, person_id)
              where m.tenant_id = ${tenantId}::uuid and m.group_id = r.group_id and m.person_id = r.person_id`.execute(trx);
  }
  return { groupsCreated: created.length, membershipsAdded: add.length, membershipsRemoved: remove.length };
}

/**
 * The CSV run's imported groups from its staging table (csv_import_people): missing groups
 * created, memberships added and removed by set operations in PostgreSQL, so 100,000 memberships
 * never sit in JavaScript sets.
 */
async function syncStagedGroups(trx: TenantDb, tenantId: string) {
  const codes = (await sql<{ code: string }>`select distinct unnest(groups) as code from csv_import_people`.execute(trx)).rows.map((r) => r.code);
  const existing = new Set((await trx.selectFrom('groups').select('source_key').where('tenant_id', '=', tenantId).where('source_key', 'like', 'csv:%').execute()).map((g) => g.source_key));
  const missing = codes.filter((code) => !existing.has(`csv:${code}`));
  for (let i = 0; i < missing.length; i += BATCH) {
    await trx
      .insertInto('groups')
      .values(missing.slice(i, i + BATCH).map((code) => ({ tenant_id: tenantId, id: newId(), kind: 'imported' as const, name: code, description: null, source_key: `csv:${code}` })))
      .execute();
  }
  const added = await sql`
    insert into group_members (tenant_id, group_id, person_id)
    select ${tenantId}::uuid, g.id, p.id
    from csv_import_people s cross join unnest(s.groups) as c(code)
    join people p on p.tenant_id = ${tenantId}::uuid and p.external_id = s.external_id and p.source = 'csv'
    join groups g on g.tenant_id = ${tenantId}::uuid and g.source_key = 'csv:' || c.code
    on conflict do nothing`.execute(trx);
  const removed = await sql`
    delete from group_members m using groups g
    where g.tenant_id = ${tenantId}::uuid and m.tenant_id = ${tenantId}::uuid and m.group_id = g.id and g.source_key like 'csv:%'
      and not exists (
        select from csv_import_people s join people p on p.tenant_id = ${tenantId}::uuid and p.external_id = s.external_id and p.source = 'csv'
        where p.id = m.person_id and substr(g.source_key, 5) = any(s.groups))`.execute(trx);
  return { groupsCreated: missing.length, membershipsAdded: Number(added.numAffectedRows ?? 0n), membershipsRemoved: Number(removed.numAffectedRows ?? 0n) };
}

/** Active people once the plan is applied (the tenant's quotas.people bounds it). */
export function activeAfter(plan: Plan): number {
  return plan.activeCount + plan.upserts.filter((u) => u.action !== 'update').length - plan.deactivate.length;
}

export function changesOf(plan: Plan): Change[] {
  return [
    ...plan.upserts.map((u) => ({ action: u.action, id: u.person.externalId, ...(u.fields?.length ? { fields: u.fields } : {}) })),
    ...plan.deactivate.map((d) => ({ action: 'deactivate' as const, id: d.externalId })),
  ].slice(0, REPORT_LIMIT);
}

export function countsOf(plan: Plan, lines: number, bad: number): Record<string, number> {
  const count = (action: string) => plan.upserts.filter((u) => u.action === action).length;
  return { lines, bad, create: count('create'), update: count('update'), reactivate: count('reactivate'), deactivate: plan.deactivate.length, unchanged: plan.unchanged };
}

export function createImports(database: DbHandle) {
  async function setRun(tenantId: string, id: string, set: Record<string, unknown>): Promise<void> {
    await database.withTenant(tenantId, (trx) => trx.updateTable('directory_imports').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute());
  }

  return {
    /** Records an uploaded CSV as a queued run; the caller enqueues the job. */
    async createCsvRun(tenantId: string, input: { fileName: string; body: Buffer; dryRun: boolean; requestedBy: string | null; forced?: boolean }): Promise<string> {
      if (input.body.length > MAX_CSV_BYTES) throw new PayloadTooLargeError(`Le fichier dépasse ${MAX_CSV_BYTES / 1024 / 1024} Mo : découpez-le ou retirez les colonnes inutiles.`);
      if (input.body.length === 0) throw new BadRequestError('Le fichier est vide.');
      const id = newId();
      await database.withTenant(tenantId, async (trx) => {
        await trx
          .insertInto('directory_imports')
          .values({ tenant_id: tenantId, id, source: 'csv', dry_run: input.dryRun, forced: input.forced ?? false, file_name: input.fileName.slice(0, 200), requested_by: input.requestedBy })
          .execute();
        await trx.insertInto('directory_import_files').values({ tenant_id: tenantId, import_id: id, body: input.body }).execute();
      });
      return id;
    },

    /** A real (possibly forced) run of the file of an earlier dry run. */
    async applyRun(tenantId: string, fromId: string, forced: boolean, requestedBy: string): Promise<string> {
      if (!isUuid(fromId)) throw new NotFoundError();
      const id = newId();
      await database.withTenant(tenantId, async (trx) => {
        const from = await trx
          .selectFrom('directory_imports')
          .innerJoin('directory_import_files', (j) => j.onRef('directory_import_files.tenant_id', '=', 'directory_imports.tenant_id').onRef('directory_import_files.import_id', '=', 'directory_imports.id'))
          .select(['directory_imports.file_name', 'directory_import_files.body'])
          .where('directory_imports.tenant_id', '=', tenantId)
          .where('directory_imports.id', '=', fromId)
          .executeTakeFirst();
        if (!from) throw new NotFoundError("Le fichier de cet import n'est plus disponible.");
        await trx.insertInto('directory_imports').values({ tenant_id: tenantId, id, source: 'csv', dry_run: false, forced, file_name: from.file_name, requested_by: requestedBy }).execute();
        await trx.insertInto('directory_import_files').values({ tenant_id: tenantId, import_id: id, body: from.body }).execute();
      });
      return id;
    },

    /**
     * Who a finished run deactivated: people deactivated while it ran (applyPlan stamps them
     * within its start and finish). Asked after the run committed, and again by a repeated job,
     * so their sessions end even if the worker died between the commit and ending them.
     */
    async deactivatedBy(tenantId: string, id: string): Promise<string[]> {
      return database.readTenant(tenantId, async (trx) => {
        const rows = await trx
          .selectFrom('people')
          .innerJoin('directory_imports as run', (join) => join.onRef('run.tenant_id', '=', 'people.tenant_id'))
          .select('people.id')
          .where('run.tenant_id', '=', tenantId)
          .where('run.id', '=', id)
          .where('run.status', '=', 'succeeded')
          .where('run.dry_run', '=', false)
          .where('people.tenant_id', '=', tenantId)
          .where('people.status', '=', 'deactivated')
          .where(sql<SqlBool>`people.deactivated_at between run.started_at and run.finished_at`)
          .execute();
        return rows.map((r) => r.id);
      });
    },

    async list(tenantId: string, limit = 50): Promise<ImportRun[]> {
      const rows = await database.withTenant(tenantId, (trx) =>
        trx.selectFrom('directory_imports').selectAll().where('tenant_id', '=', tenantId).orderBy('created_at', 'desc').limit(limit).execute(),
      );
      return rows.map((r) => runOf(r, false));
    },

    async get(tenantId: string, id: string): Promise<ImportRun> {
      if (!isUuid(id)) throw new NotFoundError();
      return database.withTenant(tenantId, async (trx) => {
        const row = await trx.selectFrom('directory_imports').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst();
        if (!row) throw new NotFoundError();
        const file = await trx.selectFrom('directory_import_files').select('import_id').where('tenant_id', '=', tenantId).where('import_id', '=', id).executeTakeFirst();
        return runOf(row, !!file);
      });
    },

    /** The job: idempotent (a finished run is left as it is; a run that died mid-way starts again). */
    async runCsv(tenantId: string, id: string, threshold: number, log?: Logger, maxPeople = Number.MAX_SAFE_INTEGER): Promise<ImportRun['status']> {
      const run = await database.withTenant(tenantId, (trx) => trx.selectFrom('directory_imports').selectAll().where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirst());
      if (!run) throw new NotFoundError(`import ${id} not found`);
      if (run.status !== 'queued' && run.status !== 'running') return run.status;
      await setRun(tenantId, id, { status: 'running', started_at: new Date(), progress: 0 });
      let lastProgress = 0;
      const progress = async (fraction: number) => {
        const percent = Math.min(99, Math.floor(fraction * 100));
        if (percent < lastProgress + 5) return;
        lastProgress = percent;
        await setRun(tenantId, id, { progress: percent });
      };
      const finish = async (trx: TenantDb | undefined, status: ImportRun['status'], fields: { counts?: Record<string, number>; report?: object; error?: string | null }) => {
        const set = { status, progress: 100, finished_at: new Date(), ...(fields.counts ? { counts: fields.counts } : {}), ...(fields.report ? { report: fields.report } : {}), error: fields.error ?? null };
        const q = (t: TenantDb) => t.updateTable('directory_imports').set(set).where('tenant_id', '=', tenantId).where('id', '=', id).execute();
        if (trx) await q(trx);
        else await database.withTenant(tenantId, q);
        log?.info({ import: id, status, counts: fields.counts }, 'directory import finished');
        return status;
      };
      // The file is read from the database a piece at a time and parsed as it comes; each valid
      // line goes to a staging table of the run's transaction, not to JavaScript. Duplicates, the
      // counts that decide whether the run may write, deactivations and group memberships are
      // then set operations in PostgreSQL, and planning reads the staged people back a chunk at a
      // time: memory holds one chunk of people whatever the size of the file or of the tenant
      // (bench/directory.ts: the worker's peak RSS). All of it in the run's one transaction,
      // under a per-tenant lock (two runs never interleave).
      let outcome: { status: ImportRun['status']; changed: number };
      try {
        outcome = await database.withTenant(tenantId, async (trx) => {
          await sql`select pg_advisory_xact_lock(hashtextextended(${`directory-import:${tenantId}`}, 0))`.execute(trx);
          // A repeated job that waited for the lock may find the run finished by the first one.
          const current = await trx.selectFrom('directory_imports').select('status').where('tenant_id', '=', tenantId).where('id', '=', id).executeTakeFirstOrThrow();
          if (current.status !== 'queued' && current.status !== 'running') return { status: current.status, changed: 0 };
          const file = await trx.selectFrom('directory_import_files').select(sql<number>`octet_length(body)`.as('size')).where('tenant_id', '=', tenantId).where('import_id', '=', id).executeTakeFirst();
          if (!file) return { status: await finish(trx, 'failed', { error: "Le fichier de l'import est introuvable." }), changed: 0 };
          await sql`create temporary table csv_import_people (line integer primary key, external_id text not null, groups text[] not null, person jsonb not null) on commit drop`.execute(trx);
          // Each person as JSON text at once: the batch holds strings, and the person objects die young.
          let staged: string[] = [];
          const stage = async () => {
            if (staged.length === 0) return;
            await sql`insert into csv_import_people (line, external_id, groups, person)
                      select (p->>'line')::int, p->>'externalId', array(select jsonb_array_elements_text(p->'groups')), p
                      from jsonb_array_elements(${`[${staged.join(',')}]`}::text::jsonb) as p`.execute(trx);
            staged = [];
          };
          const parsed = await parseCsv(storedFile(trx, tenantId, id, file.size, (bytes) => progress((0.3 * bytes) / file.size)), {
            problemLimit: REPORT_LIMIT,
            async onPerson(person) {
              staged.push(JSON.stringify(person));
              if (staged.length >= STAGE_BATCH) await stage();
            },
          });
          if (parsed.fatal) throw new RunStop('failed', { lines: parsed.lines }, { problems: [{ reason: parsed.fatal }] }, parsed.fatal);
          await stage();
          await sql`create index on csv_import_people (external_id)`.execute(trx);
          await sql`analyze csv_import_people`.execute(trx);
          // An identifier on several lines makes all of them suspect: each line after its first is
          // reported, and none of them is applied.
          const repeated = (
            await sql<{ line: number; external_id: string; first: number; total: number }>`
              select line, external_id, first, count(*) over ()::int as total
              from (select line, external_id, min(line) over (partition by external_id) as first from csv_import_people) s
              where line > first order by line limit ${REPORT_LIMIT}`.execute(trx)
          ).rows;
          if (repeated.length) await sql`delete from csv_import_people s where exists (select from csv_import_people o where o.external_id = s.external_id and o.line <> s.line)`.execute(trx);
          const bad = parsed.bad + (repeated[0]?.total ?? 0);
          const problems = inLineOrder(parsed.problems, repeated.map((r) => ({ line: r.line, reason: `identifiant « ${r.external_id} » en double (déjà ligne ${r.first})` }))).slice(0, REPORT_LIMIT);
          const inFile = sql`select from csv_import_people s where s.external_id = people.external_id`;
          const leaving = trx.selectFrom('people').where('tenant_id', '=', tenantId).where('source', '=', 'csv').where('status', '=', 'active').where(sql<SqlBool>`not exists (${inFile})`);
          const [{ n: toDeactivate }, { active }, listed] = await Promise.all([
            leaving.select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow(),
            trx.selectFrom('people').select(sql<number>`count(*)::int`.as('active')).where('tenant_id', '=', tenantId).where('status', '=', 'active').executeTakeFirstOrThrow(),
            sql<{ people: number; creating: number; reactivating: number }>`
              select count(*)::int as people, (count(*) filter (where p.id is null))::int as creating, (count(*) filter (where p.status = 'deactivated'))::int as reactivating
              from csv_import_people s left join people p on p.tenant_id = ${tenantId}::uuid and p.external_id = s.external_id`
              .execute(trx)
              .then((r) => r.rows[0]!),
          ]);
          // Whether the run writes is known before it writes anything: a refused run only reports.
          const limit = Math.floor(active * threshold);
          const after = active + listed.creating + listed.reactivating - toDeactivate;
          const refusal: { status: 'failed' | 'needs_force'; error: string } | undefined = run.dry_run
            ? undefined
            : bad > 0
              ? { status: 'failed', error: `${bad} ligne(s) refusée(s) : rien n'a été modifié. Corrigez le fichier et relancez.` }
              : !run.forced && toDeactivate > limit
                ? {
                    status: 'needs_force',
                    error: `Cet import désactiverait ${toDeactivate} compte(s) sur ${active} actifs, plus que le seuil de ${Math.round(threshold * 100)} % (${limit}) : rien n'a été modifié. Vérifiez le fichier, puis forcez l'import si c'est voulu.`,
                  }
                : after > maxPeople
                  ? { status: 'failed', error: `Après cet import, ${after} personnes seraient actives, plus que le quota de l'établissement (${maxPeople}) : rien n'a été modifié.` }
                  : undefined;
          const apply = !run.dry_run && !refusal;
          const tally = { create: 0, update: 0, reactivate: 0 };
          const changes: Change[] = [];
          let unchanged = 0;
          let done = 0;
          const now = new Date();
          let writes: { line: number; id: string }[] = [];
          const write = async () => {
            if (writes.length) await upsertStaged(trx, tenantId, now, writes);
            writes = [];
          };
          // The staged people with their row, if any, a chunk at a time in line order. Someone new
          // needs no comparison: their person stays in the staging table, which the write reads.
          for (let last = 0; ; ) {
            const rows = (
              await sql<Omit<Existing, 'id'> & { id: string | null; line: number; person: CsvPerson | null }>`
                select s.line, s.external_id, case when p.id is not null then s.person end as person,
                       p.id, p.display_name, p.given_name, p.family_name, p.mail, p.affiliations, p.affectation, p.title, p.office_phone, p.red_list, p.status, p.source, p.attributes
                from csv_import_people s left join people p on p.tenant_id = ${tenantId}::uuid and p.external_id = s.external_id
                where s.line > ${last} order by s.line limit ${CHUNK}`.execute(trx)
            ).rows;
            if (rows.length === 0) break;
            last = rows[rows.length - 1]!.line;
            for (const row of rows) {
              const planned = row.id === null ? ({ action: 'create', id: newId() } as const) : planPerson(row.person!, { ...row, id: row.id }, 'csv');
              if (!planned) {
                unchanged++;
                continue;
              }
              if (apply) writes.push({ line: row.line, id: planned.id });
              tally[planned.action]++;
              if (changes.length < REPORT_LIMIT) changes.push({ action: planned.action, id: row.external_id, ...('fields' in planned && planned.fields?.length ? { fields: planned.fields } : {}) });
            }
            if (writes.length >= WRITE_BATCH) await write();
            done += rows.length;
            await progress(0.3 + (0.6 * done) / Math.max(listed.people, 1));
          }
          await write();
          const counts = { lines: parsed.lines, bad, ...tally, deactivate: toDeactivate, unchanged };
          if (changes.length < REPORT_LIMIT && toDeactivate > 0) {
            const gone = await leaving.select('external_id').orderBy('external_id').limit(REPORT_LIMIT - changes.length).execute();
            for (const d of gone) changes.push({ action: 'deactivate', id: d.external_id });
          }
          const report = { problems, changes };
          if (!apply) return { status: await finish(trx, refusal?.status ?? 'succeeded', { counts, report, error: refusal?.error ?? null }), changed: 0 };
          await trx.updateTable('people').set({ status: 'deactivated', deactivated_at: now, updated_at: now }).where('tenant_id', '=', tenantId).where('source', '=', 'csv').where('status', '=', 'active').where(sql<SqlBool>`not exists (${inFile})`).execute();
          const groupCounts = await syncStagedGroups(trx, tenantId);
          await trx.deleteFrom('directory_import_files').where('tenant_id', '=', tenantId).where('import_id', '=', id).execute();
          return { status: await finish(trx, 'succeeded', { counts: { ...counts, ...groupCounts }, report }), changed: tally.create + tally.update + tally.reactivate + toDeactivate };
        });
      } catch (error) {
        if (error instanceof RunStop) return finish(undefined, error.status, { counts: error.counts, report: error.report, error: error.message });
        throw error;
      }
      if (outcome.changed >= ANALYZE_AFTER_CHANGES) await analyzeWords(database, tenantId, id, log);
      return outcome.status;
    },
  };
}

export type Imports = ReturnType<typeof createImports>;

function runOf(r: { id: string; source: 'csv' | 'ldap'; dry_run: boolean; forced: boolean; status: ImportRun['status']; file_name: string | null; progress: number; counts: Record<string, number>; report: unknown; error: string | null; created_at: Date }, hasFile: boolean): ImportRun {
  const report = (r.report ?? {}) as { problems?: Problem[]; changes?: Change[] };
  return {
    id: r.id,
    source: r.source,
    dryRun: r.dry_run,
    forced: r.forced,
    status: r.status,
    fileName: r.file_name,
    progress: r.progress,
    counts: r.counts ?? {},
    problems: report.problems ?? [],
    changes: report.changes ?? [],
    error: r.error,
    createdAt: r.created_at,
    hasFile,
  };
}
