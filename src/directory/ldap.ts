// The tenant's LDAP (SUPANN) as a directory source: a full reconcile (everyone; people of this
// source no longer there are deactivated, under the same threshold as CSV) and an incremental
// sync (entries whose modifyTimestamp is at or after the last run's highest). A full run also
// reads the groups under groupsBaseDn and makes their memberships what the LDAP says. Everything is read
// first, then applied in one transaction: an LDAP that is down or slow fails the run with a
// clear report, the job retries later, and the directory is unchanged.
import { Client, type Entry } from 'ldapts';
import type { Logger } from 'pino';
import { sql } from 'kysely';
import type { DbHandle } from '../platform/db.js';
import { newId } from '../platform/ids.js';
import type { Declaration } from '../tenancy/declaration.js';
import type { CsvPerson, Problem } from './csv.js';
import { activeAfter, applyPlan, changesOf, countsOf, DEFAULT_DEACTIVATION_THRESHOLD, planImport } from './imports.js';

type LdapConfig = NonNullable<NonNullable<Declaration['directory']>['ldap']>;

/** LDAP attribute -> Portique field; anything else mapped becomes a stored attribute. */
const DEFAULT_MAP: Record<string, string> = {
  eduPersonPrincipalName: 'externalId',
  sn: 'familyName',
  givenName: 'givenName',
  displayName: 'displayName',
  mail: 'mail',
  eduPersonAffiliation: 'affiliations',
  supannEntiteAffectation: 'affectation',
  title: 'title',
  telephoneNumber: 'officePhone',
  supannListeRouge: 'redList',
  supannEtuEtape: 'supannEtuEtape',
  modifyTimestamp: 'modifyTimestamp',
};

export type SyncMode = 'full' | 'incremental';

export interface SyncOutcome {
  runId: string;
  status: 'succeeded' | 'failed' | 'needs_force';
  counts: Record<string, number>;
  error?: string;
}

const values = (entry: Entry, name: string): string[] => {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key ? entry[key] : undefined;
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
};

function personOf(entry: Entry, map: Record<string, string>, line: number, problems: Problem[]): CsvPerson | undefined {
  const person: CsvPerson = { line, externalId: '', familyName: '', givenName: '', displayName: '', mail: null, affiliations: [], affectation: null, title: null, officePhone: null, redList: false, groups: [], attributes: {} };
  for (const [attribute, field] of Object.entries(map)) {
    const found = values(entry, attribute);
    const first = found[0]?.trim() ?? '';
    switch (field) {
      case 'externalId':
      case 'familyName':
      case 'givenName':
      case 'displayName':
        person[field] = first;
        break;
      case 'mail':
      case 'affectation':
      case 'title':
      case 'officePhone':
        person[field] = first || null;
        break;
      case 'affiliations':
        person.affiliations = [...new Set(found.map((v) => v.trim()).filter(Boolean))];
        break;
      case 'redList':
        person.redList = /^(true|oui|1)$/i.test(first);
        break;
      case 'modifyTimestamp':
        break;
      default:
        if (found.length) person.attributes[field] = found;
    }
  }
  const bad = (reason: string) => (problems.push({ line, reason: `${entry.dn}: ${reason}` }), undefined);
  if (!person.externalId) return bad('pas d’identifiant (eduPersonPrincipalName)');
  if (!person.familyName) return bad('pas de nom (sn)');
  if (!person.givenName) return bad('pas de prénom (givenName)');
  if (!person.displayName) person.displayName = `${person.givenName} ${person.familyName}`;
  return person;
}

/** An LDAP filter value for modifyTimestamp: generalized time, nothing else. */
const GENERALIZED_TIME = /^\d{14}(\.\d+)?Z$/;

