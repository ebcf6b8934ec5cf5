// Who sees what of whom in the white pages. Pure: the declaration's rules, the viewer and the
// person in, the fields to show out. The name is always shown; red-listed and deactivated people
// are filtered out before (the repository never returns them to a non-admin).
import type { Declaration } from '../tenancy/declaration.js';
import { DIRECTORY_FIELDS } from '../tenancy/declaration.js';

export type DirectoryField = (typeof DIRECTORY_FIELDS)[number];

export interface Viewer {
  readonly personId: string;
  /** eduPersonAffiliation values and derived roles of the viewer. */
  readonly kinds: readonly string[];
  readonly admin: boolean;
}

export function visibleFields(declaration: Declaration, viewer: Viewer, person: { id: string; kinds: readonly string[] }): Set<DirectoryField> {
  if (viewer.admin || viewer.personId === person.id) return new Set(DIRECTORY_FIELDS);
  const matches = (pattern: string, kinds: readonly string[]) => pattern === '*' || kinds.includes(pattern);
  const rule = declaration.directory?.visibility?.find((r) => matches(r.viewer, viewer.kinds) && matches(r.target, person.kinds));
  return new Set(rule ? rule.fields : DIRECTORY_FIELDS);
}

export type EditableField = 'photo' | 'preferredMail' | 'phoneVisibility';

export function editableFields(declaration: Declaration): Set<EditableField> {
  return new Set(declaration.directory?.editable ?? ['photo', 'preferredMail', 'phoneVisibility']);
}
