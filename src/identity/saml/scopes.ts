// shibmd:Scope with regexp="true": an IdP may assert scoped values (eduPersonPrincipalName,
// eduPersonScopedAffiliation) whose scope matches a regular expression from its metadata, e.g.
// "^([a-z0-9-]+\.)?univ-nord\.fr$" for every sub-domain of univ-nord.fr.
//
// The pattern comes from outside (a federation's metadata) and is run by V8's backtracking
// engine on values an IdP sends, so it must not be able to take exponential time (ReDoS), nor
// to match more than the whole scope. Hence:
// - it is always anchored: compiled as ^(?:pattern)$ (a leading ^ and trailing $ are dropped
//   first), so "univ-nord\.fr" never matches "evil-univ-nord.fr.attacker.example";
// - only a small grammar is accepted, the one scope patterns are written in: letters, digits,
//   '-', '_', '@', escaped punctuation (\. \- ...), '.', character classes of those (ranges and
//   negation allowed), the quantifiers ? * + {n} {n,m} {n,} on a single character or class,
//   and groups that are not nested, quantified by '?' only, with alternatives. No backreference,
//   lookaround, \d-like class or nested quantifier: with no quantified group but '?', a
//   quantifier never applies to something that itself repeats (star height 1), which is what
//   makes backtracking exponential;
// - the choices left still multiply: a variable repetition (* + {n,m} {n,}) can take up to 254
//   lengths of a scope of at most 253 characters (a DNS name; longer values are refused before
//   matching), an optional part ('?') 2 ways, a group of k alternatives k ways. Backtracking
//   tries at most the product of these, each try no longer than pattern and scope together; the
//   product must stay within MAX_CHOICES (65,536: two variable repetitions, or one and eight
//   optional parts...), some 30 million elementary steps at the very worst, for patterns that in
//   practice need a few hundred;
// - patterns longer than MAX_PATTERN characters are refused.
// A refused pattern is left out of the IdP's scopes (logged, and a warning at `tenants apply`):
// values with a scope it would have allowed are then refused, never accepted.

export const MAX_PATTERN = 200;
export const MAX_SCOPE = 253;
export const MAX_CHOICES = 65_536;

export class ScopePatternError extends Error {
  override readonly name = 'ScopePatternError';
}

const LITERAL = /[a-zA-Z0-9_@-]/;
const ESCAPABLE = /[.\-_@/+*?()[\]{}|^$\\]/;
const CLASS_CHAR = /[a-zA-Z0-9._@-]/;

/** Compiles a shibmd:Scope regexp into an anchored, case-insensitive RegExp, or throws why it is refused. */
export function compileScopePattern(source: string): RegExp {
  let pattern = source.trim();
  if (pattern.length === 0) throw new ScopePatternError('empty pattern');
  if (pattern.length > MAX_PATTERN) throw new ScopePatternError(`longer than ${MAX_PATTERN} characters`);
  if (pattern.startsWith('^')) pattern = pattern.slice(1);
  if (pattern.endsWith('$') && !pattern.endsWith('\\$')) pattern = pattern.slice(0, -1);

  let i = 0;
  let choices = 1;
  let branches = 1;
  let topBranches = 1;
  let depth = 0;
  let groupOpen = -1;
  const choose = (ways: number) => {
    choices *= ways;
    if (choices > MAX_CHOICES) fail(`too many ways to match (more than ${MAX_CHOICES}: fewer repetitions or optional parts)`);
  };
  const fail = (why: string): never => {
    throw new ScopePatternError(`${why} at position ${i + 1} of ${JSON.stringify(source)}`);
  };

  // After an atom (one character or class): an optional quantifier.
  const quantifier = () => {
    const c = pattern[i];
    if (c === '?') {
      i++;
      choose(2);
    } else if (c === '*' || c === '+') {
      i++;
      choose(MAX_SCOPE + 1);
    } else if (c === '{') {
      const m = /^\{(\d{1,3})(,(\d{0,3}))?\}/.exec(pattern.slice(i));
      if (!m) fail('malformed {n,m}');
      const min = Number(m![1]);
      const max = m![2] === undefined ? min : m![3] === '' ? Infinity : Number(m![3]);
      if (min > MAX_SCOPE || (max !== Infinity && (max < min || max > MAX_SCOPE))) fail('a repetition count out of range');
      choose(Math.min(max, MAX_SCOPE) - min + 1);
      i += m![0].length;
    }
    if (pattern[i] === '?' || pattern[i] === '*' || pattern[i] === '+' || pattern[i] === '{') fail('a quantifier on a quantifier');
  };

  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '(') {
      if (depth > 0) fail('a nested group');
      depth++;
      groupOpen = i;
      branches = 1;
      i += pattern.startsWith('(?:', i) ? 3 : 1;
      if (pattern[i] === '?') fail('a lookaround or named group');
      continue;
    }
    if (c === ')') {
      if (depth === 0) fail('an unopened group');
      if (i === groupOpen + 1) fail('an empty group');
      depth--;
      i++;
      choose(branches);
      const q = pattern[i];
      if (q === '?') {
        i++;
        choose(2);
      }
      else if (q === '*' || q === '+' || q === '{') fail('a repeated group (only "?" may follow a group)');
      if (pattern[i] === '?' || pattern[i] === '*' || pattern[i] === '+') fail('a quantifier on a quantifier');
      continue;
    }
    if (c === '|') {
      if (depth > 0) branches++;
      else topBranches++;
      i++;
      continue;
    }
    if (c === '\\') {
      const next = pattern[i + 1];
      if (next === undefined || !ESCAPABLE.test(next)) fail('an escape other than of punctuation (no \\d, \\w, \\1...)');
      i += 2;
      quantifier();
      continue;
    }
    if (c === '[') {
      i++;
      if (pattern[i] === '^') i++;
      const start = i;
      while (i < pattern.length && pattern[i] !== ']') {
        if (pattern[i] === '\\') {
          if (!ESCAPABLE.test(pattern[i + 1] ?? '')) fail('an escape other than of punctuation in a class');
          i += 2;
        } else if (CLASS_CHAR.test(pattern[i]!)) i++;
        else fail(`${JSON.stringify(pattern[i])} in a class`);
      }
      if (pattern[i] !== ']' || i === start) fail('an unclosed or empty class');
      i++;
      quantifier();
      continue;
    }
    if (c === '.' || LITERAL.test(c)) {
      i++;
      quantifier();
      continue;
    }
    fail(`${JSON.stringify(c)} is not allowed`);
  }
  if (depth > 0) fail('an unclosed group');
  choose(topBranches);
  try {
    return new RegExp(`^(?:${pattern})$`, 'i');
  } catch (error) {
    throw new ScopePatternError(`not a regular expression: ${(error as Error).message}`);
  }
}

/** Whether `scope` (the part after '@') is one of the literal scopes or matches one of the patterns. */
export function scopeAllowed(scope: string, literals: readonly string[], patterns: readonly RegExp[]): boolean {
  const s = scope.toLowerCase();
  if (literals.some((l) => l.toLowerCase() === s)) return true;
  // Only a DNS-name-like scope is matched against a pattern: bounded length, bounded work.
  if (s.length > MAX_SCOPE || !/^[a-z0-9._-]+$/.test(s)) return false;
  return patterns.some((p) => p.test(s));
}
