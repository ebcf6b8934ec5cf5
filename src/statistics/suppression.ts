// Which aggregate cells a report may show: k-anonymity with secondary suppression.
//
// Primary: a cell about fewer than k people (but at least one) is withheld. That alone is not
// enough when the table also shows a total: withhold only the 2 staff of a day, show the students,
// the anonymous visitors and the day's total, and staff = total - students - anonymous, for the
// events and (affiliations being exclusive) for the people. So every "line" (a total and the cells
// that add up to it) must hide none or at least two of its cells: when a line hides exactly one,
// one more is hidden, the smallest cell about people (an anonymous cell is about nobody, its
// people count is 0 whatever happens, so hiding it would not hide the people), the total only if
// nothing else can be. Hiding a cell may leave another line with one hidden cell: repeat until no
// line does (hiding only ever adds, so this ends).
//
// Lines: in one day's CUBE, each dimension (service, affiliation, event) with the other two fixed
// (at a value or at '*'); across a month, the days' totals and the month's total. The pattern is
// computed over whole months whatever period was asked, so two overlapping periods hide the same
// cells, and the page, the CSV and the operator's dashboard (the same report) agree.

export interface Cell {
  events: number;
  people: number;
}

export const isPrimarySuppressed = (cell: Cell, k: number) => cell.people > 0 && cell.people < k;

interface Line {
  total: number;
  parts: number[];
}

/**
 * The fixed point, on cells numbered 0..n-1: each line whose hidden count reaches exactly one is
 * queued, and gets a complement if it still has one hidden cell when its turn comes (counts only
 * grow). Linear in the lines' sizes: a 400-day export must not take seconds.
 */
function suppressIndexed(cells: readonly Cell[], lines: readonly Line[], k: number): Uint8Array {
  const hidden = new Uint8Array(cells.length);
  const memberOf: number[][] = Array.from({ length: cells.length }, () => []);
  lines.forEach((line, i) => {
    memberOf[line.total]!.push(i);
    for (const part of line.parts) memberOf[part]!.push(i);
  });
  const count = new Int32Array(lines.length);
  const queue: number[] = [];
  const hide = (cell: number) => {
    if (hidden[cell]) return;
    hidden[cell] = 1;
    for (const i of memberOf[cell]!) {
      count[i] = count[i]! + 1;
      if (count[i] === 1) queue.push(i);
    }
  };
  cells.forEach((cell, i) => {
    if (isPrimarySuppressed(cell, k)) hide(i);
  });
  for (let next = 0; next < queue.length; next++) {
    const i = queue[next]!;
    if (count[i] !== 1) continue;
    const complement = complementOf(lines[i]!);
    if (complement !== undefined) hide(complement);
  }
  return hidden;

  function complementOf({ total, parts }: Line): number | undefined {
    let best: number | undefined;
    for (const part of parts) {
      if (hidden[part] || cells[part]!.people === 0) continue;
      if (best === undefined || cells[part]!.events < cells[best]!.events) best = part;
    }
    if (best !== undefined) return best;
    if (!hidden[total]) return total;
    // The total is hidden already and only anonymous cells are left: hide one of them.
    return parts.find((part) => !hidden[part]);
  }
}

/**
 * The keys of the cells to withhold. `lines`: each a total's key first, then the keys of the
 * cells that add up to it; a key without a cell is a known zero (no row: nothing happened).
 */
export function suppressedCells(cells: ReadonlyMap<string, Cell>, lines: readonly (readonly string[])[], k: number): Set<string> {
  const keys = [...cells.keys()];
  const index = new Map(keys.map((key, i) => [key, i]));
  // A line whose total has no row is not one: a total is there whenever one of its cells is.
  const numbered = lines
    .filter((line) => line.length > 1 && index.has(line[0]!))
    .map((line) => ({ total: index.get(line[0]!)!, parts: line.slice(1).flatMap((key) => (index.has(key) ? [index.get(key)!] : [])) }));
  const hidden = suppressIndexed([...cells.values()], numbered, k);
  return new Set(keys.filter((_, i) => hidden[i]));
}

const ALL = '*';

export interface CubeRow {
  day: string;
  service: string;
  affiliation: string;
  event: string;
  events: number;
  people: number;
}

export const cubeKey = (r: Pick<CubeRow, 'day' | 'service' | 'affiliation' | 'event'>) => `${r.day}|${r.service}|${r.affiliation}|${r.event}`;
export const monthKey = (month: string) => `month:${month}`;

/**
 * The lines of daily CUBE rows (usage_daily) and of month totals (usage_monthly, '*' everywhere;
 * keyed by monthKey, month as YYYY-MM-01), as keys: the readable form of what suppressCube
 * numbers, with which the tests check and attack what the reports show.
 */
