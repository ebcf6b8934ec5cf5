// Usage statistics: events recorded without waiting and flushed in batches; logins and page
// views recorded; roll-ups correct and idempotent; k-anonymity; the admin page and its CSV.
import t from 'tap';
import type { UsageEventName, UsageService } from '../../src/statistics/events.js';
import { csvCell } from '../../src/statistics/csv.js';
import { createUsageRecorder } from '../../src/statistics/recorder.js';
import { regionalStatistics, usageReport } from '../../src/statistics/report.js';
import { cubeKey, cubeLines } from '../../src/statistics/suppression.js';
import { RetentionError, addDays, dayIn, purgeEvents, rollupDay, rollupMonth } from '../../src/statistics/rollup.js';
import { addPerson, get, loginAs, startDirectoryPortique } from '../directory/helpers.js';

const portique = await startDirectoryPortique();
t.teardown(() => portique.close());
const { app, nord, sud } = portique;
const db = portique.database.app;

const countEvents = async (tenantId: string, where: { event?: string; service?: string } = {}) =>
  Number(
    (
      await db.withTenant(tenantId, (trx) => {
        // A row stands for a person's events of one kind on one day (its count).
        let q = trx.selectFrom('usage_person_days').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('count'), eb.lit(0)).as('n')).where('tenant_id', '=', tenantId);
        if (where.event) q = q.where('event', '=', where.event);
        if (where.service) q = q.where('service', '=', where.service);
        return q.executeTakeFirstOrThrow();
      })
    ).n,
  );

t.test('the recorder buffers, flushes by size and on close, and drops bad events', async (t) => {
  const recorder = createUsageRecorder(db, { flushMs: 60_000, batchSize: 50 });
  const person = await addPerson(db, sud);
  for (let i = 0; i < 120; i++) recorder.record({ tenantId: sud, personId: person, event: 'download', service: 'documents' });
  recorder.record({ tenantId: sud, personId: null, event: 'nope' as never, service: 'documents' });
  t.equal(recorder.counters().dropped, 1);
  await new Promise((r) => setTimeout(r, 300));
  t.ok((await countEvents(sud, { event: 'download' })) >= 100, 'batches of 50 written without waiting for the timer');
  recorder.record({ tenantId: sud, personId: null, event: 'search', service: 'directory' });
  await recorder.close();
  t.equal(await countEvents(sud, { event: 'download' }), 120);
  t.equal(await countEvents(sud, { event: 'search' }), 1, 'flushed at close');
  t.same(recorder.counters(), { recorded: 121, written: 121, dropped: 1, buffered: 0 });
});

t.test('a person\'s events of a day are one row; two replicas adding to the same rows lose nothing', async (t) => {
  const people = await Promise.all(Array.from({ length: 20 }, () => addPerson(db, sud)));
  const replicas = [createUsageRecorder(db, { flushMs: 60_000 }), createUsageRecorder(db, { flushMs: 60_000 })];
  for (let round = 0; round < 3; round++) {
    for (const recorder of replicas) for (let i = 0; i < 400; i++) recorder.record({ tenantId: sud, personId: people[i % 20]!, event: 'page.view', service: 'agenda' });
    // Both at once, on the same 20 rows, in whatever order the map holds them.
    await Promise.all(replicas.map((r) => r.flush()));
  }
  t.equal(await countEvents(sud, { service: 'agenda' }), 2400);
  const rows = await db.withTenant(sud, (trx) => trx.selectFrom('usage_person_days').select(['person_id', 'count']).where('service', '=', 'agenda').execute());
  t.equal(rows.length, 20, 'one row per person and day');
  t.ok(rows.every((r) => Number(r.count) === 120));
  for (const r of replicas) await r.close();
});

