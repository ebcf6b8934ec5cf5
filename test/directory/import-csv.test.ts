// CSV imports: dry run report, idempotent real run, atomicity, bad input of every kind, the
// deactivation threshold, the people quota, files read in pieces, statistics after big runs,
// formula injection on export, admin-only pages, and one tenant only.
import t from 'tap';
import { sql } from 'kysely';
import { createImports } from '../../src/directory/imports.js';
import { addPerson, get, loginAs, NORD, startDirectoryPortique } from './helpers.js';

const portique = await startDirectoryPortique();
t.teardown(() => portique.close());
const { app, nord, sud } = portique;
const db = portique.database.app;
const imports = createImports(db);

const HEADER = 'id;sn;givenName;mail;eduPersonAffiliation;supannEntiteAffectation;supannListeRouge;groups;supannEtuEtape';
const line = (i: number, extra: Partial<Record<'sn' | 'mail' | 'aff' | 'rouge' | 'groups' | 'etape', string>> = {}) =>
  [`p${i}@univ-nord.example`, extra.sn ?? `Nom${i}`, `Prénom${i}`, extra.mail ?? `p${i}@univ-nord.example`, extra.aff ?? 'student|member', 'UFR Sciences', extra.rouge ?? 'non', extra.groups ?? 'L3INF', extra.etape ?? 'L3INF'].join(';');
const file = (lines: string[], header = HEADER) => Buffer.from([header, ...lines].join('\n') + '\n');
const people = (n: number, from = 0) => Array.from({ length: n }, (_, i) => line(from + i));

async function run(body: Buffer, options: { dryRun?: boolean; forced?: boolean; tenant?: string } = {}) {
  const tenant = options.tenant ?? nord;
  const id = await imports.createCsvRun(tenant, { fileName: 'people.csv', body, dryRun: options.dryRun ?? false, requestedBy: null, ...(options.forced ? { forced: true } : {}) });
  await imports.runCsv(tenant, id, 0.05);
  return imports.get(tenant, id);
}
const count = async (tenant = nord) =>
  (await db.withTenant(tenant, (trx) => trx.selectFrom('people').select(sql<number>`count(*)::int`.as('n')).where('status', '=', 'active').where('source', '=', 'csv').executeTakeFirstOrThrow())).n;

