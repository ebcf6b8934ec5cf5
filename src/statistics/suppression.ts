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

/**
 * The keys of the cells to withhold. `lines`: each a total's key first, then the keys of the
 * cells that add up to it; a key without a cell is a known zero (no row: nothing happened).
 */
export function suppressedCells(cells: ReadonlyMap<string, Cell>, lines: readonly (readonly string[])[], k: number): Set<string> {
  const hidden = new Set<string>();
  for (const [key, cell] of cells) if (isPrimarySuppressed(cell, k)) hidden.add(key);
  // A line whose total has no row is not one: a total is there whenever one of its cells is.
  const present = lines
    .filter((line) => line.length > 1 && cells.has(line[0]!))
    .map((line) => ({ total: line[0]!, parts: line.slice(1).filter((key) => cells.has(key)) }));
  let changed = hidden.size > 0;
  while (changed) {
    changed = false;
    for (const line of present) {
      let count = hidden.has(line.total) ? 1 : 0;
      for (const key of line.parts) if (hidden.has(key)) count += 1;
      if (count !== 1) continue;
      const complement = complementOf(line.total, line.parts);
      if (complement === undefined) continue;
      hidden.add(complement);
      changed = true;
    }
  }
  return hidden;

  function complementOf(total: string, parts: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestEvents = Infinity;
    for (const key of parts) {
      if (hidden.has(key)) continue;
      const cell = cells.get(key)!;
      if (cell.people === 0) continue;
      if (cell.events < bestEvents || (cell.events === bestEvents && key < best!)) {
        best = key;
        bestEvents = cell.events;
      }
    }
    if (best !== undefined) return best;
    if (!hidden.has(total)) return total;
    // The total is hidden already and only anonymous cells are left: hide one of them.
    return parts.find((key) => !hidden.has(key));
  }
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
 * keyed by monthKey, month as YYYY-MM-01).
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
