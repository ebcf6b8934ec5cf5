// The branded frame every Portique mail is drawn in: the tenant's logo, name and colours, then
// the template's content, then a footer naming the sender. Mail clients ignore <style> blocks
// and external CSS, so styles are inline and the structure is tables.
import type { ComponentChildren } from 'preact';
import type { Locale } from '../web/i18n/index.js';
import { textOn } from '../web/theme.js';
import type { Tenant } from '../tenancy/registry.js';
import type { MailTranslate } from './messages.js';

export const LOGO_CID = 'logo@portique';

export interface MailFrame {
  tenant: Tenant;
  locale: Locale;
  t: MailTranslate;
  /** Absolute URL of a path on the tenant's host. */
  link(path: string): string;
  /** Whether the logo is attached (inline, cid:) to this message. */
  hasLogo: boolean;
}

const FONT = 'font-family:Helvetica,Arial,sans-serif';

export function MailLayout(props: { frame: MailFrame; subject: string; children: ComponentChildren }) {
  const { tenant, locale, t, link, hasLogo } = props.frame;
  const { primary, secondary } = tenant.declaration.branding.colors;
  const onPrimary = textOn(primary);
  return (
    <html lang={locale}>
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.subject}</title>
      </head>
      <body style={`margin:0;padding:0;background:#f3f4f6;${FONT}`}>
        <table role="presentation" width="100%" cellPadding="0" cellSpacing="0" style="background:#f3f4f6">
          <tr>
            <td align="center" style="padding:24px 8px">
              <table role="presentation" width="600" cellPadding="0" cellSpacing="0" style="max-width:600px;width:100%;background:#ffffff">
                <tr>
                  <td style={`background:${primary};color:${onPrimary};padding:16px 24px;border-bottom:4px solid ${secondary}`}>
                    {hasLogo && <img src={`cid:${LOGO_CID}`} alt="" width="48" height="48" style="vertical-align:middle;margin-right:12px" />}
                    <a href={link('/')} style={`color:${onPrimary};text-decoration:none;font-size:20px;font-weight:bold;vertical-align:middle;${FONT}`}>
                      {tenant.displayName}
                    </a>
                  </td>
                </tr>
                <tr>
                  <td style={`padding:24px;color:#1f2937;font-size:16px;line-height:1.5;${FONT}`}>{props.children}</td>
                </tr>
                <tr>
                  <td style={`padding:16px 24px;color:#4b5563;font-size:13px;border-top:1px solid #e5e7eb;${FONT}`}>
                    {t('layout.footer', { name: tenant.displayName })}{' '}
                    <a href={link('/')} style="color:#374151">{t('layout.open')}</a>
                  </td>
                </tr>
              </table>
            </td>
          </tr>
        </table>
      </body>
    </html>
  );
}

/** A call to action: a link styled as a button in the tenant's colour. */
export function MailButton(props: { frame: MailFrame; href: string; children: ComponentChildren }) {
  const { primary } = props.frame.tenant.declaration.branding.colors;
  return (
    <p style="margin:24px 0">
      <a
        href={props.href}
        style={`display:inline-block;background:${primary};color:${textOn(primary)};padding:12px 20px;border-radius:4px;text-decoration:none;font-weight:bold;${FONT}`}
      >
        {props.children}
      </a>
    </p>
  );
}

/** The plain-text part's frame: the same content, readable in any client. */
export function textLayout(frame: MailFrame, body: string): string {
  const { tenant, t, link } = frame;
  const rule = '='.repeat(Math.min(tenant.displayName.length, 60));
  return `${tenant.displayName}\n${rule}\n\n${body.trim()}\n\n-- \n${t('layout.footer', { name: tenant.displayName })}\n${t('layout.open')}\n${link('/')}\n`;
}
