// File and folder names. Any Unicode name a person gives is kept for display; what could escape a
// folder, hide characters or spoof an extension is neutralised:
// - NFC, so "é" typed two ways is one name (and one uniqueness key);
// - path separators (/ \ and their look-alikes) become "_": a name is never a path;
// - control characters (C0, C1, DEL) and bidi controls (U+202A-202E, U+2066-2069, LRM/RLM/ALM)
//   are removed: "invoice\u202Efdp.exe" cannot display as "invoiceexe.pdf";
// - "." and ".." and names of dots only are refused; leading and trailing spaces, and trailing
//   dots (Windows drops them, turning "a.exe." into "a.exe" on download), are trimmed;
// - Windows device names (CON, NUL, COM1...), with or without an extension, get a "_" prefix.
import { BadRequestError } from '../platform/errors.js';

export const MAX_NAME_LENGTH = 255;

const SEPARATORS = /[/\\\u2215\u2044\u29F8\uFF0F\uFF3C]/g;
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001F\u007F-\u009F]/g;
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

/** The name to store, or a BadRequestError saying why none can be made of it. */
export function cleanName(raw: unknown): string {
  if (typeof raw !== 'string') throw new BadRequestError('Le nom est obligatoire.');
  let name = raw.normalize('NFC').replace(CONTROLS, '').replace(BIDI, '').replace(SEPARATORS, '_');
  name = name.trim().replace(/[. ]+$/, '');
  if (name === '' || /^\.+$/.test(name)) throw new BadRequestError('Ce nom ne peut pas être utilisé.');
  if (RESERVED.test(name)) name = `_${name}`;
  if ([...name].length > MAX_NAME_LENGTH) {
    // Keep the extension: cut the stem.
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    name = [...name.slice(0, name.length - ext.length)].slice(0, MAX_NAME_LENGTH - [...ext].length).join('') + ext;
  }
  return name;
}

/** "rapport.pdf" -> "rapport (2).pdf": a free name next to a taken one. */
export function numberedName(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? `${name.slice(0, dot)} (${n})${name.slice(dot)}` : `${name} (${n})`;
}
