// Just-in-time provisioning: the first login creates the person in the tenant's directory, later
// logins update what the IdP asserts. A person is (tenant, external_id); a deactivated person is
// neither updated nor let in.
import { sql } from 'kysely';
import type { DbHandle } from '../platform/db.js';
import { newId } from '../platform/ids.js';
import type { LoginProfile } from './attributes.js';
import type { Role } from './roles.js';

export interface ProvisionInput {
  readonly tenantId: string;
  readonly profile: LoginProfile;
  readonly roles: readonly Role[];
  readonly attributes: Record<string, string[]>;
  readonly nameId: string;
  readonly idpEntityId: string;
  /** The tenant's quotas.people: a first login beyond it creates no one. */
  readonly maxPeople: number;
}

export type ProvisionResult =
  /** grantedRoles: roles a tenant admin granted in Portique (people.granted_roles), kept across logins. */
  | { readonly status: 'active'; readonly personId: string; readonly created: boolean; readonly grantedRoles: readonly string[] }
  | { readonly status: 'deactivated'; readonly personId: string }
  /** The tenant already has quotas.people active people: this new person was not created. */
  | { readonly status: 'full' };

export async function provisionPerson(database: DbHandle, input: ProvisionInput): Promise<ProvisionResult> {
  const { tenantId, profile } = input;
  const fields = {
    display_name: profile.displayName,
    given_name: profile.givenName,
    family_name: profile.familyName,
    mail: profile.mail,
    affiliations: profile.affiliations,
    attributes: input.attributes,
    roles: [...input.roles],
    name_id: input.nameId.slice(0, 1000),
    idp_entity_id: input.idpEntityId,
    last_login_at: sql<Date>`now()` as never,
    updated_at: sql<Date>`now()` as never,
  };
  return database.withTenant(tenantId, async (trx) => {
    const known = await trx
      .selectFrom('people')
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('external_id', '=', profile.externalId)
      .executeTakeFirst();
    if (!known) {
      // The tenant's count of active people (kept by a trigger, migrations/0012), locked: first
      // logins of one tenant pass here one at a time, so the quota cannot be overtaken.
      await trx.insertInto('people_counts').values({ tenant_id: tenantId, active: 0 }).onConflict((oc) => oc.column('tenant_id').doNothing()).execute();
      const { active } = await trx.selectFrom('people_counts').select('active').where('tenant_id', '=', tenantId).forUpdate().executeTakeFirstOrThrow();
      if (active >= input.maxPeople) return { status: 'full' };
    }
    const id = newId();
    // One statement, so two first logins at once cannot create the person twice. The update
    // is skipped for a deactivated person, who then comes back with no row.
    const row = await trx
      .insertInto('people')
      .values({ tenant_id: tenantId, id, external_id: profile.externalId, ...fields })
      .onConflict((oc) => oc.columns(['tenant_id', 'external_id']).doUpdateSet(fields).where('people.status', '=', 'active'))
      .returning(['id', 'granted_roles', sql<boolean>`xmax = 0`.as('created')])
      .executeTakeFirst();
    if (row) return { status: 'active', personId: row.id, created: row.created, grantedRoles: row.granted_roles };
    const existing = await trx
      .selectFrom('people')
      .select(['id', 'status'])
      .where('tenant_id', '=', tenantId)
      .where('external_id', '=', profile.externalId)
      .executeTakeFirstOrThrow();
    return { status: 'deactivated', personId: existing.id };
  });
}