export async function syncLdap(
  database: DbHandle,
  tenant: { id: string; declaration: Declaration },
  mode: SyncMode,
  options: { env?: NodeJS.ProcessEnv; log?: Logger; forced?: boolean } = {},
): Promise<SyncOutcome | undefined> {
  const config = tenant.declaration.directory?.ldap;
  if (!config) return undefined;
  const tenantId = tenant.id;
  const env = options.env ?? process.env;
  const runId = newId();
  await database.withTenant(tenantId, (trx) =>
    trx.insertInto('directory_imports').values({ tenant_id: tenantId, id: runId, source: 'ldap', dry_run: false, forced: options.forced ?? false, file_name: mode === 'full' ? 'réconciliation complète' : 'synchronisation incrémentale', requested_by: null, status: 'running', started_at: new Date() }).execute(),
  );
  const finish = async (status: SyncOutcome['status'], counts: Record<string, number>, report: object, error?: string): Promise<SyncOutcome> => {
    await database.withTenant(tenantId, (trx) =>
      trx.updateTable('directory_imports').set({ status, counts, report, error: error ?? null, progress: 100, finished_at: new Date() }).where('tenant_id', '=', tenantId).where('id', '=', runId).execute(),
    );
    options.log?.info({ import: runId, status, counts, mode }, 'ldap sync finished');
    return { runId, status, counts, ...(error ? { error } : {}) };
  };

  const state = await database.withTenant(tenantId, (trx) => trx.selectFrom('directory_sync_state').select('high_water').where('tenant_id', '=', tenantId).where('source', '=', 'ldap').executeTakeFirst());
  const incremental = mode === 'incremental' && !!state?.high_water && GENERALIZED_TIME.test(state.high_water);
  let entries: Entry[];
  let groupEntries: Entry[];
  try {
    ({ people: entries, groups: groupEntries } = await fetchEntries(config, env, incremental ? state!.high_water! : undefined));
  } catch (error) {
    const message = `Annuaire LDAP ${config.url} injoignable ou en erreur : ${(error as Error).message}. Rien n'a été modifié ; nouvel essai plus tard.`;
    await finish('failed', {}, { problems: [{ reason: message }] }, message);
    throw new Error(message, { cause: error });
  }

  const map = { ...DEFAULT_MAP, ...(config.attributes ?? {}) };
  const problems: Problem[] = [];
  const people: CsvPerson[] = [];
  const seen = new Set<string>();
  const byDn = new Map<string, CsvPerson>();
  let highWater = state?.high_water ?? '';
  entries.forEach((entry, i) => {
    const stamp = values(entry, 'modifyTimestamp')[0];
    if (stamp && GENERALIZED_TIME.test(stamp) && stamp > highWater) highWater = stamp;
    const person = personOf(entry, map, i + 1, problems);
    if (!person) return;
    if (seen.has(person.externalId)) return void problems.push({ line: i + 1, reason: `${entry.dn}: identifiant « ${person.externalId} » en double` });
    seen.add(person.externalId);
    byDn.set(normalizeDn(entry.dn), person);
    people.push(person);
  });
  // Entries the source cannot describe are reported; on a full run they must not read as gone.
  const full = !incremental;
  // Groups (full runs only, which see everyone): their members are people of this same read.
  const groupProblems: Problem[] = [];
  const ldapGroups = groupsOf(groupEntries, byDn, groupProblems);
  const threshold = tenant.declaration.directory?.deactivationThreshold ?? DEFAULT_DEACTIVATION_THRESHOLD;
  return database.withTenant(tenantId, async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`directory-import:${tenantId}`}, 0))`.execute(trx);
    const plan = await planImport(trx, tenantId, people, 'ldap', full && problems.length === 0);
    plan.groupDetails = ldapGroups.details;
    for (const code of ldapGroups.details.keys()) if (!plan.groups.has(code)) plan.groups.set(code, new Set());
    const counts = { ...countsOf(plan, entries.length, problems.length), ...(full && config.groupsBaseDn ? { groups: ldapGroups.details.size, unknownMembers: ldapGroups.unknownMembers } : {}) };
    const report = { problems: [...problems, ...groupProblems].slice(0, 1000), changes: changesOf(plan), mode: full ? 'full' : 'incremental' };
    const limit = Math.floor(plan.activeCount * threshold);
    if (plan.deactivate.length > limit && !options.forced) {
      const error = `Cette synchronisation désactiverait ${plan.deactivate.length} compte(s) sur ${plan.activeCount}, plus que le seuil de ${Math.round(threshold * 100)} % : rien n'a été modifié.`;
      await trx.updateTable('directory_imports').set({ status: 'needs_force', counts, report, error, progress: 100, finished_at: new Date() }).where('tenant_id', '=', tenantId).where('id', '=', runId).execute();
      return { runId, status: 'needs_force' as const, counts, error };
    }
    const after = activeAfter(plan);
    if (after > tenant.declaration.quotas.people) {
      const error = `Après cette synchronisation, ${after} personnes seraient actives, plus que le quota de l'établissement (${tenant.declaration.quotas.people}) : rien n'a été modifié.`;
      await trx.updateTable('directory_imports').set({ status: 'failed', counts, report, error, progress: 100, finished_at: new Date() }).where('tenant_id', '=', tenantId).where('id', '=', runId).execute();
      return { runId, status: 'failed' as const, counts, error };
    }
    const groups = await applyPlan(trx, tenantId, plan, async () => {}, 'ldap', full);
    await trx
      .insertInto('directory_sync_state')
      .values({ tenant_id: tenantId, source: 'ldap', high_water: highWater || null, last_full_at: full ? new Date() : null, updated_at: new Date() })
      .onConflict((oc) =>
        oc.columns(['tenant_id', 'source']).doUpdateSet({
          high_water: highWater || null,
          updated_at: new Date(),
          ...(full ? { last_full_at: new Date() } : {}),
        }),
      )
      .execute();
    const all = { ...counts, ...groups };
    await trx.updateTable('directory_imports').set({ status: 'succeeded', counts: all, report, progress: 100, finished_at: new Date() }).where('tenant_id', '=', tenantId).where('id', '=', runId).execute();
    options.log?.info({ import: runId, counts: all, mode }, 'ldap sync finished');
    return { runId, status: 'succeeded' as const, counts: all };
  });
}