t.test('PostgreSQL away: counts are kept (within the bound) and written when it is back', async (t) => {
  let down = true;
  const flaky = { ...db, withTenant: ((tenantId, fn) => (down ? Promise.reject(new Error('connect ECONNREFUSED')) : db.withTenant(tenantId, fn))) as typeof db.withTenant };
  const warnings: unknown[] = [];
  const recorder = createUsageRecorder(flaky, { flushMs: 60_000, maxBuffered: 2, log: { warn: (o: unknown) => warnings.push(o), error: () => {} } });
  const who = await addPerson(db, sud);
  for (let i = 0; i < 5; i++) recorder.record({ tenantId: sud, personId: who, event: 'search', service: 'forums' });
  recorder.record({ tenantId: sud, personId: null, event: 'search', service: 'forums' });
  recorder.record({ tenantId: sud, personId: null, event: 'download', service: 'forums' });
  t.same(recorder.counters(), { recorded: 6, written: 0, dropped: 1, buffered: 6 }, 'a third key is over the bound: dropped, counted');
  await recorder.flush();
  t.equal(warnings.length, 1, 'the failed write is logged');
  t.same(recorder.counters(), { recorded: 6, written: 0, dropped: 1, buffered: 6 }, 'kept for the next flush');
  recorder.record({ tenantId: sud, personId: who, event: 'search', service: 'forums' });
  down = false;
  await recorder.close();
  t.same(recorder.counters(), { recorded: 7, written: 7, dropped: 1, buffered: 0 });
  t.equal(await countEvents(sud, { service: 'forums' }), 7);
  recorder.record({ tenantId: sud, personId: who, event: 'search', service: 'forums' });
  t.equal(recorder.counters().dropped, 2, 'closed: nothing more is taken');
});

t.test('logins and page views are recorded by the app', async (t) => {
  const cookie = await loginAs(app, nord, { eppn: 'lea@univ-nord.example', affiliations: ['student'] });
  await get(app, '/');
  await get(app, '/annuaire', cookie);
  await get(app, '/aide', cookie);
  await app.usage!.flush();
  const lea = await db.withTenant(nord, (trx) => trx.selectFrom('people').select('id').where('external_id', '=', 'lea@univ-nord.example').executeTakeFirstOrThrow());
  const logins = await db.withTenant(nord, (trx) => trx.selectFrom('usage_person_days').select('service').where('tenant_id', '=', nord).where('person_id', '=', lea.id).where('event', '=', 'login').execute());
  t.ok(logins.length >= 1 && logins.every((l) => l.service === 'portal'), 'the login is recorded for the person');
  t.ok((await countEvents(nord, { event: 'page.view', service: 'portal' })) >= 1, 'home page view');
  t.equal(await countEvents(nord, { event: 'page.view', service: 'directory' }), 1);
  t.equal(await countEvents(nord, { event: 'page.view', service: 'help' }), 1);
});

// A past day (within retention): 6 students (a login and a page each), 2 staff (a page each), 3 anonymous views: 17 events.
// Recorded through the recorder, at times of that day in Paris.
const DAY = addDays(dayIn(new Date()), -3);
const at = (hour: number) => new Date(`${DAY}T${String(hour).padStart(2, '0')}:30:00+01:00`);
const students = await Promise.all(Array.from({ length: 6 }, () => addPerson(db, nord, { affiliations: ['student'] })));
const staff = await Promise.all(Array.from({ length: 2 }, () => addPerson(db, nord, { affiliations: ['staff', 'member'] })));
{
  const recorder = createUsageRecorder(db, { flushMs: 60_000 });
  const rows: { person: string | null; event: UsageEventName; service: UsageService }[] = [
    ...students.flatMap((p) => [
      { person: p, event: 'login', service: 'portal' } as const,
      { person: p, event: 'page.view', service: 'documents' } as const,
    ]),
    ...staff.map((p) => ({ person: p, event: 'page.view', service: 'documents' }) as const),
    ...[1, 2, 3].map(() => ({ person: null, event: 'page.view', service: 'portal' }) as const),
  ];
  rows.forEach((r, i) => recorder.record({ tenantId: nord, personId: r.person, event: r.event, service: r.service, at: at(8 + (i % 10)) }));
  // 00:30 in Paris the next day (23:30 UTC in winter): not this day.
  recorder.record({ tenantId: nord, personId: students[0]!, event: 'search', service: 'directory', at: new Date(`${DAY}T23:30:00Z`) });
  await recorder.close();
}