t.test('dry run: what would change and every bad line, nothing written', async (t) => {
  const body = file([...people(3), line(10, { sn: '' }), line(11, { mail: 'pas-une-adresse' }), line(12, { rouge: 'peut-être' }), line(1), line(13, { aff: 'wizard' })]);
  const report = await run(body, { dryRun: true });
  t.equal(report.status, 'succeeded');
  t.match(report.counts, { create: 2, bad: 5 }, 'p0 and p2; p1 is duplicated, so both its lines are out');
  const reasons = report.problems.map((p) => `${p.line}: ${p.reason}`);
  t.match(reasons.join('\n'), /5: nom \(sn\) vide/);
  t.match(reasons.join('\n'), /6: adresse de messagerie invalide/);
  t.match(reasons.join('\n'), /7: supannListeRouge doit valoir oui ou non/);
  t.match(reasons.join('\n'), /8: identifiant « p1@univ-nord.example » en double \(déjà ligne 3\)/);
  t.match(reasons.join('\n'), /9: eduPersonAffiliation inconnue : wizard/);
  t.equal(await count(), 0, 'a dry run writes nothing');
  const real = await run(body);
  t.equal(real.status, 'failed', 'a real run with bad lines applies nothing');
  t.match(real.error, /5 ligne\(s\) refusée\(s\) : rien n'a été modifié/);
  t.equal(await count(), 0);
});

t.test('real run, then the same file again: the second changes nothing', async (t) => {
  const body = file(people(40));
  const first = await run(body);
  t.equal(first.status, 'succeeded');
  t.match(first.counts, { create: 40, update: 0, deactivate: 0, groupsCreated: 1, membershipsAdded: 40 });
  t.equal(await count(), 40);
  const before = await db.withTenant(nord, (trx) => trx.selectFrom('people').select(['id', 'updated_at']).orderBy('id').execute());
  const second = await run(body);
  t.match(second.counts, { create: 0, update: 0, reactivate: 0, deactivate: 0, unchanged: 40, membershipsAdded: 0, membershipsRemoved: 0 });
  t.same(await db.withTenant(nord, (trx) => trx.selectFrom('people').select(['id', 'updated_at']).orderBy('id').execute()), before, 'not a row touched');
  const group = await db.withTenant(nord, (trx) => trx.selectFrom('groups').select(['kind', 'name']).where('source_key', '=', 'csv:L3INF').executeTakeFirstOrThrow());
  t.same(group, { kind: 'imported', name: 'L3INF' });
  const changed = await run(file([...people(39), line(39, { sn: 'Nouveau' })]));
  t.match(changed.counts, { update: 1, unchanged: 39 });
  t.same(changed.changes, [{ action: 'update', id: 'p39@univ-nord.example', fields: ['displayName', 'sn'] }]);
});

t.test('deactivations beyond 5% stop the run until it is forced; a person who comes back is reactivated', async (t) => {
  const fewer = file(people(36));
  const stopped = await run(fewer);
  t.equal(stopped.status, 'needs_force');
  t.match(stopped.error, /désactiverait 4 compte\(s\) sur 40 actifs/);
  t.equal(await count(), 40, 'nothing deactivated');
  const two = await run(file([...people(36), line(36), line(37)]));
  t.equal(two.status, 'succeeded', '2 of 40 is within 5%');
  t.match(two.counts, { deactivate: 2 });
  const forced = await run(fewer, { forced: true });
  t.equal(forced.status, 'succeeded');
  t.match(forced.counts, { deactivate: 2, membershipsRemoved: 2 });
  t.equal(await count(), 36);
  const back = await run(file(people(40)), { forced: true });
  t.match(back.counts, { reactivate: 4 });
  t.equal(await count(), 40);
  const kept = await db.withTenant(nord, (trx) => trx.selectFrom('people').select('status').where('external_id', '=', 'p39@univ-nord.example').executeTakeFirstOrThrow());
  t.equal(kept.status, 'active', 'deactivated people were kept, not deleted');
});

t.test('imported groups follow the file: a person who changes group leaves the old one; another tenant is untouched', async (t) => {
  const members = async (code: string) =>
    (
      await db.withTenant(nord, (trx) =>
        trx
          .selectFrom('group_members')
          .innerJoin('groups', (j) => j.onRef('groups.tenant_id', '=', 'group_members.tenant_id').onRef('groups.id', '=', 'group_members.group_id'))
          .innerJoin('people', (j) => j.onRef('people.tenant_id', '=', 'group_members.tenant_id').onRef('people.id', '=', 'group_members.person_id'))
          .select('people.external_id')
          .where('groups.source_key', '=', `csv:${code}`)
          .execute(),
      )
    )
      .map((r) => r.external_id)
      .sort();
  const moved = await run(file([...people(38), line(38, { groups: 'M1INF|TD-2' }), line(39, { groups: '' })]));
  t.equal(moved.status, 'succeeded');
  t.match(moved.counts, { groupsCreated: 2, membershipsAdded: 2, membershipsRemoved: 2 });
  t.same(await members('M1INF'), ['p38@univ-nord.example']);
  t.same(await members('TD-2'), ['p38@univ-nord.example']);
  t.equal((await members('L3INF')).length, 38, 'p38 and p39 left L3INF');
  const sudGroups = await db.withTenant(sud, (trx) => trx.selectFrom('groups').select('id').execute());
  t.same(sudGroups, [], "nothing of nord's groups in sud");
  const back = await run(file(people(40)));
  t.match(back.counts, { membershipsAdded: 2, membershipsRemoved: 2 });
  t.same(await members('M1INF'), [], 'the emptied group stays, without members');
});

t.test("an import that would exceed the tenant's people quota is refused before it writes, and says what it would have done", async (t) => {
  const before = await count();
  // Any write to people during the run fails it otherwise: the refusal must come first.
  await portique.database.owner.sql.unsafe(`
    create function test_no_write() returns trigger language plpgsql as $$ begin raise exception 'people written'; end $$;
    create trigger test_no_write before insert or update on people for each statement execute function test_no_write();`);
  t.teardown(() => portique.database.owner.sql.unsafe('drop trigger if exists test_no_write on people; drop function if exists test_no_write();'));
  const id = await imports.createCsvRun(nord, { fileName: 'people.csv', body: file(people(60)), dryRun: false, requestedBy: null });
  t.equal(await imports.runCsv(nord, id, 0.05, undefined, 45), 'failed');
  const refused = await imports.get(nord, id);
  t.match(refused.error, `Après cet import, 60 personnes seraient actives, plus que le quota de l'établissement (45) : rien n'a été modifié.`);
  t.match(refused.counts, { create: 20, unchanged: 40, deactivate: 0 }, 'the counts of what it would have done');
  t.equal(refused.changes.length, 20);
  t.match(refused.changes[0], { action: 'create', id: 'p40@univ-nord.example' });
  t.ok(refused.hasFile, 'the file stays, for a run once the quota allows it');
  t.equal(await count(), before);
  await portique.database.owner.sql.unsafe('drop trigger test_no_write on people; drop function test_no_write();');
  const within = await imports.createCsvRun(nord, { fileName: 'people.csv', body: file(people(45)), dryRun: false, requestedBy: null });
  t.equal(await imports.runCsv(nord, within, 0.05, undefined, 45), 'succeeded', 'up to the quota is fine');
  t.equal(await count(), 45);
  t.equal((await run(file(people(40)), { forced: true })).status, 'succeeded');
  t.equal(await count(), 40);
});

t.test('a file larger than the pieces it is read in: characters across pieces, and bad bytes found where they are', async (t) => {
  // About 150 KB: read from the database in several pieces, decoded in many steps.
  const accented = (i: number) => line(5000 + i, { sn: `Lefèvre-Hélène-Noël-Chloé-Anaïs-${i}` });
  const lines = Array.from({ length: 2000 }, (_, i) => accented(i));
  const body = file(lines);
  t.ok(body.length > 3 * 48 * 1024);
  const report = await run(body, { dryRun: true });
  t.equal(report.status, 'succeeded');
  t.match(report.counts, { lines: 2001, create: 2000, bad: 0 }, 'no character was cut between two pieces');
  const at = body.length - 1000;
  const broken = Buffer.concat([body.subarray(0, at), Buffer.from([0xc3, 0x28]), body.subarray(at)]);
  const failed = await run(broken, { dryRun: true });
  t.equal(failed.status, 'failed');
  const near = Number(/octet (\d+) environ/.exec(failed.error ?? '')?.[1]);
  t.ok(near <= at && near > at - 16 * 1024, `the bad byte is reported near where it is (${near}, at ${at})`);
});

t.test('bad lines: the report keeps the first 1000 in line order, the counts have them all; every line of a repeated identifier is out', async (t) => {
  const bodyLines = [...Array.from({ length: 1100 }, (_, i) => line(3000 + i, { sn: '' })), line(7000), line(7001), line(7000, { sn: 'Autre' }), line(7000)];
  const report = await run(file(bodyLines), { dryRun: true });
  t.equal(report.status, 'succeeded');
  t.match(report.counts, { bad: 1102, create: 1 }, 'p7001 only: p7000 is on three lines');
  t.equal(report.problems.length, 1000);
  t.same(report.problems.slice(0, 2), [
    { line: 2, reason: 'nom (sn) vide' },
    { line: 3, reason: 'nom (sn) vide' },
  ]);
  const small = await run(file([line(7000), line(1, { sn: '' }), line(7001), line(7000), line(2, { mail: 'x' }), line(7000)]), { dryRun: true });
  t.same(
    small.problems.map((p) => `${p.line}: ${p.reason}`),
    ['3: nom (sn) vide', '5: identifiant « p7000@univ-nord.example » en double (déjà ligne 2)', '6: adresse de messagerie invalide « x »', '7: identifiant « p7000@univ-nord.example » en double (déjà ligne 2)'],
    'repeated identifiers and other bad lines, in line order',
  );
  t.match(small.counts, { bad: 4, create: 1 });
});

t.test("a run that changes many people refreshes the word tables' statistics; a small one leaves them to autovacuum", async (t) => {
  const analyzed = async () =>
    Object.fromEntries(
      (await portique.database.owner.sql<{ relname: string; n: number }[]>`
        select relname, analyze_count::int as n from pg_stat_user_tables where relname in ('people', 'people_search_terms', 'directory_terms')`).map((r) => [r.relname, r.n]),
    );
  // Statistics reach the view within a second or so of the statement.
  const settled = async (want: (n: Record<string, number>) => boolean) => {
    for (let i = 0; i < 50; i++) {
      const n = await analyzed();
      if (want(n)) return n;
      await new Promise((r) => setTimeout(r, 100));
    }
    return analyzed();
  };
  const before = await analyzed();
  const small = await run(file(people(45)), { forced: true });
  t.equal(small.status, 'succeeded');
  await new Promise((r) => setTimeout(r, 1500));
  t.same(await analyzed(), before, 'a few changes: no ANALYZE');
  const big = await run(file([...people(40), ...Array.from({ length: 1000 }, (_, i) => line(10_000 + i))]), { forced: true });
  t.match(big.counts, { create: 1000 });
  const after = await settled((n) => n.people_search_terms! > before.people_search_terms!);
  for (const table of ['people', 'people_search_terms', 'directory_terms']) t.ok(after[table]! > before[table]!, `${table} analyzed`);
  await run(file(people(40)), { forced: true });
});

t.test('BOM, comma separator, CRLF and quoted fields', async (t) => {
  const body = Buffer.from('\uFEFFid,sn,givenName,mail,supannEntiteAffectation\r\nq1@univ-nord.example,"Dupont, dit ""Le Grand""",Zoé,q1@univ-nord.example,"UFR Lettres; Langues"\r\n');
  const report = await run(body, { dryRun: true });
  t.equal(report.status, 'succeeded');
  t.match(report.counts, { create: 1, bad: 0 });
});

t.test('a file that cannot be read: wrong header, broken quoting, wrong encoding', async (t) => {
  const header = await run(Buffer.from('identifiant;nom;prenom\nx;y;z\n'), { dryRun: true });
  t.equal(header.status, 'failed');
  t.match(header.error, /En-tête incorrect : colonne\(s\) obligatoire\(s\) absente\(s\) : id, sn, givenName/);
  const dupColumn = await run(Buffer.from('id;sn;givenName;SN\nx;y;z;w\n'), { dryRun: true });
  t.match(dupColumn.error, /la colonne « sn » apparaît deux fois/);
  const quoting = await run(file([line(0), 'p1@univ-nord.example;"Nom1;Prénom1;p1@univ-nord.example;student;UFR;non;L3INF;L3INF', line(2)]), { dryRun: true });
  t.ok(quoting.problems.some((p) => /guillemets/.test(p.reason)), 'broken quoting is reported');
  const latin1 = await run(Buffer.concat([Buffer.from(`${HEADER}\np1@univ-nord.example;H`), Buffer.from([0xe9]), Buffer.from('lo;Zo;;student;;non;;\n')]), { dryRun: true });
  t.equal(latin1.status, 'failed');
  t.match(latin1.error, /n'est pas en UTF-8/);
  const columns = await run(file([line(0), 'p9@univ-nord.example;Nom9']), { dryRun: true });
  t.match(columns.problems, [{ line: 3, reason: '2 colonnes au lieu de 9' }]);
});

t.test('atomic: a run that fails half-way leaves the directory as it was', async (t) => {
  await portique.database.owner.sql.unsafe(`
    create function test_boom() returns trigger language plpgsql as $$
    begin if new.external_id = 'boom@univ-nord.example' then raise exception 'disk on fire'; end if; return new; end $$;
    create trigger test_boom before insert on people for each row execute function test_boom();`);
  t.teardown(() => portique.database.owner.sql.unsafe('drop trigger test_boom on people; drop function test_boom();'));
  const before = await count();
  const lines = [...people(40), ...Array.from({ length: 600 }, (_, i) => line(1000 + i)), line(0).replace('p0@', 'boom@').replace(/^boom@univ-nord.example/, 'boom@univ-nord.example')];
  const id = await imports.createCsvRun(nord, { fileName: 'boom.csv', body: file(lines), dryRun: false, requestedBy: null });
  await t.rejects(imports.runCsv(nord, id, 0.05), /disk on fire/);
  t.equal(await count(), before, 'the first 600 new people were rolled back with the rest');
  t.equal((await imports.get(nord, id)).status, 'running', 'left to the job retry, which starts again');
});

t.test('formula injection is neutralised in the CSV export', async (t) => {
  await addPerson(db, nord, { givenName: '=cmd|', familyName: "'/C calc'!A0", displayName: "=cmd|' /C calc'!A0", mail: null, affiliations: ['staff'] });
  const admin = await loginAs(app, nord, { eppn: 'ada.admin@univ-nord.example', affiliations: ['staff'], admin: true });
  const res = await get(app, `/admin/annuaire/export.csv?q=${encodeURIComponent('cmd')}`, admin);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], 'text/csv');
  t.match(res.body, `;'=cmd|' /C calc'!A0;`, 'the formula is text');
  t.notMatch(res.body, /(^|;)=cmd/m);
  const all = await get(app, '/admin/annuaire/export.csv', admin);
  t.ok(all.body.split('\r\n').length > 40, 'no query: the whole directory');
  t.match(all.body, `;'=cmd|' /C calc'!A0;`);
});

