// Documents tests: a full Portique listening on a real port (uploads stream through a socket, so
// a client can disconnect mid-file), people logged in through the test login route, and a
// multipart body builder that streams generated content with a known length and checksum.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Test } from 'tap';
import { parseDocument } from 'yaml';
import { newId } from '../../src/platform/ids.js';
import { startPortique, type TestPortique } from '../helpers/app.js';
import { identityTenantsDir, login, loginRoute, verifiedLogin, cookieOf } from '../identity/helpers.js';

export interface DocsHarness {
  p: TestPortique;
  port: number;
  nord: string;
  sud: string;
  close(): Promise<void>;
}

/**
 * nord: 200 MiB per person, 100 MiB per file; sud: 5 MiB per person, 1 MiB per file.
 * `nordBucket`: nord declares its own bucket (storage.bucket), created by apply in s3rver.
 */
export async function startDocs(options: { nordBucket?: string } = {}): Promise<DocsHarness> {
  const dir = await identityTenantsDir();
  const quotas = { nord: { storageTotal: '1 GiB', storagePerPerson: '200 MiB', largestUpload: '100 MiB' }, sud: { storageTotal: '1 GiB', storagePerPerson: '5 MiB', largestUpload: '1 MiB' } };
  for (const [slug, q] of Object.entries(quotas)) {
    const file = join(dir, `${slug}.yaml`);
    const doc = parseDocument(await readFile(file, 'utf8'));
    for (const [k, v] of Object.entries(q)) doc.setIn(['quotas', k], v);
    if (slug === 'nord' && options.nordBucket) doc.setIn(['storage', 'bucket'], options.nordBucket);
    await writeFile(file, doc.toString());
  }
  const p = await startPortique({ tenantsDir: dir, beforeReady: (app) => loginRoute(app) });
  await p.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (p.app.server.address() as AddressInfo).port;
  return { p, port, nord: p.registry.bySlug('nord')!.id, sud: p.registry.bySlug('sud')!.id, close: () => p.close() };
}

export interface Person {
  host: string;
  tenantId: string;
  personId: string;
  cookie: string;
  csrf: string;
}

export async function loginAs(h: DocsHarness, slug: 'nord' | 'sud', eppn: string): Promise<Person> {
  const host = `${slug}.localhost`;
  const tenantId = slug === 'nord' ? h.nord : h.sud;
  const attributes = { eduPersonPrincipalName: [eppn], displayName: [eppn], mail: [eppn], eduPersonAffiliation: ['student'] };
  const nameId = { value: `nid-${eppn}`, format: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' };
  const res = await login(h.p.app, host, verifiedLogin(tenantId, { attributes, nameId, ...(slug === 'sud' ? { idpEntityId: 'https://idp.univ-sud.example/idp/shibboleth' } : {}) }));
  const value = cookieOf(res);
  if (!value) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  const cookie = `portique_session=${value}`;
  const page = await h.p.app.inject({ method: 'GET', url: '/documents', headers: { host, cookie, accept: 'text/html' } });
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(page.body)?.[1];
  if (!csrf) throw new Error(`no csrf token: ${page.statusCode}`);
  const { id: personId } = await h.p.database.app.withTenant(tenantId, (trx) => trx.selectFrom('people').select('id').where('mail', '=', eppn).executeTakeFirstOrThrow());
  return { host, tenantId, personId, cookie, csrf };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export function send(h: DocsHarness, who: Person, method: string, path: string, options: { headers?: Record<string, string | number>; body?: Readable | Buffer | string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: h.port, agent: false, method, path, headers: { host: who.host, cookie: who.cookie, 'x-csrf-token': who.csrf, accept: 'application/json', ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.body instanceof Readable) options.body.pipe(req);
    else req.end(options.body);
  });
}

/** Deterministic pseudo-random content, generated as it is read: `size` bytes, never all in memory. */
export function generated(size: number, seed = 'seed'): { stream: () => Readable; sha256: string } {
  const block = createHash('sha512').update(seed).digest();
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i += block.length) block.copy(chunk, i);
  const hash = createHash('sha256');
  for (let left = size; left > 0; left -= chunk.length) hash.update(chunk.subarray(0, Math.min(chunk.length, left)));
  const sha256 = hash.digest('hex');
  return {
    sha256,
    stream: () =>
      Readable.from(
        (function* () {
          for (let left = size; left > 0; left -= chunk.length) yield Buffer.from(chunk.subarray(0, Math.min(chunk.length, left)));
        })(),
      ),
  };
}

