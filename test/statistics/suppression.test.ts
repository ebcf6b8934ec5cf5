// Secondary suppression, attacked: whoever reads a report knows every shown cell, that a missing
// cell is zero, that anonymous cells are about 0 people, that events add up along every line and
// people along affiliations (each person has one). They solve every line with one unknown left,
// again and again. With primary suppression only, that gives withheld figures back; with
// suppressedCells, never one.
import t from 'tap';
import { cubeKey, cubeLines, isPrimarySuppressed, monthKey, suppressCube, suppressedCells, type Cell, type CubeRow } from '../../src/statistics/suppression.js';

type Known = Map<string, number>;

/** What the line-by-line attacker learns: every hidden cell's events (and people) it can compute. */
function attack(cells: Map<string, Cell>, lines: string[][], hidden: Set<string>): { events: Known; people: Known } {
  const events: Known = new Map();
  const people: Known = new Map();
  for (const [key, cell] of cells) {
    if (!hidden.has(key)) {
      events.set(key, cell.events);
      people.set(key, cell.people);
    } else if (key.split('|')[2] === 'anonymous') people.set(key, 0);
  }
  const value = (known: Known, key: string) => (cells.has(key) ? known.get(key) : 0);
  const solve = (known: Known, line: string[]) => {
    if (line.length < 2 || !cells.has(line[0]!)) return false;
    const unknown = line.filter((key) => value(known, key) === undefined);
    if (unknown.length !== 1) return false;
    const [total, ...parts] = line;
    const sumParts = parts.reduce((n, key) => n + (value(known, key) ?? 0), 0);
    const missing = unknown[0]!;
    known.set(missing, missing === total ? sumParts : known.get(total!)! - sumParts);
    return true;
  };
  const isAffiliationLine = (line: string[]) => line.length > 1 && !line[0]!.startsWith('month:') && line[0]!.split('|')[2] === '*' && line.slice(1).every((key) => key.split('|')[1] === line[0]!.split('|')[1] && key.split('|')[3] === line[0]!.split('|')[3]);
  for (let progress = true; progress; ) {
    progress = false;
    for (const line of lines) {
      if (solve(events, line)) progress = true;
      if (isAffiliationLine(line) && solve(people, line)) progress = true;
    }
  }
  const learnt = (known: Known) => new Map([...known].filter(([key]) => hidden.has(key)));
  return { events: learnt(events), people: learnt(people) };
}

/** A day's CUBE from people's events, as the roll-up makes it. */
function cube(day: string, events: { person: string | null; affiliation: string; service: string; event: string }[]): CubeRow[] {
  const groups = new Map<string, { events: number; people: Set<string> }>();
  for (const e of events) {
    for (const s of [e.service, '*'])
      for (const a of [e.affiliation, '*'])
        for (const ev of [e.event, '*']) {
          const key = cubeKey({ day, service: s, affiliation: a, event: ev });
          const group = groups.get(key) ?? { events: 0, people: new Set<string>() };
          group.events += 1;
          if (e.person) group.people.add(e.person);
          groups.set(key, group);
        }
  }
  return [...groups].map(([key, g]) => {
    const [d, service, affiliation, event] = key.split('|') as [string, string, string, string];
    return { day: d, service, affiliation, event, events: g.events, people: g.people.size };
  });
}

const toCells = (rows: CubeRow[], months: { month: string; events: number; people: number }[] = []) =>
  new Map<string, Cell>([...rows.map((r) => [cubeKey(r), r] as const), ...months.map((m) => [monthKey(m.month), m] as const)]);

t.test('two staff among students: the total minus the others gives them away without secondary suppression', async (t) => {
  const day = '2026-03-10';
  const rows = cube(day, [
    ...Array.from({ length: 6 }, (_, i) => ({ person: `s${i}`, affiliation: 'student', service: 'documents', event: 'page.view' })),
    ...Array.from({ length: 2 }, (_, i) => ({ person: `f${i}`, affiliation: 'staff', service: 'documents', event: 'page.view' })),
    ...Array.from({ length: 3 }, () => ({ person: null, affiliation: 'anonymous', service: 'portal', event: 'page.view' })),
  ]);
  const cells = toCells(rows);
  const lines = cubeLines(rows, []);
  const staff = cubeKey({ day, service: '*', affiliation: 'staff', event: '*' });

  const primaryOnly = new Set([...cells].filter(([, c]) => isPrimarySuppressed(c, 5)).map(([key]) => key));
  t.ok(primaryOnly.has(staff));
  const leaked = attack(cells, lines, primaryOnly);
  t.equal(leaked.events.get(staff), 2, 'the attack works on primary suppression alone: 2 staff events');
  t.equal(leaked.people.get(staff), 2, 'and 2 staff people');

  const hidden = suppressedCells(cells, lines, 5);
  t.ok(hidden.has(staff));
  t.ok(hidden.has(cubeKey({ day, service: '*', affiliation: 'student', event: '*' })), 'the students are hidden with them (the anonymous cell would not hide the people)');
  t.notOk(hidden.has(cubeKey({ day, service: '*', affiliation: '*', event: '*' })), 'the day total stays');
  const learnt = attack(cells, lines, hidden);
  t.same([...learnt.events.keys(), ...learnt.people.keys()], [], 'nothing withheld can be computed');
});

