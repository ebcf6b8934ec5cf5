// The services a tenant can enable (from the 2003 SDET scheme in shared/seed). A service shows in
// a portal's navigation once it is both enabled by the tenant and built (`path` set).
export interface ServiceInfo {
  readonly label: { readonly fr: string; readonly en: string };
  /** Where the service lives in the portal; absent while it is not built yet. */
  readonly path?: string;
}

export const SERVICES = {
  directory: { label: { fr: 'Annuaire', en: 'Directory' }, path: '/annuaire' },
  groups: { label: { fr: 'Groupes', en: 'Groups' }, path: '/groupes' },
  documents: { label: { fr: 'Documents', en: 'Documents' }, path: '/documents' },
  agenda: { label: { fr: 'Agenda', en: 'Calendar' } },
  mail: { label: { fr: 'Messagerie', en: 'Mail' } },
  channels: { label: { fr: 'Actualités', en: 'News' } },
  forums: { label: { fr: 'Forums', en: 'Forums' } },
  timetable: { label: { fr: 'Emploi du temps', en: 'Timetable' } },
  grades: { label: { fr: 'Notes et résultats', en: 'Grades' } },
  enrolment: { label: { fr: 'Inscriptions', en: 'Enrolment' } },
  library: { label: { fr: 'Bibliothèque', en: 'Library' } },
  internships: { label: { fr: 'Stages et emplois', en: 'Internships and jobs' } },
  statistics: { label: { fr: 'Statistiques', en: 'Statistics' } },
  help: { label: { fr: 'Aide', en: 'Help' }, path: '/aide' },
} as const satisfies Record<string, ServiceInfo>;

export type ServiceId = keyof typeof SERVICES;
export const SERVICE_IDS = Object.keys(SERVICES) as ServiceId[];
