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
const TEXT_STEP = 8 * 1024;

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
  /** The first problems (ParseOptions.problemLimit), in line order. */
  problems: Problem[];
  /** Lines refused, all of them (problems keeps the first ones only). */
  bad: number;
  /** The file as a whole cannot be read: nothing else is reported. */
  fatal?: string;
  lines: number;
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

/** The file's text, decoded strictly as its pieces come: invalid UTF-8 stops with its byte offset. */
async function* decoded(pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, read: { bytes: number }): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  for await (const piece of pieces) {
    if (read.bytes + piece.length > MAX_CSV_BYTES) throw new FileError(`Le fichier dépasse ${MAX_CSV_BYTES / 1024 / 1024} Mo.`);
    // A little text at a time: the parser turns all it is given into records at once, and they
    // wait for the caller (who may be writing to the database) in its buffer.
    for (let offset = 0; offset < piece.length; offset += TEXT_STEP) {
      const bytes = piece.subarray(offset, offset + TEXT_STEP);
      let text: string;
      try {
        text = decoder.decode(bytes, { stream: true });
      } catch {
        throw new EncodingError(read.bytes);
      }
      read.bytes += bytes.length;
      if (text) yield text;
    }
  }
  let rest: string;
  try {
    rest = decoder.decode();
  } catch {
    throw new EncodingError(read.bytes);
  }
  if (rest) yield rest;
}

class EncodingError extends Error {
  constructor(readonly near: number) {
    super('encoding');
  }
}

/** Something about the file as a whole (its size): the message is the run's error. */
class FileError extends Error {}

function delimiterOf(text: string): string {
  const firstLine = text.slice(0, 4096).split(/\r?\n/)[0] ?? '';
  return (firstLine.match(/;/g)?.length ?? 0) >= (firstLine.match(/,/g)?.length ?? 0) ? ';' : ',';
}

export interface ParseOptions {
  /** Called for each valid line, in order, awaited (the parser waits: the file is streamed). */
  onPerson: (person: CsvPerson) => Promise<void> | void;
  /** How many problems the result keeps (the first ones); ParsedCsv.bad counts them all. */
  problemLimit?: number;
}

/**
 * Parses the file as its pieces come (a Buffer's subarrays, or pieces read from storage): only
 * the line being read is held, never the file or its people. The parser keeps nothing per line,
 * so an identifier found on several lines is not its concern: the caller, which keeps the
 * people somewhere (imports.ts: a staging table), finds those.
 */
export async function parseCsv(pieces: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: ParseOptions): Promise<ParsedCsv> {
  const limit = options.problemLimit ?? 1000;
  const problems: Problem[] = [];
  let bad = 0;
  const refuse = (problem: Problem) => {
    bad++;
    if (problems.length < limit) problems.push(problem);
  };
  const read = { bytes: 0 };
  const fatal = (message: string, lines: number): ParsedCsv => ({ problems: [], bad: 0, lines, fatal: message });
  let columns: Column[] | undefined;
  let width = 0;
  let lines = 0;
  try {
    // The delimiter is read from the header line: text is taken until its end before parsing.
    const texts = decoded(pieces, read);
    let head = '';
    for (let next = await texts.next(); !next.done; next = await texts.next()) {
      head += next.value;
      if (head.includes('\n') || head.length >= 4096) break;
    }
    if (read.bytes === 0) return fatal('Le fichier est vide.', 0);
    const parser = parse({
      delimiter: delimiterOf(head),
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      info: true,
      max_record_size: 64 * 1024,
    });
    parser.on('skip', (error: CsvError) => {
      refuse({ line: (error as CsvError & { lines?: number }).lines, reason: `guillemets mal fermés ou champ invalide (${error.message})` });
    });
    const source = Readable.from(
      (async function* () {
        yield head;
        yield* texts;
      })(),
    );
    source.on('error', (error) => parser.destroy(error));
    source.pipe(parser);
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = info.lines;
      lines = line;
      if (!columns) {
        const header = headerOf(record);
        if ('fatal' in header) {
          source.destroy();
          return fatal(header.fatal, lines);
        }
        columns = header.columns;
        width = record.length;
        continue;
      }
      if (record.length !== width) {
        refuse({ line, reason: `${record.length} colonnes au lieu de ${width}` });
        continue;
      }
      const person = personOf(record, columns, line, refuse);
      if (person) await options.onPerson(person);
    }
  } catch (error) {
    if (error instanceof EncodingError) return fatal(`Le fichier n'est pas en UTF-8 (octet ${error.near} environ) : enregistrez-le en « CSV UTF-8 ».`, lines);
    if (error instanceof FileError) return fatal(error.message, lines);
    throw error;
  }
  if (!columns) return fatal("Le fichier n'a pas de ligne d'en-tête.", lines);
  return { problems, bad, lines };
}

type Column = { index: number; target: keyof CsvPerson | 'attribute'; name: string };

function headerOf(record: string[]): { columns: Column[] } | { fatal: string } {
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

function personOf(record: string[], columns: Column[], line: number, refuse: (problem: Problem) => void): CsvPerson | undefined {
  const person: CsvPerson = { line, externalId: '', familyName: '', givenName: '', displayName: '', mail: null, affiliations: [], affectation: null, title: null, officePhone: null, redList: false, groups: [], attributes: {} };
  const bad = (reason: string) => {
    refuse({ line, reason });
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
