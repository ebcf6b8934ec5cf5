// Tenant declarations: valid files apply, every kind of mistake is reported as file/field/reason
// and changes nothing, apply is idempotent, and a dry run writes nothing.
import t from 'tap';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { applyTenants } from '../../src/tenancy/apply.js';
import { DeclarationError, parseDeclaration, parseSize } from '../../src/tenancy/declaration.js';
import { createTestDatabase } from '../helpers/db.js';

const run = promisify(execFile);
const database = await createTestDatabase();
t.teardown(() => database.drop());

/** A copy of the demo tenants/ that a test may break. */
async function tenantsCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'portique-tenants-'));
  await cp('tenants', dir, { recursive: true });
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function snapshot() {
  const tenants = await database.owner.db.selectFrom('tenants').select(['id', 'slug', 'digest', 'status', 'updated_at']).orderBy('slug').execute();
  const hosts = await database.owner.db.selectFrom('tenant_hosts').selectAll().orderBy('host').execute();
  return { tenants, hosts };
}

async function edit(dir: string, file: string, change: (text: string) => string) {
  const path = join(dir, file);
  await writeFile(path, change(await readFile(path, 'utf8')));
}

t.test('the demo declarations are valid and a dry run writes nothing', async (t) => {
  const result = await applyTenants(database.owner.db, 'tenants', { dryRun: true });
  t.same(result.changes.map((c) => [c.kind, c.slug]), [['create', 'nord'], ['create', 'sud']]);
  t.same((await snapshot()).tenants, [], 'nothing written');
});

t.test('apply creates, then applying again changes nothing', async (t) => {
  const first = await applyTenants(database.owner.db, 'tenants');
  t.same(first.changes.map((c) => c.kind), ['create', 'create']);
  const after = await snapshot();
  t.same(after.hosts.map((h) => h.host), ['nord.localhost', 'sud.localhost']);
  const second = await applyTenants(database.owner.db, 'tenants');
  t.same(second.changes.map((c) => c.kind), ['unchanged', 'unchanged']);
  t.same(await snapshot(), after, 'database unchanged by the second apply');
});

t.test('an update is reported with what changed, and a dry run of it writes nothing', async (t) => {
  const dir = await tenantsCopy();
  await edit(dir, 'sud.yaml', (s) => s.replace('displayName: Université du Sud', 'displayName: Université du Grand Sud').replace('- sud.localhost', '- sud.localhost\n  - ent.univ-sud.localhost'));
  const before = await snapshot();
  const dry = await applyTenants(database.owner.db, dir, { dryRun: true });
  t.same(dry.changes.find((c) => c.slug === 'sud'), { kind: 'update', slug: 'sud', what: ['displayName', 'hosts'] });
  t.same(await snapshot(), before);
  await applyTenants(database.owner.db, dir);
  const hosts = await database.owner.db.selectFrom('tenant_hosts').select('host').orderBy('host').execute();
  t.same(hosts.map((h) => h.host), ['ent.univ-sud.localhost', 'nord.localhost', 'sud.localhost']);
  await applyTenants(database.owner.db, 'tenants'); // back to the demo state
});

