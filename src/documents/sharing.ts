// Sharing and public links of "Mes documents" (migrations/0006_documents.sql: document_shares,
// document_links). No HTTP here (routes.tsx and public.tsx are the thin layers).
//
// Who may reach a node: its owner (service.ts), or a person to whom the node or one of its
// ancestors is shared, directly or through a group they belong to. Anyone else, and any id of
// another tenant (RLS hides it), gets NotFoundError: the answer never tells that an id exists.
//
// Public links: the token (32 random bytes, base64url) is shown once; only its SHA-256 is stored.
// A password is kept as an scrypt hash with its own salt and compared in constant time.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import type { DbHandle, TenantDb } from '../platform/db.js';
import { BadRequestError, ForbiddenError, NotFoundError } from '../platform/errors.js';
import { isUuid, newId } from '../platform/ids.js';
import { createGroups, memberIds } from '../directory/groups.js';
import type { NotifyInput } from '../notifications/service.js';
import * as repo from './repository.js';
import type { NodeRow } from './repository.js';
import type { Actor, DocumentNode, DocumentsService, DocumentVersion, IncomingFile } from './service.js';
import { assertShareable } from './scan.js';
import './tables.js';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export type Access = 'read' | 'write';

export interface SharedItem {
  node: DocumentNode;
  access: Access;
  ownerName: string;
}

export interface ShareRow {
  id: string;
  access: Access;
  personId: string | null;
  groupId: string | null;
  /** The person's display name or the group's name. */
  label: string;
  createdAt: Date;
}

export interface LinkRow {
  id: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  hasPassword: boolean;
  downloads: number;
  createdAt: Date;
}

export interface PublicLink {
  id: string;
  node: DocumentNode;
  hasPassword: boolean;
  expiresAt: Date | null;
}

export interface SharingService {
  sharedWithMe(actor: Actor): Promise<SharedItem[]>;
  /** A shared folder's content (or a shared file itself), with the access the person has. */
  browse(actor: Actor, folderId: string): Promise<{ folder: DocumentNode; items: DocumentNode[]; access: Access }>;
  /** Own file, else a file shared with the person (read is enough). */
  open(actor: Actor, fileId: string, versionId?: string): Promise<{ node: DocumentNode; version: DocumentVersion }>;
  rename(actor: Actor, id: string, name: unknown): Promise<DocumentNode>;
  uploadInto(actor: Actor, folderId: string, bound: number | undefined, files: AsyncIterable<IncomingFile>): Promise<DocumentNode[]>;
  /** Write access on the item and on the target folder, both in the same owner's space. */
  move(actor: Actor, id: string, targetId: string): Promise<DocumentNode>;
  /** Read access on the item; the target: my root or my folder (my quota), or a folder shared with me in write mode (its owner's quota). */
  copy(actor: Actor, id: string, targetId: string | null): Promise<DocumentNode>;
  /** Write access: to the owner's trash. */
  trash(actor: Actor, id: string): Promise<DocumentNode>;
  /** The owner's view of a node's shares and links. */
  sharesOf(actor: Actor, nodeId: string): Promise<{ node: DocumentNode; shares: ShareRow[]; links: LinkRow[]; groups: { id: string; name: string }[] }>;
  share(actor: Actor, nodeId: string, target: { person?: string; group?: string }, access: unknown): Promise<ShareRow>;
  revokeShare(actor: Actor, shareId: string): Promise<{ nodeId: string }>;
  createLink(actor: Actor, nodeId: string, options: { expiresAt?: unknown; password?: unknown }): Promise<{ token: string; link: LinkRow; nodeId: string }>;
  revokeLink(actor: Actor, linkId: string): Promise<{ nodeId: string }>;
  /** A live link of this tenant (not revoked, not expired) or NotFoundError. */
  resolveLink(tenantId: string, token: string): Promise<PublicLink>;
  checkPassword(tenantId: string, link: PublicLink, password: unknown): Promise<boolean>;
  /** The link's file (or, for a folder link, `fileId` under its folder) and current version; counts a download when `count`. */
  openLink(tenant: Actor['tenant'], link: PublicLink, count: boolean, fileId?: string): Promise<{ node: DocumentNode; version: DocumentVersion }>;
  /** A folder link: its folder or `folderId` under it, with the path from the link's folder down and the items. */
  browseLink(tenant: Actor['tenant'], link: PublicLink, folderId?: string): Promise<{ folder: DocumentNode; path: DocumentNode[]; items: DocumentNode[] }>;
}

