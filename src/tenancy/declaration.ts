// A tenant declaration: tenants/<slug>.yaml, plus tenants/<slug>/ for its logo and assets.
// The schema is the contract with operators: unknown keys are errors, never silently ignored.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseDocument } from 'yaml';
import { SERVICE_IDS } from './services.js';

const Localized = Type.Object(
  { fr: Type.String({ minLength: 1, maxLength: 200 }), en: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
);
const Color = Type.String({ pattern: '^#[0-9a-fA-F]{6}$', description: 'a colour as #rrggbb' });
const AssetName = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,99}$', description: 'a file name in tenants/<slug>/' });
const Size = Type.String({ pattern: '^\\d+(\\.\\d+)?\\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$', description: 'a size such as "5 GiB"' });
const Host = Type.String({
  pattern: '^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$',
  description: 'a lower-case host name without port',
});
const Link = Type.Object(
  { label: Localized, href: Type.String({ pattern: '^(https?://|/)', maxLength: 2000 }) },
  { additionalProperties: false },
);

/** S3 bucket naming rules (general purpose buckets): 3-63 characters, no IP address, no reserved prefix or suffix. */
const BucketName = Type.String({
  pattern: '^(?!xn--|sthree-|amzn-s3-demo-)(?!.*(-s3alias|--ol-s3|--x-s3)$)(?!\\d{1,3}(\\.\\d{1,3}){3}$)(?!.*(\\.\\.|\\.-|-\\.))[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
  description: 'an S3 bucket name: 3 to 63 lower-case letters, digits, dots and dashes, starting and ending with a letter or digit, not an IP address',
});

const FileName = Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$', description: 'a file name in tenants/<slug>/' });

/** One SAML identity provider, given by metadata file, by metadata URL, or by explicit fields. */
const IdentityProvider = Type.Object(
  {
    entityId: Type.String({ minLength: 1, maxLength: 1024 }),
    /** Shown on the discovery page when a tenant has several IdPs. */
    name: Type.Optional(Localized),
    /** Metadata XML in tenants/<slug>/. */
    metadataFile: Type.Optional(FileName),
    /** A metadata URL (often a federation aggregate), refreshed by a job; its signature is verified. */
    metadataUrl: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2000 })),
    /** PEM certificate(s) in tenants/<slug>/ that sign the metadata at metadataUrl. */
    metadataSigningCertificate: Type.Optional(FileName),
    refreshMinutes: Type.Optional(Type.Integer({ minimum: 5, maximum: 10080 })),
    /** Explicit fields, where there is no metadata. */
    ssoUrl: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2000 })),
    sloUrl: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2000 })),
    /** PEM signing certificate file(s) of the IdP, in tenants/<slug>/. */
    certificates: Type.Optional(Type.Array(FileName, { minItems: 1, maxItems: 4 })),
    /** shibmd:Scope values the IdP may assert (eduPersonPrincipalName, scoped affiliation). */
    scopes: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { maxItems: 50 })),
  },
  { additionalProperties: false },
);

/** A role granted when an attribute has a value: the first rules of a tenant's roles list. */
const RoleRule = Type.Object(
  {
    role: Type.Union(
      [Type.Literal('student'), Type.Literal('teacher'), Type.Literal('staff'), Type.Literal('alumni'), Type.Literal('admin')],
      { description: 'student, teacher, staff, alumni or admin' },
    ),
    attribute: Type.String({ minLength: 1, maxLength: 100 }),
    /** Any of these values grants the role (for scoped attributes, the part before '@'). */
    values: Type.Array(Type.String({ minLength: 1, maxLength: 500 }), { minItems: 1, maxItems: 100 }),
  },
  { additionalProperties: false },
);

const IdentitySchema = Type.Object(
  {
    providers: Type.Array(IdentityProvider, { minItems: 1, maxItems: 50 }),
    /** IdP-initiated (unsolicited) logins; off unless the university asks for them. */
    allowUnsolicited: Type.Optional(Type.Boolean()),
    attributes: Type.Optional(
      Type.Object(
        {
          /** SAML attribute name (urn:oid:... or friendly) -> Portique attribute name; adds to the default eduPerson/SUPANN map. */
          map: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 500 }), Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9]{0,63}$' }))),
          /** Attributes without which a login is refused with a page naming them. */
          required: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 30 })),
          /** What identifies a person: an attribute (default eduPersonPrincipalName) or 'nameid' (persistent NameID). */
          identifier: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        },
        { additionalProperties: false },
      ),
    ),
    /** Extra role rules, on top of the defaults derived from eduPersonAffiliation. */
    roles: Type.Optional(Type.Array(RoleRule, { maxItems: 100 })),
    session: Type.Optional(
      Type.Object(
        {
          idleMinutes: Type.Optional(Type.Integer({ minimum: 5, maximum: 1440 })),
          absoluteHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 168 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Outgoing mail of the tenant (src/mail/): the declared sender and a sending rate limit. */
const MailSchema = Type.Object(
  {
    from: Type.Object(
      {
        address: Type.String({ pattern: '^[^@\\s<>"]+@[a-z0-9.-]+$', maxLength: 254, description: 'an e-mail address' }),
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 120, pattern: '^[^\\r\\n<>"]+$' })),
      },
      { additionalProperties: false },
    ),
    replyTo: Type.Optional(Type.String({ pattern: '^[^@\\s<>"]+@[a-z0-9.-]+$', maxLength: 254, description: 'an e-mail address' })),
    /** Mails sent per minute at most, across every worker (default 600). */
    ratePerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  },
  { additionalProperties: false },
);