const daily = () =>
  db.withTenant(nord, (trx) => trx.selectFrom('usage_daily').selectAll().where('tenant_id', '=', nord).where('day', '=', DAY).orderBy('service').orderBy('affiliation').orderBy('event').execute());

t.test('roll-up: counts and distinct people per service, affiliation and event, with totals; idempotent', async (t) => {
  await rollupDay(db, nord, DAY, 395);
  const rows = await daily();
  const find = (service: string, affiliation: string, event: string) => {
    const row = rows.find((r) => r.service === service && r.affiliation === affiliation && r.event === event);
    return row && { events: Number(row.events), people: row.people };
  };
  t.same(find('*', '*', '*'), { events: 17, people: 8 }, 'all events, 8 people (anonymous not counted as people)');
  t.same(find('documents', '*', '*'), { events: 8, people: 8 });
  t.same(find('documents', 'student', 'page.view'), { events: 6, people: 6 });
  t.same(find('documents', 'staff', '*'), { events: 2, people: 2 }, "several affiliations: counted under the first of the order (staff before member)");
  t.same(find('portal', 'anonymous', 'page.view'), { events: 3, people: 0 });
  t.notOk(rows.some((r) => r.event === 'search'), '23:30 UTC is the next day in Paris');
  await rollupDay(db, nord, DAY, 395);
  t.same(await daily(), rows, 'the same rows when run again');
  await rollupMonth(db, nord, DAY, 395);
  await rollupMonth(db, nord, DAY, 395);
  const month = await db.withTenant(nord, (trx) => trx.selectFrom('usage_monthly').selectAll().where('tenant_id', '=', nord).where('service', '=', '*').where('affiliation', '=', '*').where('event', '=', '*').execute());
  t.equal(month.length, 1);
  t.ok(month[0]!.people >= 8);
});

t.test('k-anonymity: groups of fewer than 5 people are withheld in the report and the CSV, and cannot be computed back', async (t) => {
  const report = await usageReport(db, portique.registry.bySlug('nord')!, { from: DAY, to: DAY });
  t.same(report.daily, [{ day: DAY, people: 8, events: 17 }]);
  const staffRow = report.byAffiliation.find((b) => b.key === 'staff')!;
  t.same(staffRow, { key: 'staff', events: 0, averageDailyPeople: null, withheldDays: 1 }, '2 staff: withheld');
  t.match(report.byAffiliation.find((b) => b.key === 'anonymous'), { events: 3 }, 'anonymous visitors are nobody identifiable');
  // The attack: the day's 17 events and 8 people, minus every affiliation shown.
  const shownAffiliations = report.byAffiliation.filter((b) => b.averageDailyPeople !== null || b.key === 'anonymous');
  const leftEvents = 17 - shownAffiliations.reduce((n, b) => n + b.events, 0);
  const leftPeople = 8 - shownAffiliations.reduce((n, b) => n + (b.averageDailyPeople ?? 0), 0);
  t.not(`${leftEvents}/${leftPeople}`, '2/2', "the total minus the other affiliations is not the staff's figures");
  t.same(report.byAffiliation.find((b) => b.key === 'student'), { key: 'student', events: 0, averageDailyPeople: null, withheldDays: 1 }, 'the students are withheld with them');

  const admin = await loginAs(app, nord, { eppn: 'ada@univ-nord.example', affiliations: ['staff'], admin: true });
  const csv = await get(app, `/admin/statistiques.csv?du=${DAY}&au=${DAY}`, admin);
  t.equal(csv.statusCode, 200);
  t.match(csv.headers['content-type'], /^text\/csv/);
  t.match(csv.body, new RegExp(`${DAY};\\*;\\*;\\*;17;8`), 'the day total');
  t.notMatch(csv.body, /;staff;/, 'no row about the 2 staff');
  // Along every line of the day's CUBE (a total and what adds up to it), the CSV leaves out no
  // row or at least two: never one that the total minus the others would give back.
  const shownKeys = new Set(csv.body.replace(/^\uFEFF/, '').trim().split('\r\n').slice(1).map((line) => line.split(';').slice(0, 4).join('|')));
  const cube = (await daily()).map((r) => ({ day: DAY, service: r.service, affiliation: r.affiliation, event: r.event, events: Number(r.events), people: r.people }));
  const existing = new Set(cube.map(cubeKey));
  let lines = 0;
  for (const line of cubeLines(cube, [])) {
    const rowsOfLine = line.filter((key) => existing.has(key));
    if (rowsOfLine.length < 2 || !existing.has(line[0]!)) continue;
    lines += 1;
    const missing = rowsOfLine.filter((key) => !shownKeys.has(key));
    if (missing.length === 1) t.fail(`only ${missing[0]} is left out of its line: the others give it back`);
  }
  t.ok(lines > 20, `${lines} lines checked`);
});

