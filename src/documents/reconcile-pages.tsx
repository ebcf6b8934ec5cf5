// The tenant admin's page of documents checks (/admin/documents/controles): what the nightly
// reconciliation (reconcile.ts) found and did, run by run, and whether the virus scan is on.
import type { FastifyPluginAsync } from 'fastify';
import { requireRole } from '../identity/authorize.js';
import type { DbHandle } from '../platform/db.js';
import { NotFoundError } from '../platform/errors.js';
import { pageContext } from '../web/context.js';
import { Layout, type PageContext } from '../web/layout.js';
import { wantsJson } from '../web/plugin.js';
import { sendPage } from '../web/render.js';
import { recentReconciliations, type MissingOutcome, type Reconciliation } from './reconcile.js';

const WORDS = {
  fr: {
    title: 'Contrôles des documents',
    intro:
      "Chaque nuit, Portique compare les fichiers enregistrés dans le stockage avec ses propres fiches. Un fichier du stockage sans fiche (reste d'un envoi interrompu) est signalé ici puis effacé ; une fiche dont le contenu a disparu du stockage est signalée, la version perdue est retirée et son propriétaire est prévenu. Les réservations d'espace d'envois jamais terminés sont rendues aux quotas.",
    scanOn: 'Analyse antivirus : active. Chaque nouveau fichier est analysé ; un fichier infecté est mis en quarantaine.',
    scanOff: "Analyse antivirus : désactivée (aucun serveur clamd n'est configuré).",
    none: "Aucun contrôle n'a encore été fait.",
    run: 'Contrôle du {date}',
    listed: '{objects} fichiers dans le stockage (compartiment {bucket}), {versions} versions enregistrées.',
    orphans: 'Fichiers du stockage sans fiche, effacés : {count} ({size})',
    missing: 'Versions dont le contenu a disparu du stockage : {count}',
    reservations: "Réservations d'envois interrompus rendues : {count} ({size})",
    allGood: 'Tout concorde.',
    key: 'Clé',
    size: 'Taille',
    date: 'Date',
    name: 'Fichier',
    outcome: 'Ce qui a été fait',
    truncated: 'Seuls les {shown} premiers sont listés.',
    outcomes: {
      'version-dropped': 'ancienne version retirée',
      'previous-version-current': 'la version précédente est redevenue actuelle',
      'file-removed': 'fichier retiré (plus aucune version)',
      'already-gone': 'déjà supprimé entre-temps',
      'not-confirmed': 'non confirmé',
    } satisfies Record<MissingOutcome, string>,
  },
  en: {
    title: 'Document checks',
    intro:
      'Every night, Portique compares the files kept in the storage with its own records. A stored file without a record (left by an interrupted upload) is reported here, then erased; a record whose content is gone from the storage is reported, the lost version is removed and its owner is told. Space reserved by uploads that never finished is given back to the quotas.',
    scanOn: 'Virus scan: on. Every new file is scanned; an infected file is quarantined.',
    scanOff: 'Virus scan: off (no clamd server is configured).',
    none: 'No check has run yet.',
    run: 'Check of {date}',
    listed: '{objects} files in the storage (bucket {bucket}), {versions} recorded versions.',
    orphans: 'Stored files without a record, erased: {count} ({size})',
    missing: 'Versions whose content is gone from the storage: {count}',
    reservations: 'Reservations of interrupted uploads given back: {count} ({size})',
    allGood: 'Everything matches.',
    key: 'Key',
    size: 'Size',
    date: 'Date',
    name: 'File',
    outcome: 'What was done',
    truncated: 'Only the first {shown} are listed.',
    outcomes: {
      'version-dropped': 'older version removed',
      'previous-version-current': 'the previous version is current again',
      'file-removed': 'file removed (no version left)',
      'already-gone': 'already deleted meanwhile',
      'not-confirmed': 'not confirmed',
    } satisfies Record<MissingOutcome, string>,
  },
};

function fill(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (m, k: string) => (k in values ? String(values[k]) : m));
}

