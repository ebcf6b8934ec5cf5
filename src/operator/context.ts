import type { FastifyRequest } from 'fastify';
import type { OperatorDeclaration } from '../identity/operator.js';
import { isLocale, translator } from '../web/i18n/index.js';
import { LOCALE_COOKIE } from '../web/context.js';
import type { OperatorPageContext } from './pages.js';

export function operatorPageContext(request: FastifyRequest, operator: OperatorDeclaration | undefined): OperatorPageContext {
  const chosen = request.cookies?.[LOCALE_COOKIE];
  const locale = isLocale(chosen) ? chosen : (operator?.defaultLocale ?? 'fr');
  const session = request.session;
  return {
    locale,
    t: translator(locale),
    consoleName: operator?.displayName ?? 'Portique',
    user: session ? { displayName: session.displayName, csrfToken: session.csrfToken } : undefined,
  };
}