// Each mistake: how to make it, and what the operator must be told (field, reason).
const mistakes: [string, string, (s: string) => string, RegExp, RegExp][] = [
  ['unknown key', 'nord.yaml', (s) => s.replace('defaultLocale: fr', 'defaultLocale: fr\ncolour: blue'), /^colour$/, /unknown key/],
  ['unknown nested key', 'nord.yaml', (s) => s.replace('  logo: logo.svg', '  logo: logo.svg\n  banner: x.png'), /^branding\.banner$/, /unknown key/],
  ['missing required field', 'nord.yaml', (s) => s.replace(/^displayName:.*$/m, ''), /^displayName$/, /is required/],
  ['bad colour', 'nord.yaml', (s) => s.replace('"#1f3a93"', '"blue"'), /^branding\.colors\.primary$/, /#rrggbb/],
  ['bad size', 'nord.yaml', (s) => s.replace('5 GiB', 'five gigs'), /^quotas\.storagePerPerson$/, /size/],
  ['per-person quota above the tenant total', 'sud.yaml', (s) => s.replace('storagePerPerson: 2 GiB', 'storagePerPerson: 9 TiB'), /^quotas\.storagePerPerson$/, /larger than quotas\.storageTotal/],
  ['unknown service', 'nord.yaml', (s) => s.replace('services: [', 'services: [teleportation, '), /^services\.0$/, /teleportation/],
  ['host with a port', 'nord.yaml', (s) => s.replace('- nord.localhost', '- nord.localhost:3000'), /^hosts\.0$/, /host name/],
  ['host claimed by two tenants', 'sud.yaml', (s) => s.replace('- sud.localhost', '- nord.localhost'), /^hosts$/, /already declared/],
  ['slug not matching the file', 'nord.yaml', (s) => s.replace('slug: nord', 'slug: north'), /^slug$/, /file name/],
  ['missing logo file', 'nord.yaml', (s) => s.replace('logo: logo.svg', 'logo: absent.svg'), /^branding\.logo$/, /does not exist/],
  ['logo of a forbidden type', 'nord.yaml', (s) => s.replace('logo: logo.svg', 'logo: logo.html'), /^branding\.logo$/, /must be/],
  ['broken YAML', 'nord.yaml', (s) => s.replace('hosts:', 'hosts: [unclosed'), /^\(yaml\)$/, /./],
  ['duplicate YAML key', 'nord.yaml', (s) => `${s}\nslug: nord\n`, /^\(yaml\)$/, /unique|duplicate/i],
  ['CSS injection through an accent value', 'nord.yaml', (s) => s.replace('--radius: 10px', '--radius: "1px;}body{display:none"'), /^branding\.accent/, /./],
];

for (const [name, file, change, field, reason] of mistakes) {
  t.test(`mistake: ${name}`, async (t) => {
    const dir = await tenantsCopy();
    await edit(dir, file, change);
    const before = await snapshot();
    const error = await applyTenants(database.owner.db, dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.type(error, DeclarationError, 'apply refuses');
    const problems = (error as DeclarationError).problems;
    const problem = problems.find((p) => field.test(p.field));
    t.ok(problem, `a problem names the field (got ${JSON.stringify(problems)})`);
    t.match(problem?.reason ?? '', reason, 'and says why');
    t.ok(problem?.file.endsWith(file), 'and names the file');
    t.same(await snapshot(), before, 'nothing changed');
  });
}

t.test('one bad file among good ones: nothing at all is applied', async (t) => {
  const dir = await tenantsCopy();
  await edit(dir, 'sud.yaml', (s) => s.replace('displayName: Université du Sud', 'displayName: Sud renommé'));
  await edit(dir, 'nord.yaml', (s) => s.replace('defaultLocale: fr', 'defaultLocale: de'));
  const before = await snapshot();
  await t.rejects(applyTenants(database.owner.db, dir), /nord\.yaml: defaultLocale: expected fr or en, got "de"/);
  t.same(await snapshot(), before);
});

t.test('a host held by a tenant without a file cannot be taken', async (t) => {
  const dir = await tenantsCopy();
  await rm(join(dir, 'sud.yaml'));
  await edit(dir, 'nord.yaml', (s) => s.replace('- nord.localhost', '- nord.localhost\n  - sud.localhost'));
  const error = await applyTenants(database.owner.db, dir).catch((e: DeclarationError) => e);
  t.match(String(error), /sud\.localhost belongs to tenant sud/);
});

t.test('a tenant whose file is gone is kept and reported', async (t) => {
  const dir = await tenantsCopy();
  await rm(join(dir, 'sud.yaml'));
  const result = await applyTenants(database.owner.db, dir);
  t.same(result.changes.find((c) => c.slug === 'sud'), { kind: 'undeclared', slug: 'sud' });
  t.ok(await database.owner.db.selectFrom('tenants').where('slug', '=', 'sud').executeTakeFirst(), 'still there');
});

t.test('sizes', async (t) => {
  t.equal(parseSize('5 GiB'), 5 * 2 ** 30);
  t.equal(parseSize('1.5MB'), 1_500_000);
  t.equal(parseSize('2 TiB'), 2 * 2 ** 40);
  const { problems } = parseDeclaration('x.yaml', 'slug: x');
  t.ok(problems.length > 3, 'a nearly empty file lists every missing field');
});

t.test('the CLI: dry run prints the plan; a broken file prints file, field and reason and exits 1', async (t) => {
  const env = { ...process.env, DATABASE_URL: database.appUrl, DATABASE_OWNER_URL: database.ownerUrl, REDIS_URL: 'redis://127.0.0.1:6379', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', SMTP_URL: 'smtp://127.0.0.1:25' };
  const dir = await tenantsCopy();
  await edit(dir, 'sud.yaml', (s) => s.replace('displayName: Université du Sud', 'displayName: Université du Sud-Ouest'));
  const dry = await run('bin/portique', ['tenants', 'apply', '--dry-run'], { env: { ...env, TENANTS_DIR: dir } });
  t.match(dry.stdout, /~ update sud: displayName/);
  t.match(dry.stdout, /dry run: 1 tenant\(s\) would change, nothing was written/);

  await edit(dir, 'nord.yaml', (s) => s.replace('people: 60000', 'people: many\nmascot: owl'));
  const failed = await run('bin/portique', ['tenants', 'apply'], { env: { ...env, TENANTS_DIR: dir } }).catch((e: { code: number; stderr: string }) => e);
  t.equal((failed as { code: number }).code, 1);
  t.match((failed as { stderr: string }).stderr, /nord\.yaml: quotas\.people: /);
  t.match((failed as { stderr: string }).stderr, /nord\.yaml: mascot: unknown key/);
  t.match((failed as { stderr: string }).stderr, /nothing was changed/);

  const list = await run('bin/portique', ['tenants', 'list'], { env: { ...env, TENANTS_DIR: dir } });
  t.match(list.stdout, /nord\s+active\s+Université du Nord\s+nord\.localhost/);
});
