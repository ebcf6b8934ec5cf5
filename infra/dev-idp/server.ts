// The development IdP of `make dev`: one SAML IdP per demo university on http://localhost:4000,
// each with demo accounts (a student, a teacher, a staff member, a tenant admin) listed on its
// login page. Keys are generated at every start and never written anywhere but the IdP metadata
// it publishes to tenants/<slug>/dev-idp-metadata.xml (git-ignored), which the demo declarations
// name. Not for production: there is no password.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildResponse, createIdp, idpMetadata, logoutResponseUrl, readAuthnRequest, readLogoutRequest, type TestIdp } from './idp.js';
import { escapeXml } from '../../src/identity/saml/xml.js';
import { inflateMessage } from '../../src/identity/saml/binding.js';

const PORT = Number(process.env.DEV_IDP_PORT ?? 4000);
const BASE = `http://localhost:${PORT}`;
const TENANTS_DIR = process.env.TENANTS_DIR ?? 'tenants';

interface Account { login: string; label: string; displayName: string; givenName: string; sn: string; affiliations: string[]; entitlements?: string[]; etuId?: string; empId?: string }

const UNIVERSITIES: Record<string, { name: string; scope: string; accounts: Account[]; metadataDir?: string }> = {
  nord: {
    name: 'Université du Nord',
    scope: 'univ-nord.example',
    accounts: [
      { login: 'camille.etudiante', label: 'Étudiante', displayName: 'Camille Lefebvre', givenName: 'Camille', sn: 'Lefebvre', affiliations: ['student', 'member'], etuId: '21900001' },
      { login: 'paul.enseignant', label: 'Enseignant', displayName: 'Paul Dubois', givenName: 'Paul', sn: 'Dubois', affiliations: ['faculty', 'employee', 'member'], empId: 'E1001' },
      { login: 'nadia.personnel', label: 'Personnel administratif', displayName: 'Nadia Mercier', givenName: 'Nadia', sn: 'Mercier', affiliations: ['staff', 'employee', 'member'], empId: 'E2002' },
      { login: 'admin.ent', label: "Administratrice de l'ENT", displayName: 'Sophie Admin', givenName: 'Sophie', sn: 'Admin', affiliations: ['staff', 'employee', 'member'], entitlements: ['urn:mace:univ-nord.example:portique:admin'], empId: 'E3003' },
    ],
  },
  sud: {
    name: 'Université du Sud',
    scope: 'univ-sud.example',
    accounts: [
      { login: 'lucas.etudiant', label: 'Étudiant', displayName: 'Lucas Garcia', givenName: 'Lucas', sn: 'Garcia', affiliations: ['student', 'member'], etuId: '22000002' },
      { login: 'marie.enseignante', label: 'Enseignante', displayName: 'Marie Roux', givenName: 'Marie', sn: 'Roux', affiliations: ['faculty', 'employee', 'member'], empId: 'S1001' },
      { login: 'jean.personnel', label: 'Personnel administratif', displayName: 'Jean Fabre', givenName: 'Jean', sn: 'Fabre', affiliations: ['staff', 'employee', 'member'], empId: 'S2002' },
      { login: 'admin.ent', label: "Administrateur de l'ENT", displayName: 'Karim Admin', givenName: 'Karim', sn: 'Admin', affiliations: ['staff', 'employee', 'member'], entitlements: ['urn:mace:univ-sud.example:portique:admin'], empId: 'S3003' },
    ],
  },
  // The consortium's own IdP, for the operator console (OPERATOR_HOST, infra/operator/operator.yaml).
  consortium: {
    name: 'Consortium Portique',
    scope: 'consortium.example',
    metadataDir: process.env.DEV_IDP_OPERATOR_DIR ?? 'infra/operator',
    accounts: [
      { login: 'alice.operatrice', label: 'Opératrice (déclarée dans operator.yaml)', displayName: 'Alice Moreau', givenName: 'Alice', sn: 'Moreau', affiliations: ['staff', 'member'] },
      { login: 'bob.consortium', label: "Salarié du consortium, pas opérateur (refusé)", displayName: 'Bob Lambert', givenName: 'Bob', sn: 'Lambert', affiliations: ['staff', 'member'] },
    ],
  },
};

const idps = new Map<string, TestIdp>();
for (const [slug, u] of Object.entries(UNIVERSITIES)) {
  const idp = await createIdp({ entityId: `${BASE}/${slug}/idp`, ssoUrl: `${BASE}/${slug}/sso`, sloUrl: `${BASE}/${slug}/slo`, scopes: [u.scope] });
  idps.set(slug, idp);
  await writeFile(join(u.metadataDir ?? join(TENANTS_DIR, slug), 'dev-idp-metadata.xml'), idpMetadata(idp, `${u.name} (IdP de développement)`));
}

const page = (title: string, body: string) =>
  `<!doctype html><html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeXml(title)}</title>` +
  `<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}button{font-size:1rem;padding:.6rem 1rem;margin:.3rem 0;width:100%;text-align:left}</style></head><body>${body}</body></html>`;

