// The tenant admin's statistics page: a period picker (a GET form), charts and the same figures
// as tables, and the CSV link.
import { Layout, type PageContext } from '../web/layout.js';
import { BarChart } from './chart.js';
import type { Breakdown, Figure, UsageReport } from './report.js';

const WORDS = {
  fr: {
    title: "Statistiques d'usage",
    period: 'Période',
    from: 'Du',
    to: 'Au',
    show: 'Afficher',
    csv: 'Exporter en CSV',
    daily: 'Personnes actives par jour',
    monthly: 'Personnes actives par mois',
    day: 'Jour',
    month: 'Mois',
    people: 'Personnes actives',
    events: 'Événements',
    service: 'Service',
    affiliation: 'Statut',
    event: 'Événement',
    average: 'Personnes actives par jour (moyenne)',
    withheldDays: 'Jours masqués',
    withheld: 'masqué',
    byService: 'Par service',
    byAffiliation: 'Par statut',
    byEvent: "Par type d'événement",
    kNote: 'Aucun chiffre ne porte sur moins de {k} personnes : un tel chiffre est masqué.',
    none: 'Aucune donnée sur cette période.',
    invalid: 'La période demandée est invalide ; voici les 30 derniers jours.',
  },
  en: {
    title: 'Usage statistics',
    period: 'Period',
    from: 'From',
    to: 'To',
    show: 'Show',
    csv: 'Export as CSV',
    daily: 'Active people per day',
    monthly: 'Active people per month',
    day: 'Day',
    month: 'Month',
    people: 'Active people',
    events: 'Events',
    service: 'Service',
    affiliation: 'Affiliation',
    event: 'Event',
    average: 'Active people per day (average)',
    withheldDays: 'Days withheld',
    withheld: 'withheld',
    byService: 'By service',
    byAffiliation: 'By affiliation',
    byEvent: 'By event type',
    kNote: 'No figure is about fewer than {k} people: such a figure is withheld.',
    none: 'No data for this period.',
    invalid: 'The requested period is invalid; here are the last 30 days.',
  },
};

export function StatisticsPage(props: { ctx: PageContext; report: UsageReport; invalid: boolean }) {
  const { ctx, report } = props;
  const w = WORDS[ctx.locale];
  const fig = (value: Figure) => (value === null ? <em>{w.withheld}</em> : value.toLocaleString(ctx.locale));
  const query = `du=${report.period.from}&au=${report.period.to}`;
  const table = (caption: string, keyLabel: string, rows: Breakdown[]) => (
    <section>
      <h2>{caption}</h2>
      {rows.length === 0 ? (
        <p>{w.none}</p>
      ) : (
        // Four columns do not fit a phone: there each row becomes a card, the headings in its cells.
        <table class="sessions data">
          <thead>
            <tr>
              <th scope="col">{keyLabel}</th>
              <th scope="col">{w.events}</th>
              <th scope="col">{w.average}</th>
              <th scope="col">{w.withheldDays}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr>
                <th scope="row">{r.key}</th>
                <td data-label={w.events}>{r.events.toLocaleString(ctx.locale)}</td>
                <td data-label={w.average}>{fig(r.averageDailyPeople)}</td>
                <td data-label={w.withheldDays}>{r.withheldDays}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
  return (
    <Layout ctx={ctx} title={w.title}>
      <h1>{w.title}</h1>
      {props.invalid && <p role="alert">{w.invalid}</p>}
      <form method="get" action="/admin/statistiques" class="period-picker">
        <fieldset>
          <legend>{w.period}</legend>
          <label>
            {w.from} <input type="date" name="du" value={report.period.from} required />
          </label>{' '}
          <label>
            {w.to} <input type="date" name="au" value={report.period.to} required />
          </label>{' '}
          <button type="submit">{w.show}</button>
        </fieldset>
      </form>
      <p>
        <a href={`/admin/statistiques.csv?${query}`} download>
          {w.csv}
        </a>
      </p>
      <p>{w.kNote.replace('{k}', String(report.minGroupSize))}</p>

      <section>
        <h2 id="daily">{w.daily}</h2>
        <BarChart id="chart-daily" title={w.daily} withheldLabel={w.withheld} bars={report.daily.map((d) => ({ label: d.day.slice(5), value: d.people }))} />
        <details>
          <summary>{`${w.daily} (${w.day}, ${w.people}, ${w.events})`}</summary>
          <table class="data">
            <thead>
              <tr>
                <th scope="col">{w.day}</th>
                <th scope="col">{w.people}</th>
                <th scope="col">{w.events}</th>
              </tr>
            </thead>
            <tbody>
              {report.daily.map((d) => (
                <tr>
                  <th scope="row">{d.day}</th>
                  <td>{fig(d.people)}</td>
                  <td>{fig(d.events)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </section>

      <section>
        <h2>{w.monthly}</h2>
        {report.monthly.length === 0 ? (
          <p>{w.none}</p>
        ) : (
          <>
            <BarChart id="chart-monthly" title={w.monthly} withheldLabel={w.withheld} bars={report.monthly.map((m) => ({ label: m.month.slice(0, 7), value: m.people }))} />
            <table class="data">
              <thead>
                <tr>
                  <th scope="col">{w.month}</th>
                  <th scope="col">{w.people}</th>
                  <th scope="col">{w.events}</th>
                </tr>
              </thead>
              <tbody>
                {report.monthly.map((m) => (
                  <tr>
                    <th scope="row">{m.month.slice(0, 7)}</th>
                    <td>{fig(m.people)}</td>
                    <td>{fig(m.events)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>
      {table(w.byService, w.service, report.byService)}
      {table(w.byAffiliation, w.affiliation, report.byAffiliation)}
      {table(w.byEvent, w.event, report.byEvent)}
    </Layout>
  );
}