const notFound = () => new NotFoundError("Ce document n'existe pas.");
const linkGone = () => new NotFoundError("Ce lien n'existe pas, a expiré ou a été révoqué.");

/**
 * `id` if it is the link's node or lies under it, every folder between them live; else the same
 * 404 as an unknown link. A token therefore never reaches a sibling, a parent or the trash.
 */
async function underLink(trx: TenantDb, link: PublicLink, id: string): Promise<{ node: DocumentNode; path: DocumentNode[] }> {
  if (!isUuid(id)) throw linkGone();
  const chain = await repo.ancestry(trx, id);
  const from = chain.findIndex((n) => n.id === link.node.id);
  if (from < 0) throw linkGone();
  const path = chain.slice(from);
  if (path.some((n) => n.deletedAt !== null || n.spaceId !== link.node.spaceId)) throw linkGone();
  return { node: path[path.length - 1]!, path };
}
const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password.normalize('NFC'), salt, 32);
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password.normalize('NFC'), Buffer.from(salt, 'base64url'), expected.length);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Who reads shares: a person and the groups they belong to, as the directory's groups service
 * says (static memberships, and dynamic groups whose rule the person matches now).
 */
type Reader = Actor & { groupIds: string[] };

/** The strongest access a person has on node `id` through a share of it or of an ancestor, to them or one of their groups; live nodes only. */
async function accessTo(trx: TenantDb, personId: string, groupIds: string[], id: string): Promise<Access | undefined> {
  const rows = await sql<{ level: number | null }>`
    with recursive up as (
      select n.id, n.parent_id, n.tenant_id from document_nodes n where n.id = ${id} and n.deleted_at is null
      union all
      select p.id, p.parent_id, p.tenant_id from document_nodes p join up on p.id = up.parent_id and p.tenant_id = up.tenant_id
    )
    select max(case s.access when 'write' then 2 else 1 end)::int as level
    from document_shares s
    where s.node_id in (select id from up)
      and (s.person_id = ${personId} or s.group_id = any(${groupIds}::uuid[]))`.execute(trx);
  const level = rows.rows[0]?.level;
  return level === 2 ? 'write' : level === 1 ? 'read' : undefined;
}

async function sharedNode(trx: TenantDb, actor: Reader, id: string, need: Access): Promise<{ node: DocumentNode; access: Access }> {
  if (!isUuid(id)) throw notFound();
  const row = await trx.selectFrom('document_nodes').selectAll().where('id', '=', id).where('deleted_at', 'is', null).where('group_id', 'is', null).executeTakeFirst();
  if (!row || row.owner_id === actor.personId) throw notFound();
  const access = await accessTo(trx, actor.personId, actor.groupIds, id);
  if (!access) throw notFound();
  if (need === 'write' && access !== 'write') throw new ForbiddenError('Ce document vous est partagé en lecture seule.');
  return { node: repo.toNode(row), access };
}

/** A live node of the actor's own space (only its owner shares it). */
async function owned(trx: TenantDb, actor: Actor, id: string): Promise<DocumentNode> {
  const node = isUuid(id) ? await repo.liveNode(trx, actor.personId, id) : undefined;
  if (!node) throw notFound();
  return node;
}