t.test('admin pages: upload, dry-run report, history; others get 403', async (t) => {
  const admin = await loginAs(app, nord, { eppn: 'ada.admin@univ-nord.example', affiliations: ['staff'], admin: true });
  const student = await loginAs(app, nord, { eppn: 'lou.student@univ-nord.example', affiliations: ['student'] });
  for (const url of ['/admin/annuaire', '/admin/annuaire/imports', '/admin/annuaire/export.csv']) {
    t.equal((await get(app, url, student)).statusCode, 403, `${url}: 403 for a student`);
  }
  const csrf = async (cookie: string) => /<meta name="csrf-token" content="([^"]+)"/.exec((await get(app, '/annuaire', cookie)).body)![1]!;
  const upload = async (cookie: string, body: Buffer, dryRun = true) => {
    const boundary = '----portique-test';
    const payload = Buffer.concat([
      Buffer.from(dryRun ? `--${boundary}\r\nContent-Disposition: form-data; name="dryRun"\r\n\r\n1\r\n` : ''),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="people.csv"\r\nContent-Type: text/csv\r\n\r\n`),
      body,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return app.inject({ method: 'POST', url: `/admin/annuaire/imports?_csrf=${encodeURIComponent(await csrf(cookie))}`, headers: { host: NORD, cookie, 'content-type': `multipart/form-data; boundary=${boundary}` }, payload });
  };
  t.equal((await upload(student, file(people(2)))).statusCode, 403, 'upload refused to a student');
  const studentId = (await db.withTenant(nord, (trx) => trx.selectFrom('people').select('id').where('external_id', '=', 'lou.student@univ-nord.example').executeTakeFirstOrThrow())).id;
  const deactivate = await app.inject({ method: 'POST', url: `/admin/annuaire/personnes/${studentId}/desactiver`, headers: { host: NORD, cookie: admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(await csrf(admin))}` });
  t.equal(deactivate.statusCode, 303);
  t.equal((await get(app, '/annuaire', student)).statusCode, 303, 'a deactivated person is logged out at once');
  const reactivate = await app.inject({ method: 'POST', url: `/admin/annuaire/personnes/${studentId}/reactiver`, headers: { host: NORD, cookie: admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(await csrf(admin))}` });
  t.equal(reactivate.statusCode, 303);
  t.match((await get(app, `/admin/annuaire/personnes/${studentId}`, admin)).body, 'Désactiver', 'active again');
  const post = async (url: string) => app.inject({ method: 'POST', url, headers: { host: NORD, cookie: admin, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(await csrf(admin))}` });
  const staff = await loginAs(app, nord, { eppn: 'sam.staff@univ-nord.example', affiliations: ['staff'] });
  const staffId = (await db.withTenant(nord, (trx) => trx.selectFrom('people').select('id').where('external_id', '=', 'sam.staff@univ-nord.example').executeTakeFirstOrThrow())).id;
  t.equal((await get(app, '/admin/annuaire', staff)).statusCode, 403);
  t.equal((await post(`/admin/annuaire/personnes/${staffId}/admin/accorder`)).statusCode, 303);
  t.equal((await get(app, '/admin/annuaire', staff)).statusCode, 200, 'granted tenant-admin: the directory admin pages open at once');
  t.equal((await post(`/admin/annuaire/personnes/${staffId}/admin/retirer`)).statusCode, 303);
  t.equal((await get(app, '/admin/annuaire', staff)).statusCode, 403, 'and close when it is withdrawn');
  const res = await upload(admin, file([...people(40), line(2000)]));
  t.equal(res.statusCode, 303);
  const id = /\/admin\/annuaire\/imports\/([0-9a-f-]{36})$/.exec(res.headers.location as string)![1]!;
  const queued = await get(app, `/admin/annuaire/imports/${id}`, admin);
  t.match(queued.body, 'En attente');
  await imports.runCsv(nord, id, 0.05);
  const done = await get(app, `/admin/annuaire/imports/${id}`, admin);
  t.match(done.body, 'create: 1');
  t.match(done.body, 'Appliquer cet import');
  const history = await get(app, '/admin/annuaire/imports', admin);
  t.match(history.body, 'people.csv');
  t.match(history.body, `/admin/annuaire/imports/${id}`);
  const big = await upload(admin, Buffer.alloc(50 * 1024 * 1024, 'a'));
  t.equal(big.statusCode, 413, 'a 50 MB file is refused');
  t.match(big.body, 'Le fichier dépasse 40 Mo');
});

t.test('an import touches its tenant only', async (t) => {
  const sudTwin = await addPerson(db, sud, { externalId: 'p0@univ-nord.example', familyName: 'Sud', source: 'csv' });
  await run(file(people(40)), { forced: true });
  await run(file(people(1)), { forced: true });
  const twin = await db.withTenant(sud, (trx) => trx.selectFrom('people').select(['family_name', 'status']).where('id', '=', sudTwin).executeTakeFirstOrThrow());
  t.same(twin, { family_name: 'Sud', status: 'active' }, "sud's person with the same identifier is untouched");
  const sudRuns = await imports.list(sud);
  t.same(sudRuns, [], "nord's runs are not in sud's history");
});
