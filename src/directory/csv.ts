// The CSV import format, parsed as a stream: UTF-8 with or without BOM, ';' or ',' (read from
// the header line), quoted fields per RFC 4180. Every bad line is reported with its number and
// why; a problem with the whole file (encoding, header) is fatal.
//
// Header (names case-insensitive; id, sn and givenName required):
//   id                       the person's identifier (eduPersonPrincipalName), unique in the file
//   sn, givenName            family and given name
//   displayName              default "givenName sn"
//   mail                     institutional address
//   eduPersonAffiliation     values separated by '|': student|member
//   supannEntiteAffectation  affectation label
//   title, telephoneNumber
//   supannListeRouge         oui/non, true/false, 1/0 (empty: non)
//   groups                   imported group codes separated by '|': L3INF|CM-ALGO
//   any other column         kept as an attribute of that name (values separated by '|'),
//                            which dynamic groups can use (supannEtuEtape=L3INF)
import { parse, type CsvError } from 'csv-parse';
import { Readable } from 'node:stream';

export const MAX_CSV_BYTES = 40 * 1024 * 1024;

export interface CsvPerson {
  line: number;
  externalId: string;
  familyName: string;
  givenName: string;
  displayName: string;
  mail: string | null;
  affiliations: string[];
  affectation: string | null;
  title: string | null;
  officePhone: string | null;
  redList: boolean;
  groups: string[];
  attributes: Record<string, string[]>;
}

export interface Problem {
  line?: number;
  reason: string;
}

export interface ParsedCsv {
  people: CsvPerson[];
  problems: Problem[];
  /** The file as a whole cannot be read: nothing else is reported. */
  fatal?: string;
  lines: number;
  /** Identifiers found on more than one line: none of their lines is applied. */
  duplicated?: Set<string>;
}

const KNOWN: Record<string, keyof CsvPerson | 'skip'> = {
  id: 'externalId',
  sn: 'familyName',
  givenname: 'givenName',
  displayname: 'displayName',
  mail: 'mail',
  edupersonaffiliation: 'affiliations',
  supannentiteaffectation: 'affectation',
  title: 'title',
  telephonenumber: 'officePhone',
  supannlisterouge: 'redList',
  groups: 'groups',
};
const REQUIRED = ['id', 'sn', 'givenname'];
const AFFILIATIONS = new Set(['student', 'faculty', 'staff', 'employee', 'member', 'affiliate', 'alum', 'alumni', 'library-walk-in', 'researcher', 'retired', 'emeritus', 'teacher', 'registered-reader']);
const TRUE = new Set(['oui', 'true', '1', 'yes', 'o', 'y']);
const FALSE = new Set(['non', 'false', '0', 'no', 'n', '']);
const MAIL = /^[^@\s<>"]{1,64}@[^@\s<>"]{1,253}$/;
const GROUP_CODE = /^[\p{L}\p{N}][\p{L}\p{N}._:-]{0,99}$/u;

/** Strings of the file, decoded strictly: invalid UTF-8 stops with its byte offset. */
async function* decoded(body: Buffer): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  const step = 1 << 20;
  for (let offset = 0; offset < body.length; offset += step) {
    const chunk = body.subarray(offset, offset + step);
    try {
      yield decoder.decode(chunk, { stream: offset + step < body.length });
    } catch {
      throw new EncodingError(offset);
    }
  }
}

class EncodingError extends Error {
  constructor(readonly near: number) {
    super('encoding');
  }
}

function delimiterOf(body: Buffer): string {
  const firstLine = body.subarray(0, Math.min(body.length, 4096)).toString('utf8').split(/\r?\n/)[0] ?? '';
  return (firstLine.match(/;/g)?.length ?? 0) >= (firstLine.match(/,/g)?.length ?? 0) ? ';' : ',';
}

export interface ParseOptions {
  /**
   * Called for each valid line, in order, awaited (the parser waits: the file is streamed). Given
   * it, the people are not kept in the result. A line whose identifier comes again later is
   * passed too: duplicates are known at the end (ParsedCsv.duplicated).
   */
  onPerson?: (person: CsvPerson) => Promise<void> | void;
}

