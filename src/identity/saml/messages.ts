// Texts of the SAML pages, French first. Kept beside the SAML routes (the shared catalogues in
// src/web/i18n/ hold the portal's own).
import type { Locale } from '../../web/i18n/index.js';

const fr = {
  'discovery.title': 'Choisir votre établissement',
  'discovery.intro': 'Connectez-vous avec le compte de votre établissement.',
  'discovery.search': 'Rechercher un établissement',
  'discovery.submit': 'Rechercher',
  'discovery.last': 'Votre dernier choix',
  'discovery.none': 'Aucun établissement ne correspond à « {q} ».',
  'discovery.all': 'Tous les établissements',
  'refused': 'Connexion refusée : la réponse de votre établissement n’a pas pu être acceptée ({reason}). Réessayez de vous connecter ; si le problème persiste, contactez l’assistance de votre établissement.',
  'missing': 'Connexion refusée : votre établissement n’a pas transmis les informations nécessaires ({names}). Contactez l’assistance de votre établissement.',
  'unavailable': 'La connexion n’est pas disponible pour le moment : aucun fournisseur d’identité n’est configuré pour cet établissement.',
  'logout.refused': 'Demande de déconnexion refusée ({reason}).',
  'unknownIdp': 'Cet établissement ne fait pas partie des choix proposés.',
  'logout.title': 'Vous êtes déconnecté',
  'logout.continue': 'Votre session sur l’ENT est terminée. Nous terminons aussi votre session auprès de {idp}…',
  'logout.go': 'Continuer',
};
const en: typeof fr = {
  'discovery.title': 'Choose your institution',
  'discovery.intro': 'Log in with your institution’s account.',
  'discovery.search': 'Search for an institution',
  'discovery.submit': 'Search',
  'discovery.last': 'Your last choice',
  'discovery.none': 'No institution matches “{q}”.',
  'discovery.all': 'All institutions',
  'refused': 'Login refused: the answer from your institution could not be accepted ({reason}). Try logging in again; if it persists, contact your institution’s help desk.',
  'missing': 'Login refused: your institution did not send the information needed ({names}). Contact your institution’s help desk.',
  'unavailable': 'Login is not available at the moment: no identity provider is configured for this university.',
  'logout.refused': 'Logout request refused ({reason}).',
  'unknownIdp': 'This institution is not one of the choices offered.',
  'logout.title': 'You are logged out',
  'logout.continue': 'Your session on the digital workspace has ended. We are now ending your session with {idp} too…',
  'logout.go': 'Continue',
};

export type SamlMessageKey = keyof typeof fr;

export function samlText(locale: Locale, key: SamlMessageKey, params: Record<string, string> = {}): string {
  return (locale === 'en' ? en : fr)[key].replace(/\{(\w+)\}/g, (m, name: string) => params[name] ?? m);
}