/** A multipart/form-data body with one file, streamed; its exact length is known in advance. */
export function multipartBody(filename: string, size: number, content: () => Readable): { headers: Record<string, string | number>; body: Readable } {
  const boundary = `----portique${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="fichiers"; filename="${filename.replace(/"/g, '%22')}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const body = Readable.from(
    (async function* () {
      yield head;
      yield* content();
      yield tail;
    })(),
  );
  return { headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': head.length + size + tail.length }, body };
}

export async function upload(h: DocsHarness, who: Person, filename: string, content: Buffer | { size: number; stream: () => Readable }, folder?: string): Promise<Reply> {
  const size = Buffer.isBuffer(content) ? content.length : content.size;
  const make = Buffer.isBuffer(content) ? () => Readable.from([content]) : content.stream;
  const { headers, body } = multipartBody(filename, size, make);
  return send(h, who, 'POST', `/documents/envoi${folder ? `?dossier=${folder}` : ''}`, { headers, body });
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export async function objectsOf(h: DocsHarness, tenantId: string, bucket = h.p.storage.bucket): Promise<string[]> {
  const out = await h.p.storage.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${tenantId}/documents/` }));
  return (out.Contents ?? []).map((o) => o.Key!);
}

export async function bookkeeping(h: DocsHarness, who: Person) {
  return h.p.database.app.withTenant(who.tenantId, async (trx) => {
    const usage = await trx.selectFrom('document_usage').select(['used', 'reserved']).where('space_id', '=', who.personId).executeTakeFirst();
    const reservations = await trx.selectFrom('document_reservations').select('id').where('space_id', '=', who.personId).execute();
    const nodes = await trx.selectFrom('document_nodes').select(['id', 'name', 'kind']).where('space_id', '=', who.personId).execute();
    return { used: Number(usage?.used ?? 0), reserved: Number(usage?.reserved ?? 0), reservations: reservations.length, nodes };
  });
}

/** Once the server has given the reservation back (it does so after the client is gone), or 10 s. */
async function settledBookkeeping(h: DocsHarness, who: Person) {
  let books = await bookkeeping(h, who);
  for (let i = 0; i < 100 && (books.reservations > 0 || books.reserved > 0); i++) {
    await sleep(100);
    books = await bookkeeping(h, who);
  }
  return books;
}

/**
 * After a failed upload that began with `objectsBefore` in S3: once the server has settled, no
 * reservation, no usage, no row and no new object for `who`.
 */
export async function assertNothingLeftBehind(t: Test, h: DocsHarness, who: Person, objectsBefore: string[]): Promise<void> {
  const books = await settledBookkeeping(h, who);
  t.equal(books.reservations, 0, 'reservation given back');
  t.equal(books.reserved, 0);
  t.equal(books.used, 0);
  t.same(books.nodes, [], 'no row');
  t.same(await objectsOf(h, who.tenantId), objectsBefore, 'no object');
}

/**
 * A client that goes away mid-upload: sends `head` (if any) then 12 MiB of a larger announced body
 * (past the first S3 part, so an upload is under way), waits 300 ms and drops the connection.
 */
export function hangUpMidBody(h: DocsHarness, who: Person, request: { method: string; path: string; headers: Record<string, string | number>; head?: Buffer }): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port: h.port, agent: false, method: request.method, path: request.path, headers: { ...request.headers, host: who.host, cookie: who.cookie, 'x-csrf-token': who.csrf, accept: 'application/json' } });
    req.on('error', () => resolve());
    req.on('response', () => resolve());
    if (request.head) req.write(request.head);
    const chunk = randomBytes(1024 * 1024);
    let sent = 0;
    const pump = () => {
      while (sent < 12) {
        sent++;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    };
    pump();
  });
}

/** A workgroup of `tenantId` with these members and roles; returns its id. */
export async function groupWith(h: DocsHarness, tenantId: string, name: string, members: [Person, 'owner' | 'member'][]): Promise<string> {
  const id = newId();
  await h.p.database.app.withTenant(tenantId, async (trx) => {
    await trx.insertInto('groups').values({ tenant_id: tenantId, id, kind: 'workgroup', name }).execute();
    await trx.insertInto('group_members').values(members.map(([who, role]) => ({ tenant_id: tenantId, group_id: id, person_id: who.personId, role }))).execute();
  });
  return id;
}

/** JSON request options for send(). */
export const json = (body: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
export const parse = <T>(res: { body: Buffer }) => JSON.parse(res.body.toString()) as T;
/** The first stored file of an upload's JSON answer. */
export const fileOf = (res: { body: Buffer }) => parse<{ files: { id: string }[] }>(res).files[0]!;
/** POST with a JSON body. */
export const postJson = (h: DocsHarness, who: Person, path: string, body: unknown = {}) => send(h, who, 'POST', path, json(body));