const Affiliation = Type.Union(
  ['*', 'student', 'teacher', 'staff', 'faculty', 'employee', 'researcher', 'alumni', 'affiliate', 'member'].map((a) => Type.Literal(a)),
  { description: "an eduPersonAffiliation value (student, teacher, staff, faculty, employee, researcher, alumni, affiliate, member) or '*'" },
);
export const DIRECTORY_FIELDS = ['mail', 'affectation', 'title', 'officePhone', 'photo'] as const;
const DirectoryField = Type.Union(DIRECTORY_FIELDS.map((f) => Type.Literal(f)), { description: DIRECTORY_FIELDS.join(', ') });

/** The directory of the tenant: white pages visibility, profile editing, imports (src/directory/). */
const DirectorySchema = Type.Object(
  {
    /**
     * What a viewer sees of another person beyond the name: the first rule whose viewer matches one
     * of the viewer's affiliations and whose target matches one of the person's wins; no rule: every
     * field. E.g. { viewer: student, target: student, fields: [affectation, photo] }. Admins see all.
     */
    visibility: Type.Optional(
      Type.Array(
        Type.Object({ viewer: Affiliation, target: Affiliation, fields: Type.Array(DirectoryField, { uniqueItems: true }) }, { additionalProperties: false }),
        { maxItems: 50 },
      ),
    ),
    /** What people may change on their own card (default: all three). */
    editable: Type.Optional(
      Type.Array(Type.Union([Type.Literal('photo'), Type.Literal('preferredMail'), Type.Literal('phoneVisibility')], { description: 'photo, preferredMail or phoneVisibility' }), { uniqueItems: true }),
    ),
    /** Share of active accounts an import may deactivate without a forced run (default 0.05). */
    deactivationThreshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    /** Days a deactivated person is kept before being removed (default 365). */
    retentionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
    /** The university's LDAP (SUPANN): read by the directory.ldap-sync job. */
    ldap: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^ldaps?://', maxLength: 500, description: 'an ldap:// or ldaps:// URL' }),
          bindDn: Type.String({ minLength: 1, maxLength: 500 }),
          /** The environment variable holding the bind password: never in git. */
          bindSecretEnv: Type.String({ pattern: '^[A-Z][A-Z0-9_]{0,63}$', description: 'an environment variable name' }),
          baseDn: Type.String({ minLength: 1, maxLength: 500 }),
          filter: Type.Optional(Type.String({ pattern: '^\\(.*\\)$', maxLength: 2000, description: 'an LDAP filter in parentheses' })),
          groupsBaseDn: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
          groupsFilter: Type.Optional(Type.String({ pattern: '^\\(.*\\)$', maxLength: 2000, description: 'an LDAP filter in parentheses' })),
          /** LDAP attribute -> Portique field, on top of the SUPANN defaults (src/directory/ldap.ts). */
          attributes: Type.Optional(Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9-]{0,63}$' }), Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9]{0,63}$' }))),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 300_000 })),
          /** Minutes between incremental syncs (default 15); a full reconcile runs nightly. */
          incrementalMinutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const DeclarationSchema = Type.Object(
  {
    slug: Type.String({ pattern: '^[a-z][a-z0-9-]{1,39}$', description: 'lower-case letters, digits and dashes' }),
    displayName: Type.String({ minLength: 2, maxLength: 120 }),
    shortName: Type.Optional(Type.String({ minLength: 1, maxLength: 30 })),
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')], { description: 'active or suspended' })),
    hosts: Type.Array(Host, { minItems: 1, maxItems: 20, uniqueItems: true }),
    defaultLocale: Type.Union([Type.Literal('fr'), Type.Literal('en')], { description: 'fr or en' }),
    branding: Type.Object(
      {
        logo: AssetName,
        favicon: Type.Optional(AssetName),
        colors: Type.Object({ primary: Color, secondary: Color }, { additionalProperties: false }),
        /** Extra CSS custom properties, e.g. {"--radius": "6px"}. */
        accent: Type.Optional(
          Type.Record(Type.String({ pattern: '^--[a-z][a-z0-9-]{0,40}$' }), Type.String({ pattern: '^[#a-zA-Z0-9 .,%()-]{1,60}$' })),
        ),
        tagline: Type.Optional(Localized),
        links: Type.Optional(Type.Array(Link, { maxItems: 12 })),
      },
      { additionalProperties: false },
    ),
    quotas: Type.Object(
      {
        storageTotal: Size,
        storagePerPerson: Size,
        largestUpload: Size,
        people: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
      },
      { additionalProperties: false },
    ),
    services: Type.Array(Type.Union(SERVICE_IDS.map((id) => Type.Literal(id)), { description: `one of ${SERVICE_IDS.join(', ')}` }), { uniqueItems: true }),
    /** SAML federation of the tenant (src/identity/). */
    identity: Type.Optional(IdentitySchema),
    /** Outgoing mail: sender, reply-to and rate limit (src/mail/). */
    mail: Type.Optional(MailSchema),
    /** White pages visibility, profile editing, import safety and the LDAP source (src/directory/). */
    directory: Type.Optional(DirectorySchema),
    /** Documents (src/documents/): how long the trash keeps items, how many versions of a file are kept. */
    documents: Type.Optional(
      Type.Object(
        {
          trashRetentionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
          versionsKept: Type.Optional(Type.Integer({ minimum: 1, maximum: 100 })),
        },
        { additionalProperties: false },
      ),
    ),
    /**
     * Object storage (src/platform/storage.ts bucketFor): the tenant's own bucket for its documents,
     * instead of the regional one (S3_BUCKET). Keys still start with the tenant id in it.
     */
    storage: Type.Optional(Type.Object({ bucket: Type.Optional(BucketName) }, { additionalProperties: false })),
    /** Usage statistics (src/statistics/): how long raw events are kept, the smallest group a report shows. */
    statistics: Type.Optional(
      Type.Object(
        {
          /** Raw events older than this are deleted; daily and monthly aggregates stay. At least 35: a month is rolled up from raw events. */
          retentionDays: Type.Optional(Type.Integer({ minimum: 35, maximum: 3650 })),
          /** k-anonymity: no report shows a group of fewer people (default 5). */
          minGroupSize: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000 })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type Declaration = Static<typeof DeclarationSchema>;

export interface DeclarationProblem {
  file: string;
  field: string;
  reason: string;
}

export class DeclarationError extends Error {
  override readonly name = 'DeclarationError';
  constructor(readonly problems: DeclarationProblem[]) {
    super(problems.map((p) => `${p.file}: ${p.field}: ${p.reason}`).join('\n'));
  }
}

/** Parses and validates one declaration file's text; returns the problems instead of throwing. */
export function parseDeclaration(file: string, text: string): { declaration?: Declaration; problems: DeclarationProblem[] } {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    return { problems: doc.errors.map((e) => ({ file, field: '(yaml)', reason: e.message.split('\n')[0]! })) };
  }
  const value: unknown = doc.toJS();
  const problems: DeclarationProblem[] = [];
  for (const error of Value.Errors(DeclarationSchema, value)) {
    problems.push({ file, field: fieldName(error.path), reason: explain(error) });
  }
  if (problems.length > 0) return { problems: dedupe(problems) };
  const declaration = value as Declaration;
  for (const [field, size] of Object.entries(declaration.quotas)) {
    if (typeof size === 'string' && parseSize(size) === 0 && field !== 'storageTotal') {
      problems.push({ file, field: `quotas.${field}`, reason: 'must be more than 0' });
    }
  }
  const { quotas } = declaration;
  if (parseSize(quotas.storagePerPerson) > parseSize(quotas.storageTotal)) {
    problems.push({ file, field: 'quotas.storagePerPerson', reason: 'is larger than quotas.storageTotal' });
  }
  return problems.length ? { problems } : { declaration, problems };
}

function fieldName(path: string): string {
  const name = path.replace(/^\//, '').replaceAll('/', '.');
  return name === '' ? '(root)' : name;
}

function explain(error: { message: string; schema: { description?: string }; value: unknown }): string {
  if (error.message.startsWith('Unexpected property')) return 'unknown key (not part of a tenant declaration)';
  if (error.message.startsWith('Expected required property')) return 'is required';
  const got = `got ${JSON.stringify(error.value)}`;
  if (error.schema.description) return `expected ${error.schema.description}, ${got}`;
  return `${error.message.replace(/^Expected/, 'expected')}, ${got}`;
}

/** One problem per field, the first: TypeBox reports a missing field both as required and as mistyped. */
function dedupe(problems: DeclarationProblem[]): DeclarationProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => !seen.has(p.field) && seen.add(p.field));
}

const UNITS: Record<string, number> = {
  B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40,
};

/** "5 GiB" -> bytes. The schema guarantees the shape. */
export function parseSize(size: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(size);
  if (!match) throw new TypeError(`not a size: ${size}`);
  return Math.round(Number(match[1]) * UNITS[match[2]!]!);
}
