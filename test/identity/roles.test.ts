// Role derivation: a table of what IdPs send and what it grants.
import t from 'tap';
import { deriveRoles } from '../../src/identity/roles.js';
import { parseDeclaration } from '../../src/tenancy/declaration.js';
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';

const ADMIN = 'urn:mace:univ-nord.example:ent:admin';
const rules = [
  { role: 'admin' as const, attribute: 'eduPersonEntitlement', values: [ADMIN] },
  { role: 'teacher' as const, attribute: 'supannEntiteAffectation', values: ['DEP-INFO'] },
  { role: 'staff' as const, attribute: 'eduPersonScopedAffiliation', values: ['affiliate'] },
];

const table: [string, Record<string, string[]>, string[]][] = [
  ['student', { eduPersonAffiliation: ['student', 'member'] }, ['student']],
  ['faculty is a teacher', { eduPersonAffiliation: ['faculty', 'member'] }, ['teacher']],
  ['SUPANN teacher', { eduPersonAffiliation: ['teacher'] }, ['teacher']],
  ['staff', { eduPersonAffiliation: ['staff'] }, ['staff']],
  ['employee is staff', { eduPersonAffiliation: ['employee'] }, ['staff']],
  ['alum is alumni', { eduPersonAffiliation: ['alum'] }, ['alumni']],
  ['primary affiliation counts', { eduPersonPrimaryAffiliation: ['faculty'] }, ['teacher']],
  ['scoped affiliation counts', { eduPersonScopedAffiliation: ['student@univ-nord.example'] }, ['student']],
  ['case and spaces do not matter', { eduPersonAffiliation: [' Student '] }, ['student']],
  ['member, affiliate, library-walk-in grant nothing', { eduPersonAffiliation: ['member', 'affiliate', 'library-walk-in'] }, []],
  ['nothing asserted', {}, []],
  ['several at once, in a fixed order', { eduPersonAffiliation: ['staff', 'student', 'alum', 'faculty'] }, ['student', 'teacher', 'staff', 'alumni']],
  ['entitlement rule grants admin', { eduPersonAffiliation: ['staff'], eduPersonEntitlement: [ADMIN] }, ['staff', 'admin']],
  ['another entitlement does not', { eduPersonEntitlement: ['urn:mace:univ-sud.example:ent:admin'] }, []],
  ['an entitlement that merely contains the value does not', { eduPersonEntitlement: [`${ADMIN}:not`] }, []],
  ['attribute rule', { supannEntiteAffectation: ['DEP-INFO'] }, ['teacher']],
  ['scoped rule matches without the scope', { eduPersonScopedAffiliation: ['affiliate@univ-nord.example'] }, ['staff']],
  ['"admin" as an affiliation is not tenant admin', { eduPersonAffiliation: ['admin', 'operator'] }, []],
];

for (const [name, attributes, expected] of table) {
  t.same(deriveRoles(attributes, rules), expected, name);
}

t.same(deriveRoles({ eduPersonEntitlement: [ADMIN] }), [], 'without the rule an entitlement grants nothing');

t.test('a tenant declaration cannot grant an operator role', async (t) => {
  const doc = parseDocument(await readFile('tenants/nord.yaml', 'utf8'));
  doc.set('identity', {
    providers: [{ entityId: 'https://idp.example/idp' }],
    roles: [{ role: 'operator', attribute: 'eduPersonEntitlement', values: ['x'] }],
  });
  const withRule = doc.toString();
  const { declaration, problems } = parseDeclaration('nord.yaml', withRule);
  t.notOk(declaration);
  t.ok(problems.some((p) => p.field.startsWith('identity.roles')), 'identity.roles.0.role is refused');
});