t.test('a withheld day inside a shown month total: another day is withheld too', async (t) => {
  const all = { service: '*', affiliation: '*', event: '*' };
  const rows: CubeRow[] = [
    { day: '2026-03-01', ...all, events: 40, people: 9 },
    { day: '2026-03-02', ...all, events: 3, people: 2 },
    { day: '2026-03-03', ...all, events: 42, people: 7 },
  ];
  const months = [{ month: '2026-03-01', events: 85, people: 12 }];
  const cells = toCells(rows, months);
  const lines = cubeLines(rows, ['2026-03-01']);
  const primaryOnly = new Set([cubeKey(rows[1]!)]);
  t.equal(attack(cells, lines, primaryOnly).events.get(cubeKey(rows[1]!)), 3, 'month - the other days');
  const hidden = suppressedCells(cells, lines, 5);
  t.same([...hidden].sort(), [cubeKey(rows[0]!), cubeKey(rows[1]!)].sort(), 'the smaller other day goes with it, the month stays');
  t.same([...attack(cells, lines, hidden).events.keys()], []);
});

t.test('random days of a small tenant: whatever the line-by-line attacker does, it learns no withheld figure', async (t) => {
  // A seeded generator: the same cases every run.
  let seed = 42;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const pick = <T>(list: T[]) => list[Math.floor(random() * list.length)]!;
  let cases = 0;
  let primaryLeaks = 0;
  for (let round = 0; round < 60; round++) {
    const rows: CubeRow[] = [];
    const days = ['2026-04-01', '2026-04-02', '2026-04-03'];
    let monthEvents = 0;
    for (const day of days) {
      const people = Array.from({ length: 2 + Math.floor(random() * 14) }, (_, i) => ({ id: `p${i}`, affiliation: pick(['student', 'student', 'staff', 'teacher']) }));
      const events = Array.from({ length: 10 + Math.floor(random() * 40) }, () => {
        const who = random() < 0.15 ? null : pick(people);
        return { person: who?.id ?? null, affiliation: who?.affiliation ?? 'anonymous', service: pick(['portal', 'documents', 'directory']), event: pick(['page.view', 'search', 'download']) };
      });
      monthEvents += events.length;
      rows.push(...cube(day, events));
    }
    const months = [{ month: '2026-04-01', events: monthEvents, people: 20 }];
    const cells = toCells(rows, months);
    const lines = cubeLines(rows, ['2026-04-01']);
    const primaryOnly = new Set([...cells].filter(([, c]) => isPrimarySuppressed(c, 5)).map(([key]) => key));
    const leaked = attack(cells, lines, primaryOnly);
    if (leaked.events.size + leaked.people.size > 0) primaryLeaks += 1;
    const hidden = suppressedCells(cells, lines, 5);
    for (const key of primaryOnly) if (!hidden.has(key)) t.fail(`${key} is under the threshold and shown`);
    const learnt = attack(cells, lines, hidden);
    if (learnt.events.size + learnt.people.size > 0) t.fail(`round ${round}: learnt ${[...learnt.events.keys(), ...learnt.people.keys()].join(', ')}`);
    // What the reports call (numbered lines, month by month): the same guarantees.
    const byCube = suppressCube(rows, months, 5);
    const byReports = new Set([...rows.filter((_, i) => byCube.rows[i]).map(cubeKey), ...months.filter((_, i) => byCube.months[i]).map((m) => monthKey(m.month))]);
    for (const key of primaryOnly) if (!byReports.has(key)) t.fail(`reports: ${key} is under the threshold and shown`);
    const learntByReports = attack(cells, lines, byReports);
    if (learntByReports.events.size + learntByReports.people.size > 0) t.fail(`round ${round}, reports: learnt ${[...learntByReports.events.keys(), ...learntByReports.people.keys()].join(', ')}`);
    cases += 1;
  }
  t.equal(cases, 60);
  t.ok(primaryLeaks > 30, `primary suppression alone leaks in most cases (${primaryLeaks} of 60): the attack is a real one`);
});

t.test('nothing to withhold: nothing withheld; a line with one hidden cell and only a total left hides the total', async (t) => {
  const all = { service: '*', affiliation: '*', event: '*' };
  const big: CubeRow[] = [
    { day: '2026-05-01', ...all, events: 30, people: 10 },
    { day: '2026-05-01', service: '*', affiliation: 'student', event: '*', events: 30, people: 10 },
  ];
  t.same([...suppressedCells(toCells(big), cubeLines(big, []), 5)], []);
  const rows: CubeRow[] = [
    { day: '2026-05-02', ...all, events: 7, people: 2 },
    { day: '2026-05-02', service: '*', affiliation: 'staff', event: '*', events: 4, people: 2 },
    { day: '2026-05-02', service: '*', affiliation: 'anonymous', event: '*', events: 3, people: 0 },
  ];
  const hidden = suppressedCells(toCells(rows), cubeLines(rows, []), 5);
  t.ok(hidden.has(cubeKey(rows[0]!)) && hidden.has(cubeKey(rows[1]!)));
});
