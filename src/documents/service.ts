// The documents service: spaces of folders and files stored in S3, with versions, trash and
// quotas. No HTTP here (src/documents/routes.tsx is the thin layer).
//
// Nothing is orphaned: content goes to S3 first and its rows are written after, in one
// transaction; if that transaction fails the object is deleted. Deletions go the other way (rows
// first, objects after commit). A crash between the two leaves an object without a row, which
// the reconciliation job reports and removes, never a row without its object.
//
// Quotas: an upload reserves space before a byte is streamed (repository.reserve: tenant and space
// rows locked, used + reserved checked), the bytes that land move from reserved to used in the
// transaction that records them, and whatever is left is given back in a finally block, whatever
// went wrong (S3 down, client gone, over quota).
import { PassThrough, Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { sql } from 'kysely';
import type { DbHandle, TenantDb } from '../platform/db.js';
import { BadRequestError, ConflictError, DomainError, NotFoundError, PayloadTooLargeError, UnavailableError } from '../platform/errors.js';
import { isUuid, newId } from '../platform/ids.js';
import { streamHash, type StreamHash } from '../platform/hashing.js';
import { bucketFor, tenantKey, type Storage } from '../platform/storage.js';
import { parseSize, type Declaration } from '../tenancy/declaration.js';
import type { Tenant } from '../tenancy/registry.js';
import { contentTypeOf } from './content-types.js';
import { copyObject, type CopyOptions } from './copy-object.js';
import { cleanName, numberedName } from './names.js';
import { limitsIn, spaceQuota } from './quotas.js';
import * as repo from './repository.js';
import type { DocumentNode, DocumentVersion } from './repository.js';
import { downloadGate, type ScanRequester } from './scan.js';
import './tables.js';

export type { DocumentNode, DocumentVersion } from './repository.js';

/**
 * Who acts: a person of a tenant, in their personal space (whose id is their person id) or, with
 * `groupId`, in that group's space (group-spaces.ts checks membership and access before).
 */
export interface Actor {
  tenant: Tenant;
  personId: string;
  groupId?: string;
  /** Someone acting in this person's space through a read-write share (recorded as a version's author). */
  onBehalfOf?: string;
}

export interface IncomingFile {
  filename: string;
  stream: Readable;
}

export interface Usage {
  used: number;
  limit: number;
}

/** The declaration's documents section, with its defaults (versionsKept: per file, the current one included). */
export function documentsSettings(declaration: Declaration): { trashRetentionDays: number; versionsKept: number } {
  return { trashRetentionDays: declaration.documents?.trashRetentionDays ?? 30, versionsKept: declaration.documents?.versionsKept ?? 10 };
}
/**
 * S3 multipart part size for a file of at most `limit` bytes: S3's smallest part (5 MiB), unless
 * the file could need more than S3's 10,000 parts. lib-storage holds the part it fills and the
 * two in flight (and a copy while it joins a part's chunks), so the part size is what bounds an
 * upload's memory: at 8 MiB the server grew by 46-69 MB during a 2 GiB upload (bench/documents,
 * target 64); part sizes from 5 to 64 MiB upload at the same speed on s3rver.
 */
export function partSizeFor(limit: number): number {
  return Math.max(5 * 1024 * 1024, Math.ceil(limit / 10_000));
}

const quotaMessage = "Votre espace de documents est plein : supprimez des fichiers ou videz la corbeille.";
const tenantQuotaMessage = "L'espace de stockage de l'établissement est plein.";

export interface DocumentsService {
  usage(actor: Actor): Promise<Usage>;
  list(actor: Actor, folderId: string | null): Promise<{ folder: DocumentNode | null; path: DocumentNode[]; items: DocumentNode[] }>;
  createFolder(actor: Actor, parentId: string | null, name: unknown): Promise<DocumentNode>;
  /** Streams each file to S3; `bound`: an upper bound of the bytes to come (the request's length). */
  upload(actor: Actor, parentId: string | null, bound: number | undefined, files: AsyncIterable<IncomingFile> | Iterable<IncomingFile>): Promise<DocumentNode[]>;
  /**
   * One file whose exact size is known before a byte is read (an HTTP PUT's Content-Length):
   * reserves exactly `length`, streams to S3 in one PutObject (multipart only above S3's 5 GiB
   * single-PUT limit) and records it only if exactly `length` bytes arrived.
   */
  uploadSized(actor: Actor, parentId: string | null, rawName: unknown, length: number, stream: Readable): Promise<DocumentNode>;
  open(actor: Actor, fileId: string, versionId?: string): Promise<{ node: DocumentNode; version: DocumentVersion }>;
  read(actor: Actor, version: DocumentVersion, range?: { start: number; end: number }): Promise<Readable>;
  rename(actor: Actor, id: string, name: unknown): Promise<DocumentNode>;
  move(actor: Actor, id: string, targetId: string | null): Promise<DocumentNode>;
  /** Copies `id` (from `source`'s space, else the actor's) into the actor's space; the copy counts against the actor's space. */
  copy(actor: Actor, id: string, targetId: string | null, source?: Actor): Promise<DocumentNode>;
  trash(actor: Actor, id: string): Promise<DocumentNode>;
  listTrash(actor: Actor): Promise<DocumentNode[]>;
  restore(actor: Actor, id: string): Promise<DocumentNode>;
  purge(actor: Actor, id: string): Promise<void>;
  emptyTrash(actor: Actor): Promise<number>;
  /** The retention job: trashed before `cutoff`, in every space of the tenant. */
  purgeTrashedBefore(tenant: Tenant, cutoff: Date): Promise<number>;
  versions(actor: Actor, fileId: string): Promise<{ node: DocumentNode; versions: DocumentVersion[] }>;
  restoreVersion(actor: Actor, fileId: string, versionId: string): Promise<DocumentNode>;
  search(actor: Actor, query: string): Promise<DocumentNode[]>;
  /** Every live folder of the space (move and copy targets). */
  folders(actor: Actor): Promise<DocumentNode[]>;
}

const largestUpload = (tenant: Tenant) => parseSize(tenant.declaration.quotas.largestUpload);

const isUniqueViolation = (error: unknown) => (error as { code?: string })?.code === '23505';

/** S3's largest single PutObject; above it an upload must be multipart. */
export const SINGLE_PUT_LIMIT = 5 * 1024 ** 3;

/** The hashing thread died under an upload: Portique's failure, not the client's. */
const unhashed = () => new UnavailableError("Le fichier n'a pas pu être enregistré. Réessayez dans un moment.");

const interrupted = () => new BadRequestError("L'envoi a été interrompu avant la fin du fichier.");

/** Space reserved for an upload or a copy. `spent`: a recording used it all up, so nothing is left to release. */
interface Reservation {
  readonly id: string;
  readonly granted: number;
  readonly boundBy: 'request' | 'space' | 'tenant';
  spent: boolean;
}

/** Counts and hashes what flows through; refuses a byte past `limit` and, with `exact`, an end short of it. */
class Meter extends Transform {
  bytes = 0;
  private readonly hash: StreamHash;
  constructor(
    private readonly limit: number,
    private readonly tooLarge: () => DomainError,
    private readonly exact = false,
  ) {
    // 1 MiB buffered each side (not 16 KiB): the client's bytes keep coming while S3 is busy, and
    // the reverse, with fewer stream turns per byte (bench/documents, 2 cores shared by client,
    // Portique and S3).
    super({ highWaterMark: 1024 * 1024 });
    this.hash = streamHash(limit);
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) return callback(this.tooLarge());
    const wait = this.hash.update(chunk);
    if (wait) wait.then(() => callback(null, chunk), () => callback(unhashed()));
    else callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    callback(this.exact && this.bytes !== this.limit ? interrupted() : null);
  }
  /** The SHA-256 of the bytes that went through (hex). */
  sha256(): Promise<string> {
    return this.hash.digest();
  }
  /** For an upload that failed: the hash is not wanted. */
  discard(): void {
    this.hash.dispose();
  }
}

