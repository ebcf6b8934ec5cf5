// CSV for spreadsheets: ';' separated (what a French Excel expects), UTF-8 with a BOM, CRLF.
// A cell a spreadsheet would read as a formula (=, +, -, @, tab, CR first) is prefixed with a
// quote, so an affiliation or a service name from an IdP can never run as one.
const FORMULA = /^[=+\-@\t\r]/;

export function csvCell(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const safe = FORMULA.test(value) ? `'${value}` : value;
  return /[";\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(header: string[], rows: (string | number | null)[][]): string {
  return `\uFEFF${[header, ...rows].map((row) => row.map(csvCell).join(';')).join('\r\n')}\r\n`;
}
