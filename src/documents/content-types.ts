// What a stored file is served as. The type comes from the name's extension (never from the
// uploader's Content-Type header, which a browser or an attacker sets at will), and only types a
// browser shows passively may be opened inline; everything else, HTML and SVG first, is an
// attachment (src/documents/routes.tsx adds nosniff and a sandboxing CSP to every download).

const TYPES: Record<string, string> = {
  txt: 'text/plain; charset=utf-8', md: 'text/markdown; charset=utf-8', csv: 'text/csv; charset=utf-8',
  pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif',
  webp: 'image/webp', avif: 'image/avif', svg: 'image/svg+xml', html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8', xhtml: 'application/xhtml+xml', xml: 'application/xml', js: 'text/javascript',
  css: 'text/css', json: 'application/json', mp4: 'video/mp4', webm: 'video/webm', mp3: 'audio/mpeg',
  ogg: 'audio/ogg', wav: 'audio/wav', zip: 'application/zip', gz: 'application/gzip',
  odt: 'application/vnd.oasis.opendocument.text', ods: 'application/vnd.oasis.opendocument.spreadsheet',
  odp: 'application/vnd.oasis.opendocument.presentation',
  doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint', pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

/** Passive content: shown by the browser without running anything from it. */
const INLINE = new Set([
  'text/plain; charset=utf-8', 'application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif',
  'video/mp4', 'video/webm', 'audio/mpeg', 'audio/ogg', 'audio/wav',
]);

export function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf('.');
  const ext = dot >= 0 ? name.slice(dot + 1).toLowerCase() : '';
  return TYPES[ext] ?? 'application/octet-stream';
}

export const mayOpenInline = (contentType: string): boolean => INLINE.has(contentType);
