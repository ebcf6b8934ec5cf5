// Mail templates: each is a props schema (part of the mail.send payload), a subject, an HTML
// body (a preact component, escaped by default) and a plain-text body. Both bodies are drawn
// inside the shared branded layout (layout.tsx).
import { Type, type Static, type TObject, type TProperties } from '@sinclair/typebox';
import type { VNode } from 'preact';
import { MailButton, type MailFrame } from './layout.js';

export interface MailTemplate<N extends string = string, P extends TProperties = TProperties> {
  readonly name: N;
  readonly props: TObject<P>;
  subject(props: Static<TObject<P>>, frame: MailFrame): string;
  html(props: Static<TObject<P>>, frame: MailFrame): VNode;
  text(props: Static<TObject<P>>, frame: MailFrame): string;
}

const template = <const N extends string, P extends TProperties>(t: MailTemplate<N, P>) => t;

const Path = Type.String({ pattern: '^/[^\\s]*$', maxLength: 2000, description: 'a path on the tenant host' });
const Line = Type.String({ minLength: 1, maxLength: 2000 });

/** Sent once a person's account exists: fully translated here, in the person's language. */
export const welcomeMail = template({
  name: 'welcome',
  props: Type.Object({ personName: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
  subject: (_p, { t, tenant }) => t('welcome.subject', { name: tenant.displayName }),
  html: (p, frame) => (
    <>
      <h1 style="font-size:22px;margin:0 0 16px">{frame.t('welcome.heading', { person: p.personName })}</h1>
      <p style="margin:0 0 12px">{frame.t('welcome.body', { name: frame.tenant.displayName })}</p>
      <MailButton frame={frame} href={frame.link('/')}>
        {frame.t('welcome.action')}
      </MailButton>
    </>
  ),
  text: (p, { t, tenant, link }) =>
    `${t('welcome.heading', { person: p.personName })}\n\n${t('welcome.body', { name: tenant.displayName })}\n\n${t('welcome.action')}\n${link('/')}`,
});

/**
 * A message whose words come from the caller, already in the person's language (a service's
 * notification, "import finished"...): a heading, paragraphs and an optional link.
 */
export const noticeMail = template({
  name: 'notice',
  props: Type.Object(
    {
      subject: Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\r\\n]+$' }),
      heading: Line,
      paragraphs: Type.Array(Line, { maxItems: 20 }),
      action: Type.Optional(Type.Object({ label: Type.String({ minLength: 1, maxLength: 100 }), path: Path }, { additionalProperties: false })),
    },
    { additionalProperties: false },
  ),
  subject: (p) => p.subject,
  html: (p, frame) => (
    <>
      <h1 style="font-size:22px;margin:0 0 16px">{p.heading}</h1>
      {p.paragraphs.map((text) => (
        <p style="margin:0 0 12px">{text}</p>
      ))}
      {p.action && (
        <MailButton frame={frame} href={frame.link(p.action.path)}>
          {p.action.label}
        </MailButton>
      )}
    </>
  ),
  text: (p, { link }) => [p.heading, ...p.paragraphs, ...(p.action ? [`${p.action.label}\n${link(p.action.path)}`] : [])].join('\n\n'),
});

export const MAIL_TEMPLATES = [welcomeMail, noticeMail] as const;
export type MailTemplateName = (typeof MAIL_TEMPLATES)[number]['name'];

/** The `message` of a mail.send payload: one template and its props. */
export const MailMessage = Type.Union(
  MAIL_TEMPLATES.map((t) => Type.Object({ template: Type.Literal(t.name), props: t.props }, { additionalProperties: false })),
);
export type MailMessage = { [T in (typeof MAIL_TEMPLATES)[number] as T['name']]: { template: T['name']; props: Static<T['props']> } }[MailTemplateName];
