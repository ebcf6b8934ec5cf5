// The consortium operator's own identity declaration. The operator console is served on its own
// host (OPERATOR_HOST), which is never a tenant host, and its people log in through the IdP(s)
// declared here, never through a university's. The file is deployment configuration (named by
// OPERATOR_DECLARATION, read once at start) rather than a row `tenants apply` writes: nothing a
// tenant declaration or the tenant registry holds can grant operator rights.
//
//   displayName: Consortium Portique
//   identity:                 # the tenant declaration's identity section: providers, attributes, session
//     providers: [{ entityId: https://idp.consortium.example/idp, metadataFile: idp.xml }]
//   operators:                # identifiers (eduPersonPrincipalName by default) who are operators
//     - alice@consortium.example
//   serviceProvider: { privateKey: sp-key.pem, certificate: sp-cert.pem }   # mounted secret
//
// The IdPs are declared as a tenant's are, by metadataFile (next to this file) or explicit
// fields; not by metadataUrl, whose fetched copies are tenant rows.
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseDocument } from 'yaml';
import { DeclarationSchema } from '../tenancy/declaration.js';

/** The realm id the SAML layer gives operator logins (VerifiedLogin.tenantId): the nil UUID, never a tenant's (UUIDv7). */
export const OPERATOR_REALM_ID = '00000000-0000-0000-0000-000000000000';

const IdentitySchema = DeclarationSchema.properties.identity;
const FileName = Type.String({ pattern: '^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$', description: 'a file name next to the declaration' });

const OperatorDeclarationSchema = Type.Object(
  {
    displayName: Type.String({ minLength: 2, maxLength: 120 }),
    defaultLocale: Type.Optional(Type.Union([Type.Literal('fr'), Type.Literal('en')])),
    identity: IdentitySchema,
    operators: Type.Array(Type.String({ minLength: 1, maxLength: 500 }), { minItems: 1, maxItems: 200, uniqueItems: true }),
    /**
     * The console's SP key pair: PEM files next to this file (a mounted secret, never in git),
     * optionally a next pair published ahead of a rollover. Required in production; elsewhere a
     * pair is generated at start when absent.
     */
    serviceProvider: Type.Optional(
      Type.Object(
        {
          privateKey: FileName,
          certificate: FileName,
          nextPrivateKey: Type.Optional(FileName),
          nextCertificate: Type.Optional(FileName),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

type Parsed = Static<typeof OperatorDeclarationSchema>;
export interface OperatorDeclaration extends Parsed {
  readonly identity: NonNullable<Parsed['identity']>;
  /** The operator host, from OPERATOR_HOST. */
  readonly host: string;
  /** Folder of the declaration file: where its metadata and certificate files are. */
  readonly dir: string;
}

export class OperatorDeclarationError extends Error {}

export function parseOperatorDeclaration(file: string, text: string, host: string): OperatorDeclaration {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) throw new OperatorDeclarationError(`${file}: ${doc.errors[0]!.message.split('\n')[0]}`);
  const value: unknown = doc.toJS();
  const problems = [...Value.Errors(OperatorDeclarationSchema, value)].map(
    (e) => `${file}: ${e.path.replace(/^\//, '').replaceAll('/', '.') || '(root)'}: ${e.message}`,
  );
  if (problems.length > 0) throw new OperatorDeclarationError([...new Set(problems)].join('\n'));
  const parsed = value as Parsed;
  if (!parsed.identity) throw new OperatorDeclarationError(`${file}: identity: is required`);
  return Object.freeze({ ...parsed, identity: parsed.identity, host, dir: dirname(file) });
}

export async function loadOperatorDeclaration(file: string, host: string): Promise<OperatorDeclaration> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new OperatorDeclarationError(`${file}: cannot be read (OPERATOR_DECLARATION)`);
  }
  return parseOperatorDeclaration(file, text, host);
}
