// One mail message, rendered for one tenant and one language: subject, HTML and text parts.
import { render } from 'preact-render-to-string';
import type { Config } from '../config.js';
import type { Tenant } from '../tenancy/registry.js';
import type { Locale } from '../web/i18n/index.js';
import { MailLayout, textLayout, type MailFrame } from './layout.js';
import { mailTranslator } from './messages.js';
import { tenantOrigin } from './origin.js';
import { MAIL_TEMPLATES, type MailMessage } from './templates.js';

export interface RenderedMail {
  subject: string;
  html: string;
  text: string;
}

export function renderMail(
  tenant: Tenant,
  locale: Locale,
  message: MailMessage,
  options: { config: Pick<Config, 'env' | 'http'>; hasLogo: boolean },
): RenderedMail {
  const origin = tenantOrigin(tenant, options.config);
  const frame: MailFrame = { tenant, locale, t: mailTranslator(locale), link: (path) => `${origin}${path}`, hasLogo: options.hasLogo };
  const template = MAIL_TEMPLATES.find((t) => t.name === message.template);
  if (!template) throw new Error(`unknown mail template "${message.template}"`);
  // The union of templates is checked by the payload schema; each template sees its own props.
  const props = message.props as never;
  const subject = template.subject(props, frame);
  const html = `<!doctype html>${render(
    <MailLayout frame={frame} subject={subject}>
      {template.html(props, frame)}
    </MailLayout>,
  )}`;
  return { subject, html, text: textLayout(frame, template.text(props, frame)) };
}
