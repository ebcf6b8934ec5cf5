// A real OpenLDAP (Debian's slapd) for one test file: a loopback port, a SUPANN-like schema and a
// suffix made here, fixtures added through ldapts. Removed at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';

export const SUFFIX = 'dc=univ-nord,dc=example';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PW = 'test-ldap-secret';
export const PEOPLE_DN = `ou=people,${SUFFIX}`;
export const GROUPS_DN = `ou=groups,${SUFFIX}`;

// OIDs under a private arc: the shape of SUPANN and eduPerson, not their registered numbers.
const SCHEMA = `
attributetype ( 1.3.6.1.4.1.99999.1.1 NAME 'eduPersonAffiliation' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.99999.1.2 NAME 'eduPersonPrincipalName' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.3 NAME 'supannListeRouge' EQUALITY booleanMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.7 SINGLE-VALUE )
attributetype ( 1.3.6.1.4.1.99999.1.4 NAME 'supannEntiteAffectation' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.99999.1.5 NAME 'supannEtuEtape' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
objectclass ( 1.3.6.1.4.1.99999.2.1 NAME 'eduPerson' AUXILIARY MAY ( eduPersonAffiliation $ eduPersonPrincipalName ) )
objectclass ( 1.3.6.1.4.1.99999.2.2 NAME 'supannPerson' AUXILIARY MAY ( supannListeRouge $ supannEntiteAffectation $ supannEtuEtape ) )
`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface TestLdap {
  url: string;
  client(): Promise<Client>;
  addPerson(uid: string, attrs: Record<string, string | string[]>): Promise<void>;
  modify(uid: string, attrs: Record<string, string | string[]>): Promise<void>;
  remove(uid: string): Promise<void>;
  /** A SUPANN group under GROUPS_DN: groupOfNames (member) or groupOfUniqueNames (uniqueMember) of these uids or DNs. */
  addGroup(cn: string, members: string[], options?: { description?: string; unique?: boolean }): Promise<void>;
  modifyGroup(cn: string, attrs: Record<string, string | string[]>): Promise<void>;
  /** The DN of a person added by addPerson. */
  dnOf(uid: string): string;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startLdap(): Promise<TestLdap> {
  const dir = await mkdtemp(join(tmpdir(), 'portique-slapd-'));
  await mkdir(join(dir, 'data'));
  await writeFile(join(dir, 'supann.schema'), SCHEMA);
  await writeFile(
    join(dir, 'slapd.conf'),
    [
      'include /etc/ldap/schema/core.schema',
      'include /etc/ldap/schema/cosine.schema',
      'include /etc/ldap/schema/inetorgperson.schema',
      `include ${join(dir, 'supann.schema')}`,
      `pidfile ${join(dir, 'slapd.pid')}`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'database mdb',
      `suffix "${SUFFIX}"`,
      `rootdn "${ROOT_DN}"`,
      `rootpw ${ROOT_PW}`,
      `directory ${join(dir, 'data')}`,
      'maxsize 104857600',
      '',
    ].join('\n'),
  );
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  let child: ChildProcess | undefined = spawn('/usr/sbin/slapd', ['-f', join(dir, 'slapd.conf'), '-h', `${url}/`, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const client = async () => {
    const c = new Client({ url, timeout: 5000, connectTimeout: 5000 });
    await c.bind(ROOT_DN, ROOT_PW);
    return c;
  };
  let admin: Client | undefined;
  for (let i = 0; i < 100 && !admin; i++) {
    try {
      admin = await client();
    } catch {
      if (child.exitCode !== null) throw new Error(`slapd exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  if (!admin) throw new Error(`slapd did not answer: ${stderr}`);
  await admin.add(SUFFIX, { objectClass: ['dcObject', 'organization'], dc: 'univ-nord', o: 'Université du Nord' });
  await admin.add(PEOPLE_DN, { objectClass: 'organizationalUnit', ou: 'people' });
  await admin.add(GROUPS_DN, { objectClass: 'organizationalUnit', ou: 'groups' });
  const dnOf = (uid: string) => `uid=${uid},${PEOPLE_DN}`;
  const stop = async () => {
    if (!child) return;
    const c = child;
    child = undefined;
    await admin?.unbind().catch(() => {});
    c.kill('SIGTERM');
    if (c.exitCode === null) await new Promise((r) => c.once('exit', r));
  };
  return {
    url,
    client,
    async addPerson(uid, attrs) {
      await admin!.add(dnOf(uid), { objectClass: ['inetOrgPerson', 'eduPerson', 'supannPerson'], uid, cn: uid, ...attrs });
    },
    async modify(uid, attrs) {
      await admin!.modify(
        dnOf(uid),
        Object.entries(attrs).map(([type, values]) => new Change({ operation: 'replace', modification: new Attribute({ type, values: [values].flat() }) })),
      );
    },
    async remove(uid) {
      await admin!.del(dnOf(uid));
    },
    async addGroup(cn, members, options = {}) {
      const dns = members.map((m) => (m.includes('=') ? m : dnOf(m)));
      await admin!.add(`cn=${cn},${GROUPS_DN}`, {
        objectClass: options.unique ? 'groupOfUniqueNames' : 'groupOfNames',
        cn,
        [options.unique ? 'uniqueMember' : 'member']: dns,
        ...(options.description ? { description: options.description } : {}),
      });
    },
    async modifyGroup(cn, attrs) {
      await admin!.modify(
        `cn=${cn},${GROUPS_DN}`,
        Object.entries(attrs).map(([type, values]) => new Change({ operation: 'replace', modification: new Attribute({ type, values: [values].flat() }) })),
      );
    },
    dnOf,
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
