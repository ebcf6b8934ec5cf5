// Roles of a person in one tenant, derived at each login from what the tenant's IdP asserted:
// eduPersonAffiliation / eduPersonPrimaryAffiliation (and the scoped affiliation), then the
// tenant's own rules (identity.roles in its declaration), typically on eduPersonEntitlement.
// There is no operator role here on purpose: operator rights come only from the operator's own
// IdP (src/identity/operator.ts), never from anything a university's IdP can assert.
import type { Declaration } from '../tenancy/declaration.js';

export const ROLES = ['student', 'teacher', 'staff', 'alumni', 'admin'] as const;
export type Role = (typeof ROLES)[number];

type RoleRule = NonNullable<NonNullable<Declaration['identity']>['roles']>[number];
type Attributes = Readonly<Record<string, readonly string[]>>;

/** eduPerson affiliation values (lower-cased) -> Portique role. Others (member, affiliate, library-walk-in) grant none. */
const AFFILIATION_ROLES: Readonly<Record<string, Role>> = {
  student: 'student',
  faculty: 'teacher',
  teacher: 'teacher', // SUPANN's value for teaching staff
  staff: 'staff',
  employee: 'staff',
  alum: 'alumni',
};

const AFFILIATION_ATTRIBUTES = ['eduPersonAffiliation', 'eduPersonPrimaryAffiliation', 'eduPersonScopedAffiliation'];
/** Attributes whose values are "value@scope"; a rule may name the value without its scope. */
const SCOPED_ATTRIBUTES = new Set(['eduPersonScopedAffiliation', 'eduPersonPrincipalName']);

function unscoped(value: string): string {
  const at = value.lastIndexOf('@');
  return at > 0 ? value.slice(0, at) : value;
}

function ruleMatches(rule: RoleRule, attributes: Attributes): boolean {
  const values = attributes[rule.attribute] ?? [];
  const scoped = SCOPED_ATTRIBUTES.has(rule.attribute);
  return values.some((v) => rule.values.includes(v) || (scoped && rule.values.includes(unscoped(v))));
}

/** The roles a login grants, in ROLES order, without duplicates. */
export function deriveRoles(attributes: Attributes, rules: readonly RoleRule[] = []): Role[] {
  const granted = new Set<Role>();
  for (const name of AFFILIATION_ATTRIBUTES) {
    for (const value of attributes[name] ?? []) {
      const role = AFFILIATION_ROLES[unscoped(value).trim().toLowerCase()];
      if (role) granted.add(role);
    }
  }
  for (const rule of rules) if (ruleMatches(rule, attributes)) granted.add(rule.role);
  return ROLES.filter((r) => granted.has(r));
}

export const isRole = (value: unknown): value is Role => typeof value === 'string' && (ROLES as readonly string[]).includes(value);