function send(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(html);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 64 * 1024) throw new Error('too large');
  }
  return new URLSearchParams(body);
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', BASE);
    const [, slug, action] = url.pathname.split('/');
    const idp = idps.get(slug ?? '');
    const university = UNIVERSITIES[slug ?? ''];
    if (!idp || !university) {
      return send(res, 200, page('IdP de développement', `<h1>IdP de développement</h1><ul>${[...idps.keys()].map((s) => `<li><a href="/${s}/metadata">${s}</a></li>`).join('')}</ul>`));
    }
    if (action === 'metadata') return res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' }).end(idpMetadata(idp, university.name));
    if (action === 'sso' && req.method === 'GET') {
      const request = readAuthnRequest(url.toString());
      const hidden = (name: string, value: string | undefined) => (value === undefined ? '' : `<input type="hidden" name="${name}" value="${escapeXml(value)}">`);
      const buttons = university.accounts
        .map((a) => `<button name="account" value="${escapeXml(a.login)}">${escapeXml(a.displayName)} — ${escapeXml(a.label)} <small>(${escapeXml(a.login)}@${university.scope})</small></button>`)
        .join('');
      return send(res, 200, page(`Connexion — ${university.name}`, `<h1>${escapeXml(university.name)}</h1><p>IdP de développement : choisissez un compte de démonstration (pas de mot de passe).</p>` +
        `<form method="post" action="/${slug}/login">${hidden('id', request.id)}${hidden('acs', request.acsUrl)}${hidden('sp', request.issuer)}${hidden('relay', request.relayState)}${buttons}</form>`));
    }
    if (action === 'login' && req.method === 'POST') {
      const form = await readForm(req);
      const account = university.accounts.find((a) => a.login === form.get('account'));
      const acs = form.get('acs') ?? '';
      if (!account || !/^https?:\/\/[a-z0-9.-]+(:\d+)?\/saml\/acs$/.test(acs)) return send(res, 400, page('Erreur', '<p>Demande invalide.</p>'));
      const eppn = `${account.login}@${university.scope}`;
      const values: [string, string, string[]][] = [
        ['1.3.6.1.4.1.5923.1.1.1.6', 'eduPersonPrincipalName', [eppn]],
        ['1.3.6.1.4.1.5923.1.1.1.1', 'eduPersonAffiliation', account.affiliations],
        ['1.3.6.1.4.1.5923.1.1.1.5', 'eduPersonPrimaryAffiliation', [account.affiliations[0]!]],
        ['0.9.2342.19200300.100.1.3', 'mail', [`${account.login}@${university.scope}`]],
        ['2.16.840.1.113730.3.1.241', 'displayName', [account.displayName]],
        ['2.5.4.42', 'givenName', [account.givenName]],
        ['2.5.4.4', 'sn', [account.sn]],
        ['1.3.6.1.4.1.7135.1.2.1.14', 'supannEtablissement', ['{UAI}0000000A']],
        ...(account.entitlements ? [['1.3.6.1.4.1.5923.1.1.1.7', 'eduPersonEntitlement', account.entitlements] as [string, string, string[]]] : []),
        ...(account.etuId ? [['1.3.6.1.4.1.7135.1.2.1.10', 'supannEtuId', [account.etuId]] as [string, string, string[]]] : []),
        ...(account.empId ? [['1.3.6.1.4.1.7135.1.2.1.11', 'supannEmpId', [account.empId]] as [string, string, string[]]] : []),
      ];
      const response = await buildResponse(idp, {
        issuer: idp.entityId,
        audience: form.get('sp') ?? '',
        recipient: acs,
        destination: acs,
        inResponseTo: form.get('id') ?? undefined,
        nameId: `${slug}-${account.login}`,
        nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
        sessionIndex: `_${slug}-${account.login}-${Date.now()}`,
        attributes: values.map(([oid, friendlyName, v]) => ({ name: `urn:oid:${oid}`, friendlyName, values: v })),
      });
      const relay = form.get('relay');
      // Without JavaScript the button posts; with it, the form posts itself (as real IdPs do).
      return send(res, 200, page('Connexion en cours', `<form id="f" method="post" action="${escapeXml(acs)}"><input type="hidden" name="SAMLResponse" value="${response}">` +
        `${relay ? `<input type="hidden" name="RelayState" value="${escapeXml(relay)}">` : ''}<p>Connexion réussie en tant que ${escapeXml(account.displayName)}.</p><button>Continuer vers le portail</button></form>` +
        `<script>document.getElementById('f').submit()</script>`));
    }
    if (action === 'slo' && req.method === 'GET' && url.searchParams.has('SAMLRequest')) {
      const request = readLogoutRequest(url.toString());
      const issuer = readAuthnIssuer(url);
      const sloUrl = issuer.replace(/\/saml\/metadata$/, '/saml/slo');
      res.writeHead(303, { location: logoutResponseUrl(idp, { destination: sloUrl, inResponseTo: request.id, relayState: request.relayState }) }).end();
      return;
    }
    send(res, 404, page('Introuvable', '<p>Introuvable.</p>'));
  } catch (error) {
    send(res, 400, page('Erreur', `<p>${escapeXml((error as Error).message)}</p>`));
  }
});

function readAuthnIssuer(url: URL): string {
  const xml = inflateMessage(url.searchParams.get('SAMLRequest') ?? '');
  return /<saml:Issuer>([^<]+)<\/saml:Issuer>/.exec(xml)?.[1] ?? '';
}

server.listen(PORT, '127.0.0.1', () => {
  console.log(`development IdP on ${BASE} (${[...idps.keys()].map((s) => `${BASE}/${s}/idp`).join(', ')})`);
});
