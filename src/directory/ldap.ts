// The tenant's LDAP (SUPANN) as a directory source: a full reconcile (everyone; people of this
// source no longer there are deactivated, under the same threshold as CSV) and an incremental
// sync (entries whose modifyTimestamp is at or after the last run's highest). Everything is read
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
  try {
    entries = await fetchEntries(config, env, incremental ? state!.high_water! : undefined);
  } catch (error) {
    const message = `Annuaire LDAP ${config.url} injoignable ou en erreur : ${(error as Error).message}. Rien n'a été modifié ; nouvel essai plus tard.`;
    await finish('failed', {}, { problems: [{ reason: message }] }, message);
    throw new Error(message, { cause: error });
  }

  const map = { ...DEFAULT_MAP, ...(config.attributes ?? {}) };
  const problems: Problem[] = [];
  const people: CsvPerson[] = [];
  const seen = new Set<string>();
  let highWater = state?.high_water ?? '';
  entries.forEach((entry, i) => {
    const stamp = values(entry, 'modifyTimestamp')[0];
    if (stamp && GENERALIZED_TIME.test(stamp) && stamp > highWater) highWater = stamp;
    const person = personOf(entry, map, i + 1, problems);
    if (!person) return;
    if (seen.has(person.externalId)) return void problems.push({ line: i + 1, reason: `${entry.dn}: identifiant « ${person.externalId} » en double` });
    seen.add(person.externalId);
    people.push(person);
  });
  // Entries the source cannot describe are reported; on a full run they must not read as gone.
  const full = !incremental;
  const threshold = tenant.declaration.directory?.deactivationThreshold ?? DEFAULT_DEACTIVATION_THRESHOLD;
  return database.withTenant(tenantId, async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtextextended(${`directory-import:${tenantId}`}, 0))`.execute(trx);
    const plan = await planImport(trx, tenantId, people, 'ldap', full && problems.length === 0);
    const counts = countsOf(plan, entries.length, problems.length);
    const report = { problems: problems.slice(0, 1000), changes: changesOf(plan), mode: full ? 'full' : 'incremental' };
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

async function fetchEntries(config: LdapConfig, env: NodeJS.ProcessEnv, since: string | undefined): Promise<Entry[]> {
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
    return searchEntries;
  } finally {
    await client.unbind().catch(() => {});
  }
}