/** DNs as compared here: attribute names and values case-insensitive, no spaces around separators. */
function normalizeDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) => rdn.split('=').map((part) => part.trim()).join('='))
    .join(',')
    .toLowerCase();
}

/**
 * SUPANN groups (groupOfNames / groupOfUniqueNames): cn is the group's code and name, description
 * its description, member or uniqueMember the DNs of its people. A member that is not a person of
 * this read (another group, someone outside the people filter) is counted, not imported.
 */
function groupsOf(entries: Entry[], byDn: Map<string, CsvPerson>, problems: Problem[]) {
  const details = new Map<string, { name: string; description: string | null }>();
  let unknownMembers = 0;
  for (const entry of entries) {
    const cn = values(entry, 'cn')[0]?.trim() ?? '';
    if (!cn || cn.length > 200) {
      problems.push({ reason: `${entry.dn}: groupe sans nom (cn) ou nom trop long : ignoré` });
      continue;
    }
    if (details.has(cn)) {
      problems.push({ reason: `${entry.dn}: un autre groupe s'appelle déjà « ${cn} » : ignoré` });
      continue;
    }
    details.set(cn, { name: cn, description: values(entry, 'description')[0]?.trim().slice(0, 2000) || null });
    for (const dn of [...values(entry, 'member'), ...values(entry, 'uniqueMember')]) {
      // uniqueMember may carry an optional #'01'B UID suffix (RFC 4519).
      const person = byDn.get(normalizeDn(dn.replace(/#'[01]*'B$/, '')));
      if (person) person.groups = [...new Set([...person.groups, cn])];
      else unknownMembers++;
    }
  }
  return { details, unknownMembers };
}

async function fetchEntries(config: LdapConfig, env: NodeJS.ProcessEnv, since: string | undefined): Promise<{ people: Entry[]; groups: Entry[] }> {
  const secret = env[config.bindSecretEnv];
  if (!secret) throw new Error(`la variable d'environnement ${config.bindSecretEnv} (mot de passe de liaison) n'est pas définie`);
  const timeout = config.timeoutMs ?? 30_000;
  const client = new Client({ url: config.url, timeout, connectTimeout: timeout });
  try {
    await client.bind(config.bindDn, secret);
    const base = config.filter ?? '(objectClass=inetOrgPerson)';
    const filter = since ? `(&${base}(modifyTimestamp>=${since}))` : base;
    const { searchEntries } = await client.search(config.baseDn, {
      scope: 'sub',
      filter,
      attributes: ['*', 'modifyTimestamp'],
      paged: { pageSize: 500 },
      timeLimit: Math.ceil(timeout / 1000),
    });
    if (since || !config.groupsBaseDn) return { people: searchEntries, groups: [] };
    const groups = await client.search(config.groupsBaseDn, {
      scope: 'sub',
      filter: config.groupsFilter ?? '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))',
      attributes: ['cn', 'description', 'member', 'uniqueMember'],
      paged: { pageSize: 500 },
      timeLimit: Math.ceil(timeout / 1000),
    });
    return { people: searchEntries, groups: groups.searchEntries };
  } finally {
    await client.unbind().catch(() => {});
  }
}