export function cubeLines(rows: readonly CubeRow[], months: readonly string[]): string[][] {
  const lines: string[][] = [];
  const byDay = new Map<string, CubeRow[]>();
  for (const row of rows) {
    const list = byDay.get(row.day);
    if (list) list.push(row);
    else byDay.set(row.day, [row]);
  }
  for (const [day, dayRows] of byDay) {
    const values = (pick: (r: CubeRow) => string) => [ALL, ...new Set(dayRows.map(pick).filter((v) => v !== ALL))];
    const services = values((r) => r.service);
    const affiliations = values((r) => r.affiliation);
    const events = values((r) => r.event);
    const key = (service: string, affiliation: string, event: string) => cubeKey({ day, service, affiliation, event });
    for (const a of affiliations) for (const e of events) lines.push(services.map((s) => key(s, a, e)));
    for (const s of services) for (const e of events) lines.push(affiliations.map((a) => key(s, a, e)));
    for (const s of services) for (const a of affiliations) lines.push(events.map((e) => key(s, a, e)));
  }
  for (const month of months) {
    const prefix = month.slice(0, 7);
    const days = [...byDay.keys()].filter((d) => d.startsWith(prefix)).sort();
    lines.push([monthKey(month), ...days.map((day) => cubeKey({ day, service: ALL, affiliation: ALL, event: ALL }))]);
  }
  return lines;
}

/**
 * What the reports call: the same lines as cubeLines, numbered without building keys, and each
 * month on its own (no line crosses months, so a month's pattern never depends on the others
 * read with it). `months`: the month totals ('*' everywhere), YYYY-MM-01.
 */
export function suppressCube(rows: readonly CubeRow[], months: readonly (Cell & { month: string })[], k: number): { rows: Uint8Array; months: Uint8Array } {
  const hiddenRows = new Uint8Array(rows.length);
  const hiddenMonths = new Uint8Array(months.length);
  const byMonth = new Map<string, number[]>();
  rows.forEach((row, i) => {
    const month = `${row.day.slice(0, 7)}-01`;
    const list = byMonth.get(month);
    if (list) list.push(i);
    else byMonth.set(month, [i]);
  });
  const monthIndex = new Map(months.map((m, i) => [m.month, i]));
  for (const month of new Set([...byMonth.keys(), ...monthIndex.keys()])) {
    const members = byMonth.get(month) ?? [];
    const cells: Cell[] = members.map((i) => rows[i]!);
    const lines: Line[] = [];
    const dayTotals: number[] = [];
    const byDay = new Map<string, number[]>();
    members.forEach((rowIndex, cell) => {
      const day = rows[rowIndex]!.day;
      const list = byDay.get(day);
      if (list) list.push(cell);
      else byDay.set(day, [cell]);
    });
    for (const dayCells of byDay.values()) {
      // The day's cube as a grid of cell numbers (-1: no row), '*' at index 0 of each dimension.
      const number = (values: Map<string, number>, value: string) => {
        let n = values.get(value);
        if (n === undefined) values.set(value, (n = values.size));
        return n;
      };
      const services = new Map([[ALL, 0]]);
      const affiliations = new Map([[ALL, 0]]);
      const events = new Map([[ALL, 0]]);
      const coordinates = dayCells.map((cell) => {
        const r = rows[members[cell]!]!;
        return [number(services, r.service), number(affiliations, r.affiliation), number(events, r.event)] as const;
      });
      const [S, A, E] = [services.size, affiliations.size, events.size];
      const grid = new Int32Array(S * A * E).fill(-1);
      const at = (s: number, a: number, e: number) => grid[(s * A + a) * E + e]!;
      dayCells.forEach((cell, i) => {
        const [s, a, e] = coordinates[i]!;
        grid[(s * A + a) * E + e] = cell;
      });
      if (at(0, 0, 0) >= 0) dayTotals.push(at(0, 0, 0));
      const line = (size: number, cellAt: (i: number) => number) => {
        const total = cellAt(0);
        if (total < 0) return;
        const parts: number[] = [];
        for (let i = 1; i < size; i++) {
          const cell = cellAt(i);
          if (cell >= 0) parts.push(cell);
        }
        if (parts.length > 0) lines.push({ total, parts });
      };
      for (let a = 0; a < A; a++) for (let e = 0; e < E; e++) line(S, (s) => at(s, a, e));
      for (let s = 0; s < S; s++) for (let e = 0; e < E; e++) line(A, (a) => at(s, a, e));
      for (let s = 0; s < S; s++) for (let a = 0; a < A; a++) line(E, (e) => at(s, a, e));
    }
    const m = monthIndex.get(month);
    if (m !== undefined) {
      cells.push(months[m]!);
      if (dayTotals.length > 0) lines.push({ total: cells.length - 1, parts: dayTotals });
    }
    const hidden = suppressIndexed(cells, lines, k);
    members.forEach((rowIndex, cell) => {
      hiddenRows[rowIndex] = hidden[cell]!;
    });
    if (m !== undefined) hiddenMonths[m] = hidden[cells.length - 1]!;
  }
  return { rows: hiddenRows, months: hiddenMonths };
}
