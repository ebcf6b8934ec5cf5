// The SP keys of each tenant: generated on first use, stored in saml_sp_keys so every replica
// signs and decrypts with the same ones, private keys encrypted with SAML_KEY_SECRET (AES-256-GCM,
// bound to tenant and key id so a blob cannot be moved to another tenant's row).
// Rollover: prepareNextKey() publishes a second certificate in the metadata (IdPs pick it up on
// their next refresh; it already decrypts), promoteNextKey() then makes it the signing key.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { DbHandle } from '../../platform/db.js';
import { newId } from '../../platform/ids.js';
import { generateKeyAndCertificate } from './certificate.js';
import './tables.js';

export interface SpKey {
  readonly id: string;
  readonly status: 'current' | 'next';
  readonly certificate: string;
  readonly privateKey: string;
}

export interface SpKeys {
  /** Signs requests; published. */
  readonly current: SpKey;
  /** Published ahead of a rollover; decrypts too. */
  readonly next: SpKey | undefined;
}

export interface SpKeyStore {
  keys(tenantId: string, commonName: string): Promise<SpKeys>;
  prepareNextKey(tenantId: string, commonName: string): Promise<void>;
  promoteNextKey(tenantId: string): Promise<void>;
}

const CACHE_MS = 60_000;

export function createSpKeyStore(database: DbHandle, secret: string): SpKeyStore {
  const key = createHash('sha256').update('portique saml sp keys\0').update(secret).digest();
  const cache = new Map<string, { at: number; keys: Promise<SpKeys> }>();

  const seal = (tenantId: string, id: string, pem: string): Buffer => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(`${tenantId}/${id}`));
    const body = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([1]), iv, cipher.getAuthTag(), body]);
  };
  const open = (tenantId: string, id: string, blob: Buffer): string => {
    if (blob[0] !== 1) throw new Error('unknown SP key format');
    const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(1, 13)).setAAD(Buffer.from(`${tenantId}/${id}`));
    decipher.setAuthTag(blob.subarray(13, 29));
    return Buffer.concat([decipher.update(blob.subarray(29)), decipher.final()]).toString('utf8');
  };

  async function insertKey(tenantId: string, commonName: string, status: 'current' | 'next'): Promise<void> {
    const generated = await generateKeyAndCertificate(commonName);
    const id = newId();
    await database.withTenant(tenantId, (trx) =>
      sql`insert into saml_sp_keys (tenant_id, id, status, certificate, private_key)
          values (${tenantId}, ${id}, ${status}, ${generated.certificate}, ${seal(tenantId, id, generated.privateKey)})
          on conflict (tenant_id) where status = ${sql.lit(status)} do nothing`.execute(trx),
    );
  }

  async function load(tenantId: string, commonName: string): Promise<SpKeys> {
    const read = () =>
      database.withTenant(tenantId, (trx) =>
        trx.selectFrom('saml_sp_keys').selectAll().where('tenant_id', '=', tenantId).where('status', 'in', ['current', 'next']).execute(),
      );
    let rows = await read();
    if (!rows.some((r) => r.status === 'current')) {
      // Two replicas may race here: the unique index keeps one, both then read it.
      await insertKey(tenantId, commonName, 'current');
      rows = await read();
    }
    const toKey = (r: (typeof rows)[number]): SpKey => ({
      id: r.id,
      status: r.status as 'current' | 'next',
      certificate: r.certificate,
      privateKey: open(tenantId, r.id, r.private_key),
    });
    const current = rows.find((r) => r.status === 'current');
    if (!current) throw new Error('no current SP key');
    const next = rows.find((r) => r.status === 'next');
    return { current: toKey(current), next: next ? toKey(next) : undefined };
  }

  return {
    keys(tenantId, commonName) {
      const hit = cache.get(tenantId);
      if (hit && Date.now() - hit.at < CACHE_MS) return hit.keys;
      const keys = load(tenantId, commonName);
      cache.set(tenantId, { at: Date.now(), keys });
      keys.catch(() => cache.delete(tenantId));
      return keys;
    },
    async prepareNextKey(tenantId, commonName) {
      await insertKey(tenantId, commonName, 'next');
      cache.delete(tenantId);
    },
    async promoteNextKey(tenantId) {
      await database.withTenant(tenantId, async (trx) => {
        const next = await trx.selectFrom('saml_sp_keys').select('id').where('tenant_id', '=', tenantId).where('status', '=', 'next').executeTakeFirst();
        if (!next) throw new Error('no next SP key to promote: prepare one first');
        await trx.updateTable('saml_sp_keys').set({ status: 'retired' }).where('tenant_id', '=', tenantId).where('status', '=', 'current').execute();
        await trx.updateTable('saml_sp_keys').set({ status: 'current' }).where('tenant_id', '=', tenantId).where('id', '=', next.id).execute();
      });
      cache.delete(tenantId);
    },
  };
}
