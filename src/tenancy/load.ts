// Reads tenants/*.yaml and their asset folders, and validates all of them together (slug matches
// the file name, assets exist and are images, no host is claimed twice). Nothing is written here.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { storedIdpsDigest, storedIdpsOf, type MetadataSigner, type StoredIdp } from '../identity/saml/idp.js';
import { parseDeclaration, type Declaration, type DeclarationProblem } from './declaration.js';

export interface TenantAsset {
  name: string;
  contentType: string;
  body: Buffer;
  sha256: string;
}

export interface LoadedTenant {
  file: string;
  declaration: Declaration;
  assets: TenantAsset[];
  /** The IdP entities of its metadata files and explicit providers, as serve reads them from saml_idp_metadata. */
  idps: StoredIdp[];
  /** The certificates that sign its metadataUrl documents (saml_metadata_signers). */
  signers: MetadataSigner[];
  /** Changes whenever the declaration, any of its assets or any of its IdP files changes. */
  digest: string;
}

const ASSET_TYPES: Record<string, string> = {
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
};
const MAX_ASSET_BYTES = 512 * 1024;

export async function loadTenantDeclarations(dir: string): Promise<{ tenants: LoadedTenant[]; problems: DeclarationProblem[]; warnings: DeclarationProblem[] }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => /\.ya?ml$/.test(f)).sort();
  } catch {
    return { tenants: [], problems: [{ file: dir, field: '(folder)', reason: 'cannot be read' }], warnings: [] };
  }
  const tenants: LoadedTenant[] = [];
  const problems: DeclarationProblem[] = [];
  const warnings: DeclarationProblem[] = [];
  const hostOwners = new Map<string, string>();

  for (const name of names) {
    const file = join(dir, name);
    const parsed = parseDeclaration(file, await readFile(file, 'utf8'));
    problems.push(...parsed.problems);
    const declaration = parsed.declaration;
    if (!declaration) continue;

    const expectedSlug = name.replace(/\.ya?ml$/, '');
    if (declaration.slug !== expectedSlug) {
      problems.push({ file, field: 'slug', reason: `must match the file name ("${expectedSlug}")` });
    }
    for (const host of declaration.hosts) {
      const owner = hostOwners.get(host);
      if (owner) problems.push({ file, field: 'hosts', reason: `${host} is already declared by ${owner}` });
      else hostOwners.set(host, file);
    }

    const assets: TenantAsset[] = [];
    const wanted = [declaration.branding.logo, declaration.branding.favicon].filter((a): a is string => !!a);
    for (const [i, assetName] of wanted.entries()) {
      const field = i === 0 ? 'branding.logo' : 'branding.favicon';
      const contentType = ASSET_TYPES[extname(assetName).toLowerCase()];
      if (!contentType) {
        problems.push({ file, field, reason: `${assetName}: must be ${Object.keys(ASSET_TYPES).join(', ')}` });
        continue;
      }
      const path = join(dir, declaration.slug, assetName);
      const info = await stat(path).catch(() => undefined);
      if (!info?.isFile()) {
        problems.push({ file, field, reason: `${path} does not exist` });
        continue;
      }
      if (info.size > MAX_ASSET_BYTES) {
        problems.push({ file, field, reason: `${path} is larger than ${MAX_ASSET_BYTES / 1024} KiB` });
        continue;
      }
      const body = await readFile(path);
      assets.push({ name: assetName, contentType, body, sha256: createHash('sha256').update(body).digest('hex') });
    }

    const declared = await storedIdpsOf(join(dir, declaration.slug), declaration.identity?.providers ?? []);
    problems.push(...declared.problems.map((p) => ({ file, ...p })));
    warnings.push(...declared.warnings.map((p) => ({ file, ...p })));

    const digest = createHash('sha256')
      .update(JSON.stringify(declaration))
      .update(assets.map((a) => `${a.name}:${a.sha256}`).join(','))
      .update(storedIdpsDigest(declared.idps, declared.signers))
      .digest('hex');
    tenants.push({ file, declaration, assets, idps: declared.idps, signers: declared.signers, digest });
  }
  return { tenants, problems, warnings };
}