function parseExpiry(value: unknown): Date | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new BadRequestError("La date d'expiration n'est pas valide.");
  // A bare date means the end of that day (Paris time, approximated as UTC+1/+2 by keeping the day whole in UTC).
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T23:59:59Z`) : new Date(value);
  if (Number.isNaN(date.getTime())) throw new BadRequestError("La date d'expiration n'est pas valide.");
  if (date.getTime() <= Date.now()) throw new BadRequestError("La date d'expiration est déjà passée.");
  return date;
}

const toLink = (r: { id: string; expires_at: Date | null; revoked_at: Date | null; password_hash: string | null; downloads: number; created_at: Date }): LinkRow => ({
  id: r.id,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
  hasPassword: r.password_hash !== null,
  downloads: Number(r.downloads),
  createdAt: r.created_at,
});

export function createSharingService(deps: { database: DbHandle; documents: DocumentsService; notify?: (input: NotifyInput) => Promise<unknown>; log?: (error: unknown) => void }): SharingService {
  const { database, documents } = deps;
  const tx = <T>(tenantId: string, fn: (trx: TenantDb) => Promise<T>) => database.withTenant(tenantId, fn);
  const groupsService = createGroups(database);
  const myGroups = async (actor: Actor) => (await groupsService.mine(actor.tenant, { personId: actor.personId, roles: [] })).groups;
  const reader = async (actor: Actor): Promise<Reader> => ({ ...actor, groupIds: (await myGroups(actor)).map((g) => g.id) });

  async function sharesRows(trx: TenantDb, nodeId: string): Promise<ShareRow[]> {
    const rows = await trx
      .selectFrom('document_shares as s')
      .leftJoin('people as p', (j) => j.onRef('p.tenant_id', '=', 's.tenant_id').onRef('p.id', '=', 's.person_id'))
      .leftJoin('groups as g', (j) => j.onRef('g.tenant_id', '=', 's.tenant_id').onRef('g.id', '=', 's.group_id'))
      .select(['s.id', 's.access', 's.person_id', 's.group_id', 's.created_at', 'p.display_name', 'g.name as group_name'])
      .where('s.node_id', '=', nodeId)
      .orderBy('s.created_at')
      .execute();
    return rows.map((r) => ({ id: r.id, access: r.access, personId: r.person_id, groupId: r.group_id, label: r.display_name ?? r.group_name ?? '', createdAt: r.created_at }));
  }

  async function tellShared(actor: Actor, node: DocumentNode, recipients: string[]): Promise<void> {
    if (!deps.notify) return;
    const sharer = await tx(actor.tenant.id, (trx) => trx.selectFrom('people').select('display_name').where('id', '=', actor.personId).executeTakeFirst());
    const en = actor.tenant.declaration.defaultLocale === 'en';
    const who = sharer?.display_name ?? '';
    const title = (en ? `${who} shared “${node.name}” with you` : `${who} a partagé « ${node.name} » avec vous`).slice(0, 200);
    for (const personId of recipients) {
      try {
        await deps.notify({ tenantId: actor.tenant.id, personId, category: 'share', title, link: '/documents/partages' });
      } catch (error) {
        // The share exists whatever happens to its notice.
        deps.log?.(error);
      }
    }
  }

  return {
    async sharedWithMe(actor) {
      const { groupIds } = await reader(actor);
      const rows = await tx(actor.tenant.id, (trx) =>
        trx
          .selectFrom('document_shares as s')
          .innerJoin('document_nodes as n', (j) => j.onRef('n.tenant_id', '=', 's.tenant_id').onRef('n.id', '=', 's.node_id'))
          .innerJoin('people as o', (j) => j.onRef('o.tenant_id', '=', 'n.tenant_id').onRef('o.id', '=', 'n.owner_id'))
          .selectAll('n')
          .select(['s.access', 'o.display_name as owner_name'])
          .where('n.deleted_at', 'is', null)
          .where('n.owner_id', '<>', actor.personId)
          .where((eb) =>
            eb.or([eb('s.person_id', '=', actor.personId), sql<boolean>`s.group_id = any(${groupIds}::uuid[])`]),
          )
          .orderBy(sql`lower(n.name)`)
          .limit(1000)
          .execute(),
      );
      const byNode = new Map<string, SharedItem>();
      for (const r of rows) {
        const previous = byNode.get(r.id);
        if (previous && previous.access === 'write') continue;
        byNode.set(r.id, { node: repo.toNode(r as NodeRow), access: r.access, ownerName: r.owner_name });
      }
      return [...byNode.values()];
    },

    async browse(actor, folderId) {
      const r = await reader(actor);
      return tx(actor.tenant.id, async (trx) => {
        const { node, access } = await sharedNode(trx, r, folderId, 'read');
        if (node.kind !== 'folder') throw notFound();
        return { folder: node, items: await repo.children(trx, node.spaceId, node.id), access };
      });
    },

    async open(actor, fileId, versionId) {
      try {
        return await documents.open(actor, fileId, versionId);
      } catch (error) {
        if (!(error instanceof NotFoundError)) throw error;
      }
      const r = await reader(actor);
      const node = await tx(actor.tenant.id, async (trx) => (await sharedNode(trx, r, fileId, 'read')).node);
      if (node.kind !== 'file') throw notFound();
      // The owner's own open, on the owner's behalf: the same version checks.
      return documents.open({ tenant: actor.tenant, personId: node.ownerId }, node.id, versionId);
    },

    async rename(actor, id, name) {
      const r = await reader(actor);
      const node = await tx(actor.tenant.id, async (trx) => (await sharedNode(trx, r, id, 'write')).node);
      return documents.rename({ tenant: actor.tenant, personId: node.ownerId }, node.id, name);
    },

    async uploadInto(actor, folderId, bound, files) {
      const r = await reader(actor);
      const node = await tx(actor.tenant.id, async (trx) => (await sharedNode(trx, r, folderId, 'write')).node);
      if (node.kind !== 'folder') throw notFound();
      // Into the owner's space, counted against the owner's quota; the version records who sent it.
      return documents.upload({ tenant: actor.tenant, personId: node.ownerId, onBehalfOf: actor.personId }, node.id, bound, files);
    },

    async sharesOf(actor, nodeId) {
      // The groups I may share with: mine, dynamic ones included.
      const groups = (await myGroups(actor)).map((g) => ({ id: g.id, name: g.name }));
      return tx(actor.tenant.id, async (trx) => {
        const node = await owned(trx, actor, nodeId);
        const links = await trx.selectFrom('document_links').selectAll().where('node_id', '=', node.id).orderBy('created_at', 'desc').execute();
        return { node, shares: await sharesRows(trx, node.id), links: links.map(toLink), groups };
      });
    },

    async share(actor, nodeId, target, rawAccess) {
      const access: Access = rawAccess === 'write' ? 'write' : rawAccess === 'read' || rawAccess === undefined ? 'read' : (() => { throw new BadRequestError("L'accès est « read » ou « write ».") })();
      const person = target.person?.trim();
      const group = target.group?.trim();
      if (!person === !group) throw new BadRequestError('Indiquez une personne ou un groupe.');
      const { node, share, recipients } = await tx(actor.tenant.id, async (trx) => {
        const node = await owned(trx, actor, nodeId);
        await assertShareable(trx, node);
        let personId: string | null = null;
        let groupId: string | null = null;
        if (person) {
          // A person of this tenant, by id or address (RLS hides everyone else's).
          const byId = isUuid(person);
          const address = person.toLowerCase();
          const row = await trx
            .selectFrom('people')
            .select('id')
            .where('status', '=', 'active')
            .where((eb) => (byId ? eb('id', '=', person) : eb(sql`lower(mail)`, '=', address)))
            .executeTakeFirst();
          if (!row) throw new NotFoundError("Cette personne n'existe pas dans votre établissement.");
          if (row.id === actor.personId) throw new BadRequestError('Ce document est déjà à vous.');
          personId = row.id;
        } else {
          const row = isUuid(group!) ? await trx.selectFrom('groups').select('id').where('id', '=', group!).executeTakeFirst() : undefined;
          if (!row) throw new NotFoundError("Ce groupe n'existe pas dans votre établissement.");
          groupId = row.id;
        }
        const existing = await trx
          .selectFrom('document_shares')
          .select('id')
          .where('node_id', '=', node.id)
          .where((eb) => (personId ? eb('person_id', '=', personId) : eb('group_id', '=', groupId!)))
          .forUpdate()
          .executeTakeFirst();
        const id = existing?.id ?? newId();
        if (existing) await trx.updateTable('document_shares').set({ access }).where('id', '=', id).execute();
        else await trx.insertInto('document_shares').values({ tenant_id: actor.tenant.id, id, node_id: node.id, person_id: personId, group_id: groupId, access, created_by: actor.personId }).execute();
        const recipients = existing
          ? []
          : personId
            ? [personId]
            : // Static or computed (dynamic groups) members alike: the groups service knows.
              (await memberIds(trx, actor.tenant.id, groupId!)).filter((id) => id !== actor.personId).slice(0, 5000);
        const share = (await sharesRows(trx, node.id)).find((s) => s.id === id)!;
        return { node, share, recipients };
      });
      await tellShared(actor, node, recipients);
      return share;
    },

    async revokeShare(actor, shareId) {
      return tx(actor.tenant.id, async (trx) => {
        const row = isUuid(shareId)
          ? await trx
              .selectFrom('document_shares as s')
              .innerJoin('document_nodes as n', (j) => j.onRef('n.tenant_id', '=', 's.tenant_id').onRef('n.id', '=', 's.node_id'))
              .select(['s.id', 's.node_id'])
              .where('s.id', '=', shareId)
              .where('n.owner_id', '=', actor.personId)
              .where('n.group_id', 'is', null)
              .executeTakeFirst()
          : undefined;
        if (!row) throw new NotFoundError("Ce partage n'existe pas.");
        await trx.deleteFrom('document_shares').where('id', '=', row.id).execute();
        return { nodeId: row.node_id };
      });
    },

    async createLink(actor, nodeId, options) {
      const expiresAt = parseExpiry(options.expiresAt);
      const password = typeof options.password === 'string' && options.password !== '' ? options.password : undefined;
      if (password !== undefined && (password.length < 4 || password.length > 200)) throw new BadRequestError('Le mot de passe compte de 4 à 200 caractères.');
      const passwordHash = password === undefined ? null : await hashPassword(password);
      const token = randomBytes(32).toString('base64url');
      return tx(actor.tenant.id, async (trx) => {
        const node = await owned(trx, actor, nodeId);
        await assertShareable(trx, node);
        const row = await trx
          .insertInto('document_links')
          .values({ tenant_id: actor.tenant.id, id: newId(), node_id: node.id, token_sha256: tokenHash(token), password_hash: passwordHash, expires_at: expiresAt, created_by: actor.personId })
          .returningAll()
          .executeTakeFirstOrThrow();
        return { token, link: toLink(row), nodeId: node.id };
      });
    },

    async revokeLink(actor, linkId) {
      return tx(actor.tenant.id, async (trx) => {
        const row = isUuid(linkId)
          ? await trx
              .selectFrom('document_links as l')
              .innerJoin('document_nodes as n', (j) => j.onRef('n.tenant_id', '=', 'l.tenant_id').onRef('n.id', '=', 'l.node_id'))
              .select(['l.id', 'l.node_id'])
              .where('l.id', '=', linkId)
              .where('n.owner_id', '=', actor.personId)
              .executeTakeFirst()
          : undefined;
        if (!row) throw new NotFoundError("Ce lien n'existe pas.");
        await trx.updateTable('document_links').set({ revoked_at: sql`coalesce(revoked_at, now())` }).where('id', '=', row.id).execute();
        return { nodeId: row.node_id };
      });
    },

    async resolveLink(tenantId, token) {
      const gone = linkGone;
      if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw gone();
      return tx(tenantId, async (trx) => {
        const row = await trx
          .selectFrom('document_links as l')
          .innerJoin('document_nodes as n', (j) => j.onRef('n.tenant_id', '=', 'l.tenant_id').onRef('n.id', '=', 'l.node_id'))
          .selectAll('n')
          .select(['l.id as link_id', 'l.password_hash', 'l.expires_at'])
          .where('l.token_sha256', '=', tokenHash(token))
          .where('l.revoked_at', 'is', null)
          .where((eb) => eb.or([eb('l.expires_at', 'is', null), eb('l.expires_at', '>', sql<Date>`now()`)]))
          .where('n.deleted_at', 'is', null)
          .executeTakeFirst();
        if (!row) throw gone();
        return { id: row.link_id, node: repo.toNode(row as unknown as NodeRow), hasPassword: row.password_hash !== null, expiresAt: row.expires_at };
      });
    },

    async checkPassword(tenantId, link, password) {
      if (!link.hasPassword) return true;
      if (typeof password !== 'string' || password.length > 200) return false;
      const row = await tx(tenantId, (trx) => trx.selectFrom('document_links').select('password_hash').where('id', '=', link.id).executeTakeFirst());
      return row?.password_hash ? verifyPassword(password, row.password_hash) : false;
    },

    async openLink(tenant, link, count, fileId) {
      const node = fileId === undefined ? link.node : await tx(tenant.id, async (trx) => (await underLink(trx, link, fileId)).node);
      if (node.kind !== 'file') throw linkGone();
      const result = await documents.open({ tenant, personId: node.ownerId }, node.id);
      if (count) await tx(tenant.id, (trx) => trx.updateTable('document_links').set({ downloads: sql`downloads + 1` }).where('id', '=', link.id).execute());
      return result;
    },

    async browseLink(tenant, link, folderId) {
      if (link.node.kind !== 'folder') throw linkGone();
      return tx(tenant.id, async (trx) => {
        const { node, path } = await underLink(trx, link, folderId ?? link.node.id);
        if (node.kind !== 'folder') throw linkGone();
        return { folder: node, path, items: await repo.children(trx, node.spaceId, node.id) };
      });
    },

    // Shared items changed by the person they are shared with in write mode. Moving and trashing
    // stay within the owner's space, so the owner's usage does not change: a trashed item still
    // counts against the owner's quota, as anything in a trash does, until the owner empties it or
    // the retention job purges it (the owner can restore it meanwhile). A copy counts where it
    // lands: in my space, against my quota; in a folder shared with me in write mode, against
    // that folder owner's quota (like an upload into it), recorded as sent by me.
    async move(actor, id, targetId) {
      const r = await reader(actor);
      const { node } = await tx(actor.tenant.id, async (trx) => {
        const { node } = await sharedNode(trx, r, id, 'write');
        const target = await sharedNode(trx, r, targetId, 'write');
        // A folder of another owner is another space: the item would leave its owner's quota.
        if (target.node.kind !== 'folder' || target.node.ownerId !== node.ownerId) throw new NotFoundError("Ce dossier n'existe pas.");
        return { node };
      });
      return documents.move({ tenant: actor.tenant, personId: node.ownerId }, node.id, targetId);
    },

    async copy(actor, id, targetId) {
      const r = await reader(actor);
      const { source, destination } = await tx(actor.tenant.id, async (trx) => {
        const source = (await sharedNode(trx, r, id, 'read')).node;
        if (targetId === null) return { source, destination: actor };
        const own = isUuid(targetId) ? await repo.liveNode(trx, actor.personId, targetId) : undefined;
        if (own) return { source, destination: actor };
        const target = (await sharedNode(trx, r, targetId, 'write')).node;
        if (target.kind !== 'folder') throw new NotFoundError("Ce dossier n'existe pas.");
        return { source, destination: { tenant: actor.tenant, personId: target.ownerId, onBehalfOf: actor.personId } as Actor };
      });
      return documents.copy(destination, source.id, targetId, { tenant: actor.tenant, personId: source.ownerId });
    },

    async trash(actor, id) {
      const r = await reader(actor);
      const node = await tx(actor.tenant.id, async (trx) => (await sharedNode(trx, r, id, 'write')).node);
      return documents.trash({ tenant: actor.tenant, personId: node.ownerId }, node.id);
    },
  };
}
