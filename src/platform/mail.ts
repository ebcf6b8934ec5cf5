// Outgoing mail over SMTP (nodemailer). Feature code sends through jobs, never inline in a request.
import nodemailer from 'nodemailer';
import type { SendMailOptions } from 'nodemailer';

export interface Mailer {
  send(message: SendMailOptions): Promise<{ messageId: string }>;
  ping(): Promise<void>;
  close(): void;
}

export function createMailer(smtpUrl: string): Mailer {
  // One connection per message, not nodemailer's pool: the pool re-sends a message on its own
  // when a connection closes mid-delivery, behind mail.send's idempotency record (a duplicate),
  // and holds failures back with its own delays instead of letting the job's backoff decide.
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: 5000,
    greetingTimeout: 5000,
    socketTimeout: 30000,
  } as object);
  return {
    async send(message) {
      const info = await transport.sendMail(message);
      return { messageId: info.messageId };
    },
    async ping() {
      await transport.verify();
    },
    close() {
      transport.close();
    },
  };
}