function bytes(n: number, locale: string): string {
  const units = ['o', 'Kio', 'Mio', 'Gio', 'Tio'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toLocaleString(locale, { maximumFractionDigits: 1 })} ${units[i]}`;
}

function Run(props: { ctx: PageContext; run: Reconciliation }) {
  const { ctx, run } = props;
  const w = WORDS[ctx.locale];
  const when = run.startedAt.toLocaleString(ctx.locale, { timeZone: 'Europe/Paris', dateStyle: 'long', timeStyle: 'short' });
  const clean = run.orphanObjectsCount === 0 && run.missingObjectsCount === 0 && run.reservationsReleased === 0;
  return (
    <section aria-labelledby={`run-${run.id}`}>
      <h2 id={`run-${run.id}`}>{fill(w.run, { date: when })}</h2>
      <p>{fill(w.listed, { objects: run.objectsListed.toLocaleString(ctx.locale), versions: run.versionsListed.toLocaleString(ctx.locale), bucket: run.bucket })}</p>
      {clean && <p>{w.allGood}</p>}
      {run.orphanObjectsCount > 0 && (
        <details open>
          <summary>{fill(w.orphans, { count: run.orphanObjectsCount, size: bytes(run.orphanBytes, ctx.locale) })}</summary>
          <table class="data">
            <thead>
              <tr>
                <th scope="col">{w.key}</th>
                <th scope="col">{w.size}</th>
                <th scope="col">{w.date}</th>
              </tr>
            </thead>
            <tbody>
              {run.orphanObjects.map((o) => (
                <tr>
                  <td><code>{o.key}</code></td>
                  <td>{bytes(o.size, ctx.locale)}</td>
                  <td>{new Date(o.lastModified).toLocaleString(ctx.locale, { timeZone: 'Europe/Paris' })}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {run.orphanObjects.length < run.orphanObjectsCount && <p>{fill(w.truncated, { shown: run.orphanObjects.length })}</p>}
        </details>
      )}
      {run.missingObjectsCount > 0 && (
        <details open>
          <summary>{fill(w.missing, { count: run.missingObjectsCount })}</summary>
          <table class="data">
            <thead>
              <tr>
                <th scope="col">{w.name}</th>
                <th scope="col">{w.size}</th>
                <th scope="col">{w.outcome}</th>
              </tr>
            </thead>
            <tbody>
              {run.missingObjects.map((m) => (
                <tr>
                  <td>{m.name}</td>
                  <td>{bytes(m.size, ctx.locale)}</td>
                  <td>{w.outcomes[m.outcome]}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {run.missingObjects.length < run.missingObjectsCount && <p>{fill(w.truncated, { shown: run.missingObjects.length })}</p>}
        </details>
      )}
      {run.reservationsReleased > 0 && <p>{fill(w.reservations, { count: run.reservationsReleased, size: bytes(run.reservedBytesReleased, ctx.locale) })}</p>}
    </section>
  );
}

export function ReconciliationPage(props: { ctx: PageContext; runs: Reconciliation[]; scanOn: boolean }) {
  const { ctx, runs } = props;
  const w = WORDS[ctx.locale];
  return (
    <Layout ctx={ctx} title={w.title}>
      <h1>{w.title}</h1>
      <p>{w.intro}</p>
      <p role="status">{props.scanOn ? w.scanOn : w.scanOff}</p>
      {runs.length === 0 ? <p>{w.none}</p> : runs.map((run) => <Run ctx={ctx} run={run} />)}
    </Layout>
  );
}

export const reconciliationRoutes: FastifyPluginAsync<{ database: DbHandle; scanOn: boolean }> = async (app, { database, scanOn }) => {
  const guard = requireRole('admin');
  app.get('/admin/documents/controles', { preHandler: guard }, async (request, reply) => {
    if (!request.tenant?.declaration.services.includes('documents')) throw new NotFoundError();
    const runs = await recentReconciliations(database, request.tenant.id, 30);
    if (wantsJson(request)) return reply.send({ virusScan: scanOn ? 'on' : 'off', runs });
    return sendPage(reply, <ReconciliationPage ctx={pageContext(request)} runs={runs} scanOn={scanOn} />);
  });
};