export async function parseCsv(body: Buffer, options: ParseOptions = {}): Promise<ParsedCsv> {
  if (body.length > MAX_CSV_BYTES) return { people: [], problems: [], lines: 0, fatal: `Le fichier dépasse ${MAX_CSV_BYTES / 1024 / 1024} Mo.` };
  if (body.length === 0) return { people: [], problems: [], lines: 0, fatal: 'Le fichier est vide.' };
  const problems: Problem[] = [];
  const people: CsvPerson[] = [];
  const seen = new Map<string, number>();
  let columns: { index: number; target: keyof CsvPerson | 'attribute'; name: string }[] | undefined;
  let width = 0;
  let lines = 0;
  const parser = parse({
    delimiter: delimiterOf(body),
    bom: true,
    relax_column_count: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
    max_record_size: 64 * 1024,
  });
  parser.on('skip', (error: CsvError) => {
    problems.push({ line: (error as CsvError & { lines?: number }).lines, reason: `guillemets mal fermés ou champ invalide (${error.message})` });
  });
  const source = Readable.from(decoded(body));
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = info.lines;
      lines = line;
      if (!columns) {
        const header = headerOf(record);
        if ('fatal' in header) return { people: [], problems: [], lines, fatal: header.fatal };
        columns = header.columns;
        width = record.length;
        continue;
      }
      if (record.length !== width) {
        problems.push({ line, reason: `${record.length} colonnes au lieu de ${width}` });
        continue;
      }
      const person = personOf(record, columns, line, problems);
      if (!person) continue;
      const first = seen.get(person.externalId);
      if (first !== undefined) {
        problems.push({ line, reason: `identifiant « ${person.externalId} » en double (déjà ligne ${first})` });
        continue;
      }
      seen.set(person.externalId, line);
      if (options.onPerson) await options.onPerson(person);
      else people.push(person);
    }
  } catch (error) {
    if (error instanceof EncodingError) {
      return { people: [], problems: [], lines, fatal: `Le fichier n'est pas en UTF-8 (octet ${error.near} environ) : enregistrez-le en « CSV UTF-8 ».` };
    }
    throw error;
  }
  if (!columns) return { people: [], problems: [], lines, fatal: "Le fichier n'a pas de ligne d'en-tête." };
  // A duplicate makes both lines suspect: the first is refused too, so nothing is half-applied.
  const duplicated = new Set(problems.filter((p) => p.reason.includes('en double')).map((p) => /« (.*) »/.exec(p.reason)![1]!));
  return { people: people.filter((p) => !duplicated.has(p.externalId)), problems, lines, duplicated };
}

function headerOf(record: string[]): { columns: { index: number; target: keyof CsvPerson | 'attribute'; name: string }[] } | { fatal: string } {
  const names = record.map((n) => n.trim());
  const lower = names.map((n) => n.toLowerCase());
  const missing = REQUIRED.filter((r) => !lower.includes(r));
  if (missing.length) {
    return { fatal: `En-tête incorrect : colonne(s) obligatoire(s) absente(s) : ${missing.map((m) => (m === 'givenname' ? 'givenName' : m)).join(', ')} (en-tête lu : ${names.join(' | ').slice(0, 300)}).` };
  }
  const dup = lower.find((n, i) => lower.indexOf(n) !== i);
  if (dup) return { fatal: `En-tête incorrect : la colonne « ${dup} » apparaît deux fois.` };
  const columns = [];
  for (const [index, name] of names.entries()) {
    const known = KNOWN[name.toLowerCase()];
    if (known && known !== 'skip') columns.push({ index, target: known, name });
    else if (/^[a-zA-Z][a-zA-Z0-9]{0,63}$/.test(name)) columns.push({ index, target: 'attribute' as const, name });
    else return { fatal: `En-tête incorrect : « ${name.slice(0, 80)} » (colonne ${index + 1}) n'est ni une colonne connue ni un nom d'attribut.` };
  }
  return { columns };
}

const list = (value: string) => value.split('|').map((v) => v.trim()).filter(Boolean);

function personOf(record: string[], columns: { index: number; target: keyof CsvPerson | 'attribute'; name: string }[], line: number, problems: Problem[]): CsvPerson | undefined {
  const person: CsvPerson = { line, externalId: '', familyName: '', givenName: '', displayName: '', mail: null, affiliations: [], affectation: null, title: null, officePhone: null, redList: false, groups: [], attributes: {} };
  const bad = (reason: string) => {
    problems.push({ line, reason });
    return undefined;
  };
  for (const { index, target, name } of columns) {
    const value = (record[index] ?? '').trim();
    if (value.length > 1000) return bad(`« ${name} » dépasse 1000 caractères`);
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(value)) return bad(`« ${name} » contient des caractères de contrôle`);
    switch (target) {
      case 'externalId':
      case 'familyName':
      case 'givenName':
      case 'displayName':
        person[target] = value;
        break;
      case 'mail':
        if (value && !MAIL.test(value)) return bad(`adresse de messagerie invalide « ${value.slice(0, 100)} »`);
        person.mail = value || null;
        break;
      case 'affiliations': {
        const values = list(value);
        const unknown = values.filter((v) => !AFFILIATIONS.has(v));
        if (unknown.length) return bad(`eduPersonAffiliation inconnue : ${unknown.join(', ').slice(0, 100)}`);
        person.affiliations = [...new Set(values)];
        break;
      }
      case 'affectation':
      case 'title':
      case 'officePhone':
        person[target] = value || null;
        break;
      case 'redList':
        if (TRUE.has(value.toLowerCase())) person.redList = true;
        else if (!FALSE.has(value.toLowerCase())) return bad(`supannListeRouge doit valoir oui ou non, pas « ${value.slice(0, 20)} »`);
        break;
      case 'groups': {
        const codes = list(value);
        const wrong = codes.find((c) => !GROUP_CODE.test(c));
        if (wrong) return bad(`code de groupe invalide « ${wrong.slice(0, 100)} »`);
        person.groups = [...new Set(codes)];
        break;
      }
      case 'attribute':
        if (value) person.attributes[name] = list(value);
        break;
      default:
        break;
    }
  }
  if (!person.externalId) return bad('identifiant (id) vide');
  if (!person.familyName) return bad('nom (sn) vide');
  if (!person.givenName) return bad('prénom (givenName) vide');
  if (!person.displayName) person.displayName = `${person.givenName} ${person.familyName}`;
  return person;
}
