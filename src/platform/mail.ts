// Outgoing mail over SMTP (nodemailer). Feature code sends through jobs, never inline in a request.
import nodemailer from 'nodemailer';
import type { SendMailOptions } from 'nodemailer';

export interface Mailer {
  send(message: SendMailOptions): Promise<{ messageId: string }>;
  ping(): Promise<void>;
  close(): void;
}

export function createMailer(smtpUrl: string): Mailer {
  // Pooled: a worker sending a burst reuses a few open SMTP connections instead of one
  // connection (and TLS handshake) per message (bench/jobs.ts: mail-throughput).
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    pool: true,
    maxConnections: 4,
    maxMessages: 100,
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