t.test('the CSV neutralises formulas', async (t) => {
  const day = addDays(DAY, -1);
  await db.withTenant(nord, (trx) =>
    trx.insertInto('usage_daily').values({ tenant_id: nord, day, service: 'portal', affiliation: '=HYPERLINK("http://evil.example","x")', event: '*', events: 10, people: 10 }).execute(),
  );
  const admin = await loginAs(app, nord, { eppn: 'ada@univ-nord.example', affiliations: ['staff'], admin: true });
  const csv = await get(app, `/admin/statistiques.csv?du=${day}&au=${day}`, admin);
  t.match(csv.body, /;"'=HYPERLINK\(""http:\/\/evil\.example"",""x""\)";/);
  t.equal(csvCell('+1'), "'+1");
  t.equal(csvCell('-2'), "'-2");
  t.equal(csvCell('@SUM(A1)'), "'@SUM(A1)");
  t.equal(csvCell('a;b'), '"a;b"');
});

t.test('the admin page: SVG charts with a text alternative, a period picker; 403 for others', async (t) => {
  const admin = await loginAs(app, nord, { eppn: 'ada@univ-nord.example', affiliations: ['staff'], admin: true });
  const res = await get(app, `/admin/statistiques?du=${DAY}&au=${DAY}`, admin);
  t.equal(res.statusCode, 200);
  t.match(res.body, /<svg class="chart"[^>]*role="img"[^>]*aria-labelledby="chart-daily-title"/);
  t.match(res.body, /<title id="chart-daily-title">Personnes actives par jour<\/title>/);
  t.match(res.body, new RegExp(`<th scope="row">${DAY}</th><td>8</td><td>17</td>`), 'the same figures as a table');
  t.match(res.body, /<form method="get" action="\/admin\/statistiques"/);
  t.match(res.body, /<input type="date" name="du"/);
  t.notMatch(res.body, /<script/);
  const bad = await get(app, '/admin/statistiques?du=2026-02-30&au=nope', admin);
  t.equal(bad.statusCode, 400);

  const student = await loginAs(app, nord, { eppn: 'lea@univ-nord.example', affiliations: ['student'] });
  t.equal((await get(app, '/admin/statistiques', student)).statusCode, 403);
  t.equal((await get(app, '/admin/statistiques.csv', student)).statusCode, 403);
  t.equal((await get(app, '/admin/statistiques')).statusCode, 303, 'anonymous: to the login');
});

t.test('regional figures: the same report per tenant, each from its own rows', async (t) => {
  const all = await regionalStatistics(db, portique.registry, { from: DAY, to: DAY });
  t.same(all.map((r) => r.slug), ['nord', 'sud']);
  t.same(all[0]!.report.daily, [{ day: DAY, people: 8, events: 17 }]);
  t.same(all[1]!.report.daily, [{ day: DAY, people: 0, events: 0 }]);
});

t.test('retention: raw events past it are purged, aggregates stay, an old day is not rolled up again', async (t) => {
  const purged = await purgeEvents(db, nord, 35, new Date(Date.now() + 40 * 86_400_000));
  t.ok(purged >= 12, `${purged} rows of per-person counts purged`);
  t.equal((await daily()).length > 0, true, 'aggregates kept');
  await t.rejects(rollupDay(db, nord, DAY, 35, new Date(Date.now() + 40 * 86_400_000)), RetentionError);
});