export function createDocumentsService(deps: { database: DbHandle; storage: Storage; copy?: CopyOptions; afterStore?: ScanRequester }): DocumentsService {
  const { database, storage } = deps;
  const tx = <T>(actor: Actor | string, fn: (trx: TenantDb) => Promise<T>) => database.withTenant(typeof actor === 'string' ? actor : actor.tenant.id, fn);
  const space = (actor: Actor) => actor.groupId ?? actor.personId;
  const groupOf = (actor: Actor) => actor.groupId ?? null;
  /**
   * Reserves up to `wanted` bytes of the actor's space, after checking the folder it goes to (one
   * transaction: every upload does both before reading its body).
   */
  const reserve = (actor: Actor, folderId: string | null, wanted: number) =>
    tx(actor, async (trx): Promise<Reservation> => {
      await folderOrRoot(trx, actor, folderId);
      const id = newId();
      return { id, ...(await repo.reserve(trx, await limitsIn(trx, actor), id, wanted)), spent: false };
    });
  /** Gives back what a reservation has left, unless a recording used it all up. */
  const release = async (actor: Actor, reservation: Reservation) => {
    if (!reservation.spent) await tx(actor, (trx) => repo.release(trx, actor.tenant.id, reservation.id));
  };

  async function deleteObjects(tenant: Tenant, keys: string[]): Promise<void> {
    // After the rows are gone: a failure here leaves an orphan object, which reconciliation removes.
    const Bucket = bucketFor(storage, tenant);
    await Promise.allSettled(keys.map((Key) => storage.client.send(new DeleteObjectCommand({ Bucket, Key }))));
  }

  async function folderOrRoot(trx: TenantDb, actor: Actor, id: string | null, lock = false): Promise<DocumentNode | null> {
    if (id === null) return null;
    const node = isUuid(id) ? await repo.liveNode(trx, space(actor), id, lock) : undefined;
    if (!node || node.kind !== 'folder') throw new NotFoundError("Ce dossier n'existe pas.");
    return node;
  }

  async function mine(trx: TenantDb, actor: Actor, id: string, lock = false): Promise<DocumentNode> {
    const node = isUuid(id) ? await repo.liveNode(trx, space(actor), id, lock) : undefined;
    if (!node) throw new NotFoundError("Ce document n'existe pas.");
    return node;
  }

  async function freeName(trx: TenantDb, spaceId: string, parentId: string | null, name: string): Promise<string> {
    for (let n = 1; n < 1000; n++) {
      const candidate = n === 1 ? name : numberedName(name, n);
      if (!(await repo.nameTaken(trx, spaceId, parentId, candidate))) return candidate;
    }
    throw new ConflictError('Trop de documents portent ce nom.');
  }

  /** Deletes trashed roots (and what is under them); returns the object keys to delete. */
  async function purgeRoots(trx: TenantDb, tenantId: string, roots: DocumentNode[]): Promise<string[]> {
    const keys: string[] = [];
    for (const root of roots) {
      const nodes = await repo.subtree(trx, root.id);
      const ids = nodes.map((n) => n.id);
      const versions = await trx.selectFrom('document_versions').select(['object_key', 'size']).where('node_id', 'in', ids).execute();
      const bytes = versions.reduce((sum, v) => sum + Number(v.size), 0);
      await trx.deleteFrom('document_nodes').where('id', '=', root.id).execute();
      await repo.freeUsed(trx, tenantId, root.spaceId, bytes);
      keys.push(...versions.map((v) => v.object_key));
    }
    return keys;
  }

  /**
   * Streams one file to S3 within `limit` bytes; the object exists only if this returns.
   * `exactLength`: the size announced before the body (Content-Length), which must arrive in full;
   * up to 5 GiB it goes in one PutObject with that ContentLength (no multipart: S3-compatible
   * servers such as s3rver rewrite the whole object to complete a multipart upload).
   */
  async function streamToS3(actor: Actor, file: IncomingFile, key: string, contentType: string, limit: number, tooLarge: () => DomainError, exactLength?: number) {
    const exact = exactLength !== undefined;
    const meter = new Meter(exact ? exactLength : limit, tooLarge, exact);
    let sourceError: unknown;
    const abort = new AbortController();
    const single = exact && exactLength <= SINGLE_PUT_LIMIT;
    // A single PUT reads the meter itself; lib-storage gets a PassThrough behind it.
    const body = single ? meter : new PassThrough();
    const streams = single ? [file.stream, meter] as const : [file.stream, meter, body] as const;
    pipeline(streams, (error) => {
      // lib-storage aborts the body when S3 fails (ABORT_ERR): that is S3's failure, not the client's.
      const code = (error as NodeJS.ErrnoException | null)?.code;
      if (error && !(error instanceof DomainError) && code !== 'ABORT_ERR' && code !== 'ERR_STREAM_PREMATURE_CLOSE') sourceError = error;
      // The SDK pipes the body into its request, and a pipe does not pass errors on: without this
      // a PutObject whose body stopped short would wait for the missing bytes until S3 times out.
      if (error) abort.abort(error);
    });
    try {
      if (single) {
        await storage.client.send(new PutObjectCommand({ Bucket: bucketFor(storage, actor.tenant), Key: key, Body: body, ContentLength: exactLength, ContentType: contentType }), { abortSignal: abort.signal });
      } else {
        const upload = new Upload({
          client: storage.client,
          params: { Bucket: bucketFor(storage, actor.tenant), Key: key, Body: body, ContentType: contentType },
          partSize: partSizeFor(exact ? exactLength : limit),
          queueSize: 2,
          leavePartsOnError: false,
        });
        await upload.done();
      }
    } catch (error) {
      meter.discard();
      // A multipart upload is aborted by lib-storage; a single PUT may still have landed.
      await deleteObjects(actor.tenant, [key]);
      file.stream.resume();
      const cause = meter.errored ?? error;
      if (cause instanceof DomainError) throw cause;
      if (sourceError) throw interrupted();
      throw new UnavailableError("Le stockage des documents ne répond pas : le fichier n'a pas été enregistré. Réessayez dans un moment.");
    }
    if (sourceError || (exact && meter.bytes !== exactLength)) {
      meter.discard();
      await deleteObjects(actor.tenant, [key]);
      throw interrupted();
    }
    try {
      return { size: meter.bytes, sha256: await meter.sha256() };
    } catch {
      // The hashing thread died: without its hash the file cannot be recorded (scans are keyed by it).
      await deleteObjects(actor.tenant, [key]);
      throw unhashed();
    }
  }

  /** Records a landed object as a new file or a new version of the file of that name. */
  async function record(actor: Actor, parentId: string | null, name: string, contentType: string, reservation: Reservation, versionId: string, key: string, stored: { size: number; sha256: string }) {
    const tenantId = actor.tenant.id;
    // A reservation already used up (by the form's earlier files) has room for an empty file only.
    const consume = (trx: TenantDb) => (reservation.spent ? Promise.resolve(true) : repo.consume(trx, tenantId, space(actor), reservation.id, stored.size));
    for (let attempt = 0; ; attempt++) {
      try {
        const recorded = await tx(actor, async (trx) => {
          await folderOrRoot(trx, actor, parentId, true);
          const existing = await repo.nameTaken(trx, space(actor), parentId, name);
          const version = { tenant_id: tenantId, id: versionId, object_key: key, size: stored.size, content_type: contentType, sha256: stored.sha256, created_by: actor.onBehalfOf ?? actor.personId };
          if (existing?.kind === 'folder') throw new ConflictError(`Un dossier porte déjà le nom « ${name} ».`);
          if (existing) {
            await trx.selectFrom('document_nodes').select('id').where('id', '=', existing.id).forUpdate().execute();
            await trx.insertInto('document_versions').values({ ...version, node_id: existing.id }).execute();
            const row = await trx
              .updateTable('document_nodes')
              .set({ current_version_id: versionId, size: stored.size, content_type: contentType, updated_at: new Date() })
              .where('id', '=', existing.id)
              .returningAll()
              .executeTakeFirstOrThrow();
            const old = await trx
              .selectFrom('document_versions')
              .select(['id', 'object_key', 'size'])
              .where('node_id', '=', existing.id)
              .where('id', '<>', versionId)
              .orderBy('created_at', 'desc')
              .orderBy('id', 'desc')
              .offset(documentsSettings(actor.tenant.declaration).versionsKept - 1)
              .limit(1000)
              .execute();
            if (old.length) {
              await trx.deleteFrom('document_versions').where('id', 'in', old.map((v) => v.id)).execute();
              await repo.freeUsed(trx, tenantId, space(actor), old.reduce((s, v) => s + Number(v.size), 0));
            }
            // Last: the tenant's usage row, which every upload of the tenant locks, is held from here to COMMIT only.
            const spent = await consume(trx);
            return { node: repo.toNode(row), pruned: old.map((v) => v.object_key), spent };
          }
          const nodeId = newId();
          const row = await trx
            .insertInto('document_nodes')
            .values({ tenant_id: tenantId, id: nodeId, space_id: space(actor), owner_id: actor.personId, group_id: groupOf(actor), parent_id: parentId, kind: 'file', name, size: stored.size, content_type: contentType, current_version_id: versionId })
            .returningAll()
            .executeTakeFirstOrThrow();
          await trx.insertInto('document_versions').values({ ...version, node_id: nodeId }).execute();
          const spent = await consume(trx);
          return { node: repo.toNode(row), pruned: [] as string[], spent };
        });
        // Committed: a reservation used up is gone, there is nothing left to release.
        if (recorded.spent) reservation.spent = true;
        return recorded;
      } catch (error) {
        // Two uploads of one new name at once: the second becomes a version of the first.
        if (isUniqueViolation(error) && attempt < 2) continue;
        throw error;
      }
    }
  }

  /** Runs `fn` under a quota reservation of up to `wanted` bytes in `folderId`, released whatever happens. */
  async function reserved<T>(actor: Actor, folderId: string | null, wanted: number, fn: (reservation: Reservation) => Promise<T>): Promise<T> {
    const reservation = await reserve(actor, folderId, wanted);
    try {
      return await fn(reservation);
    } finally {
      await release(actor, reservation);
    }
  }

  /**
   * One file of an upload: streamed to S3, recorded against the reservation (the object deleted
   * if recording fails), pruned versions' objects deleted, then handed to the scanner.
   */
  async function store(actor: Actor, parentId: string | null, reservation: Reservation, name: string, file: IncomingFile, limit: number, tooLarge: () => DomainError, exactLength?: number) {
    const contentType = contentTypeOf(name);
    const versionId = newId();
    const key = tenantKey(actor.tenant.id, 'documents', versionId);
    const landed = await streamToS3(actor, file, key, contentType, limit, tooLarge, exactLength);
    let result: { node: DocumentNode; pruned: string[] };
    try {
      result = await record(actor, parentId, name, contentType, reservation, versionId, key, landed);
    } catch (error) {
      await deleteObjects(actor.tenant, [key]);
      throw error;
    }
    await deleteObjects(actor.tenant, result.pruned);
    await deps.afterStore?.(actor.tenant.id, { id: versionId, sha256: landed.sha256 });
    return { node: result.node, size: landed.size };
  }

  return {
    async usage(actor) {
      return tx(actor, async (trx) => {
        const usage = await repo.usageOf(trx, space(actor));
        return { used: usage.used, limit: await spaceQuota(trx, actor) };
      });
    },

    async list(actor, folderId) {
      return tx(actor, async (trx) => {
        const folder = await folderOrRoot(trx, actor, folderId);
        const path = folder ? await repo.ancestry(trx, folder.id) : [];
        return { folder, path, items: await repo.children(trx, space(actor), folder?.id ?? null) };
      });
    },

    async createFolder(actor, parentId, rawName) {
      const name = cleanName(rawName);
      try {
        return await tx(actor, async (trx) => {
          await folderOrRoot(trx, actor, parentId, true);
          if (await repo.nameTaken(trx, space(actor), parentId, name)) throw new ConflictError(`« ${name} » existe déjà dans ce dossier.`);
          const row = await trx
            .insertInto('document_nodes')
            .values({ tenant_id: actor.tenant.id, id: newId(), space_id: space(actor), owner_id: actor.personId, group_id: groupOf(actor), parent_id: parentId, kind: 'folder', name, content_type: null, current_version_id: null })
            .returningAll()
            .executeTakeFirstOrThrow();
          return repo.toNode(row);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`« ${name} » existe déjà dans ce dossier.`);
        throw error;
      }
    },

    async upload(actor, parentId, bound, files) {
      const limits = { largestUpload: largestUpload(actor.tenant) };
      return reserved(actor, parentId, bound ?? limits.largestUpload, async (reservation) => {
        const { granted, boundBy } = reservation;
        if (granted === 0 && boundBy !== 'request') throw new PayloadTooLargeError(boundBy === 'tenant' ? tenantQuotaMessage : quotaMessage);
        const stored: DocumentNode[] = [];
        let consumed = 0;
        for await (const file of files) {
          const name = cleanName(file.filename);
          const budget = granted - consumed;
          const limit = Math.min(budget, limits.largestUpload);
          const tooLarge = () =>
            limit === limits.largestUpload && limits.largestUpload < budget
              ? new PayloadTooLargeError(`« ${name} » dépasse la taille maximale d'un fichier (${actor.tenant.declaration.quotas.largestUpload}).`)
              : new PayloadTooLargeError(boundBy === 'tenant' ? tenantQuotaMessage : boundBy === 'space' ? quotaMessage : `« ${name} » est plus grand que l'envoi annoncé.`);
          const { node, size } = await store(actor, parentId, reservation, name, file, limit, tooLarge);
          consumed += size;
          stored.push(node);
        }
        return stored;
      });
    },

    async uploadSized(actor, parentId, rawName, length, stream) {
      const name = cleanName(rawName);
      const largest = largestUpload(actor.tenant);
      // Refused before a byte is read or reserved.
      if (length > largest) throw new PayloadTooLargeError(`« ${name} » dépasse la taille maximale d'un fichier (${actor.tenant.declaration.quotas.largestUpload}).`);
      return reserved(actor, parentId, length, async (reservation) => {
        if (reservation.granted < length) throw new PayloadTooLargeError(reservation.boundBy === 'tenant' ? tenantQuotaMessage : quotaMessage);
        const tooLarge = () => new PayloadTooLargeError(`« ${name} » est plus grand que l'envoi annoncé.`);
        const { node } = await store(actor, parentId, reservation, name, { filename: name, stream }, length, tooLarge, length);
        return node;
      });
    },

    async open(actor, fileId, versionId) {
      return tx(actor, async (trx) => {
        const node = await mine(trx, actor, fileId);
        if (node.kind !== 'file') throw new NotFoundError("Ce document n'existe pas.");
        const wantedId = versionId ?? node.currentVersionId!;
        if (!isUuid(wantedId)) throw new NotFoundError("Cette version n'existe pas.");
        const version = (await repo.versionsOf(trx, node.id)).find((v) => v.id === wantedId);
        if (!version) throw new NotFoundError("Cette version n'existe pas.");
        // Every download path comes here: a quarantined content is refused on all of them.
        const scan = await downloadGate(trx, version.sha256);
        return { node, version: scan ? { ...version, scan } : version };
      });
    },

    async read(actor, version, range) {
      try {
        const out = await storage.client.send(
          new GetObjectCommand({ Bucket: bucketFor(storage, actor.tenant), Key: version.objectKey, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) }),
        );
        return out.Body as Readable;
      } catch {
        throw new UnavailableError('Le stockage des documents ne répond pas. Réessayez dans un moment.');
      }
    },

    async rename(actor, id, rawName) {
      const name = cleanName(rawName);
      try {
        return await tx(actor, async (trx) => {
          const node = await mine(trx, actor, id, true);
          if (await repo.nameTaken(trx, space(actor), node.parentId, name, node.id)) throw new ConflictError(`« ${name} » existe déjà dans ce dossier.`);
          const contentType = node.kind === 'file' ? contentTypeOf(name) : null;
          const row = await trx.updateTable('document_nodes').set({ name, updated_at: new Date(), ...(contentType ? { content_type: contentType } : {}) }).where('id', '=', node.id).returningAll().executeTakeFirstOrThrow();
          return repo.toNode(row);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError(`« ${name} » existe déjà dans ce dossier.`);
        throw error;
      }
    },

    async move(actor, id, targetId) {
      try {
        return await tx(actor, async (trx) => {
          const node = await mine(trx, actor, id, true);
          const target = await folderOrRoot(trx, actor, targetId, true);
          if (target && (await repo.ancestry(trx, target.id)).some((n) => n.id === node.id)) {
            throw new BadRequestError('Un dossier ne peut pas être déplacé dans lui-même.');
          }
          if (await repo.nameTaken(trx, space(actor), target?.id ?? null, node.name, node.id)) throw new ConflictError(`« ${node.name} » existe déjà dans le dossier de destination.`);
          const row = await trx.updateTable('document_nodes').set({ parent_id: target?.id ?? null, updated_at: new Date() }).where('id', '=', node.id).returningAll().executeTakeFirstOrThrow();
          return repo.toNode(row);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw new ConflictError('Un document de ce nom existe déjà dans le dossier de destination.');
        throw error;
      }
    },

    async copy(actor, id, targetId, source = actor) {
      if (source.tenant.id !== actor.tenant.id) throw new Error('documents: a copy stays within its tenant');
      const { nodes, versions } = await tx(actor, async (trx) => {
        const node = await mine(trx, source, id);
        const target = await folderOrRoot(trx, actor, targetId);
        const nodes = (await repo.subtree(trx, node.id)).filter((n) => n.deletedAt === null);
        if (target && nodes.some((n) => n.id === target.id)) throw new BadRequestError('Un dossier ne peut pas être copié dans lui-même.');
        const versionIds = nodes.flatMap((n) => (n.currentVersionId ? [n.currentVersionId] : []));
        const versions = versionIds.length ? await trx.selectFrom('document_versions').selectAll().where('id', 'in', versionIds).execute() : [];
        return { nodes, versions };
      });
      const total = versions.reduce((s, v) => s + Number(v.size), 0);
      const reservation = await reserve(actor, targetId, total);
      const copied: string[] = [];
      try {
        if (reservation.granted < total) throw new PayloadTooLargeError(reservation.boundBy === 'tenant' ? tenantQuotaMessage : quotaMessage);
        const newVersion = new Map<string, string>();
        for (const v of versions) {
          const vid = newId();
          const key = tenantKey(actor.tenant.id, 'documents', vid);
          try {
            await copyObject(storage, bucketFor(storage, actor.tenant), { key: v.object_key, size: Number(v.size), contentType: v.content_type }, key, deps.copy);
          } catch {
            throw new UnavailableError("Le stockage des documents ne répond pas : la copie n'a pas été faite.");
          }
          copied.push(key);
          newVersion.set(v.id, vid);
        }
        const { root, spent } = await tx(actor, async (trx) => {
          await folderOrRoot(trx, actor, targetId, true);
          const spent = await repo.consume(trx, actor.tenant.id, space(actor), reservation.id, total);
          const newIds = new Map(nodes.map((n) => [n.id, newId()]));
          let rootNode: DocumentNode | undefined;
          for (const n of nodes) {
            const isRoot = n.id === id;
            const parentId = isRoot ? targetId : newIds.get(n.parentId!)!;
            const name = isRoot ? await freeName(trx, space(actor), parentId, n.name) : n.name;
            const vid = n.currentVersionId ? newVersion.get(n.currentVersionId)! : null;
            const row = await trx
              .insertInto('document_nodes')
              .values({ tenant_id: actor.tenant.id, id: newIds.get(n.id)!, space_id: space(actor), owner_id: actor.personId, group_id: groupOf(actor), parent_id: parentId, kind: n.kind, name, size: n.size, content_type: n.contentType, current_version_id: vid })
              .returningAll()
              .executeTakeFirstOrThrow();
            if (isRoot) rootNode = repo.toNode(row);
          }
          for (const v of versions) {
            const owner = nodes.find((n) => n.currentVersionId === v.id)!;
            const vid = newVersion.get(v.id)!;
            await trx
              .insertInto('document_versions')
              .values({ tenant_id: actor.tenant.id, id: vid, node_id: newIds.get(owner.id)!, object_key: tenantKey(actor.tenant.id, 'documents', vid), size: v.size, content_type: v.content_type, sha256: v.sha256, created_by: actor.onBehalfOf ?? actor.personId })
              .execute();
          }
          return { root: rootNode!, spent };
        });
        reservation.spent = spent;
        copied.length = 0;
        return root;
      } finally {
        await deleteObjects(actor.tenant, copied);
        await release(actor, reservation);
      }
    },

    async trash(actor, id) {
      return tx(actor, async (trx) => {
        const node = await mine(trx, actor, id, true);
        const now = new Date();
        const ids = (await repo.subtree(trx, node.id)).filter((n) => n.deletedAt === null).map((n) => n.id);
        await trx.updateTable('document_nodes').set({ deleted_at: now }).where('id', 'in', ids).execute();
        const row = await trx.updateTable('document_nodes').set({ trashed_root: true }).where('id', '=', node.id).returningAll().executeTakeFirstOrThrow();
        return repo.toNode(row);
      });
    },

    async listTrash(actor) {
      const rows = await tx(actor, (trx) =>
        trx.selectFrom('document_nodes').selectAll().where('space_id', '=', space(actor)).where('trashed_root', '=', true).where('deleted_at', 'is not', null).orderBy('deleted_at', 'desc').execute(),
      );
      return rows.map(repo.toNode);
    },

    async restore(actor, id) {
      return tx(actor, async (trx) => {
        const row = isUuid(id)
          ? await trx.selectFrom('document_nodes').selectAll().where('id', '=', id).where('space_id', '=', space(actor)).where('trashed_root', '=', true).where('deleted_at', 'is not', null).forUpdate().executeTakeFirst()
          : undefined;
        if (!row) throw new NotFoundError("Cet élément n'est pas dans la corbeille.");
        const node = repo.toNode(row);
        // Back where it was, or at the root if that folder is itself gone or in the trash.
        const parent = node.parentId ? await repo.liveNode(trx, space(actor), node.parentId) : undefined;
        const parentId = parent ? parent.id : null;
        const name = await freeName(trx, space(actor), parentId, node.name);
        const ids = (await repo.subtree(trx, node.id)).filter((n) => n.deletedAt?.getTime() === node.deletedAt!.getTime()).map((n) => n.id);
        await trx.updateTable('document_nodes').set({ deleted_at: null }).where('id', 'in', ids).execute();
        const restored = await trx.updateTable('document_nodes').set({ trashed_root: false, parent_id: parentId, name }).where('id', '=', node.id).returningAll().executeTakeFirstOrThrow();
        return repo.toNode(restored);
      });
    },

    async purge(actor, id) {
      const keys = await tx(actor, async (trx) => {
        const row = isUuid(id)
          ? await trx.selectFrom('document_nodes').selectAll().where('id', '=', id).where('space_id', '=', space(actor)).where('trashed_root', '=', true).where('deleted_at', 'is not', null).forUpdate().executeTakeFirst()
          : undefined;
        if (!row) throw new NotFoundError("Cet élément n'est pas dans la corbeille.");
        return purgeRoots(trx, actor.tenant.id, [repo.toNode(row)]);
      });
      await deleteObjects(actor.tenant, keys);
    },

    async emptyTrash(actor) {
      const { count, keys } = await tx(actor, async (trx) => {
        const rows = await trx.selectFrom('document_nodes').selectAll().where('space_id', '=', space(actor)).where('trashed_root', '=', true).where('deleted_at', 'is not', null).forUpdate().execute();
        return { count: rows.length, keys: await purgeRoots(trx, actor.tenant.id, rows.map(repo.toNode)) };
      });
      await deleteObjects(actor.tenant, keys);
      return count;
    },

    async purgeTrashedBefore(tenant, cutoff) {
      const tenantId = tenant.id;
      const { count, keys } = await tx(tenantId, async (trx) => {
        const rows = await trx.selectFrom('document_nodes').selectAll().where('trashed_root', '=', true).where('deleted_at', '<', cutoff).forUpdate().limit(500).execute();
        return { count: rows.length, keys: await purgeRoots(trx, tenantId, rows.map(repo.toNode)) };
      });
      await deleteObjects(tenant, keys);
      return count;
    },

    async versions(actor, fileId) {
      return tx(actor, async (trx) => {
        const node = await mine(trx, actor, fileId);
        if (node.kind !== 'file') throw new NotFoundError("Ce document n'existe pas.");
        return { node, versions: await repo.versionsOf(trx, node.id) };
      });
    },

    async restoreVersion(actor, fileId, versionId) {
      return tx(actor, async (trx) => {
        const node = await mine(trx, actor, fileId, true);
        const version = isUuid(versionId) && node.kind === 'file' ? (await repo.versionsOf(trx, node.id)).find((v) => v.id === versionId) : undefined;
        if (!version) throw new NotFoundError("Cette version n'existe pas.");
        // The old content becomes current again; it keeps its date, so pruning still keeps the newest.
        const row = await trx.updateTable('document_nodes').set({ current_version_id: version.id, size: version.size, updated_at: new Date() }).where('id', '=', node.id).returningAll().executeTakeFirstOrThrow();
        return repo.toNode(row);
      });
    },

    async folders(actor) {
      const rows = await tx(actor, (trx) =>
        trx.selectFrom('document_nodes').selectAll().where('space_id', '=', space(actor)).where('kind', '=', 'folder').where('deleted_at', 'is', null).orderBy(sql`lower(name)`).limit(1000).execute(),
      );
      return rows.map(repo.toNode);
    },

    async search(actor, query) {
      const q = query.normalize('NFC').trim();
      if (q === '') return [];
      const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const rows = await tx(actor, (trx) =>
        trx.selectFrom('document_nodes').selectAll().where('space_id', '=', space(actor)).where('deleted_at', 'is', null).where(sql<boolean>`name ilike ${pattern}`).orderBy(sql`lower(name)`).limit(100).execute(),
      );
      return rows.map(repo.toNode);
    },
  };
}
