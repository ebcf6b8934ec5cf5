// Services record their usage: uploads, downloads and searches in Mes documents, searches in the
// white pages, each under the person who did it and the service it belongs to.
import t from 'tap';
import { eventually } from '../helpers/jobs.js';
import { loginAs, send, startDocs, upload } from '../documents/helpers.js';

const h = await startDocs();
t.teardown(() => h.close());
const sacha = await loginAs(h, 'nord', 'sacha@univ-nord.example');

const events = () =>
  h.p.database.app.withTenant(h.nord, (trx) =>
    trx.selectFrom('usage_person_days').select(['event', 'service', 'person_id']).where('event', '<>', 'page.view').where('event', '<>', 'login').execute(),
  );

t.test('upload, download and search in documents; search in the white pages', async (t) => {
  const uploaded = JSON.parse((await upload(h, sacha, 'notes.txt', Buffer.from('notes de cours'))).body.toString()).files[0] as { id: string };
  t.equal((await send(h, sacha, 'GET', `/documents/fichiers/${uploaded.id}`)).status, 200);
  t.equal((await send(h, sacha, 'GET', '/documents/recherche?q=notes')).status, 200);
  t.equal((await send(h, sacha, 'GET', '/annuaire?q=sacha', { headers: { accept: 'text/html' } })).status, 200);
  await eventually('the events are written (batched, about every second)', async () => (await events()).length >= 4);
  const seen = (await events()).map((e) => `${e.event}/${e.service}`).sort();
  t.same(seen, ['download/documents', 'search/directory', 'search/documents', 'upload/documents']);
  t.ok((await events()).every((e) => e.person_id === sacha.personId), 'each under the person who did it');
});
