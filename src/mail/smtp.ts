/**
 * E-mail of governance state changes through an SMTP server (nodemailer), when ENCLAVE_SMTP_URL
 * is set. Governance hands each committed change to `notify`, which returns at once: delivery
 * happens in the background, one message per recipient (nobody sees the others' addresses), so
 * a mail server that is down or refuses neither undoes nor delays a decision. The in-app
 * notification exists regardless; a delivery failure is logged and recorded in the audit log
 * (action `notification.email`, outcome `failure`, with counts and error codes, no address).
 */
import { createTransport, type Transporter } from 'nodemailer';
import { composeStatusMail, type RecipientReason, type StatusNotice } from './messages.ts';

/** Where recipients' addresses come from (identity's people). */
export interface MailDirectory {
  /** The person's e-mail address, or null when none is known (nothing is sent to them). */
  emailOf(personId: string): Promise<string | null>;
}

/** The audit port the mailer records delivery failures with (AuditLog satisfies it). */
export interface MailAudit {
  record(draft: {
    readonly actor: { readonly kind: 'service'; readonly id: string };
    readonly action: string;
    readonly target: string;
    readonly outcome: 'failure';
    readonly details: { readonly [key: string]: string | number | readonly string[] };
  }): Promise<unknown>;
}

export interface SmtpMailerOptions {
  /**
   * smtp://[user:password@]host[:port] (STARTTLS when the server offers it) or smtps:// (TLS
   * from the start), with nodemailer's query options, e.g. ?requireTLS=true.
   */
  readonly url: string;
  /** The From header, e.g. `Enclave <enclave@example.org>`. */
  readonly from: string;
  /** Base URL of the portal, for the link to the project's page. */
  readonly portalUrl: string;
  readonly directory: MailDirectory;
  readonly audit: MailAudit;
  /** One line per event worth an operator's eye (failures); default stderr. */
  readonly log?: (line: string) => void;
}

/** Timeouts added to the URL unless it sets its own: a silent server must not hold a delivery for minutes. */
const TIMEOUTS = { connectionTimeout: '10000', greetingTimeout: '10000', socketTimeout: '30000' } as const;

/** The URL with our default timeouts, unless it sets them. */
export function withDefaultTimeouts(url: string): string {
  const u = new URL(url);
  for (const [k, v] of Object.entries(TIMEOUTS)) if (!u.searchParams.has(k)) u.searchParams.set(k, v);
  return u.href;
}

/** A short, address-free code for a delivery error (nodemailer's code and SMTP reply code). */
export function deliveryErrorCode(e: unknown): string {
  const o = (typeof e === 'object' && e !== null ? e : {}) as { code?: unknown; responseCode?: unknown };
  const code = typeof o.code === 'string' && /^[A-Z_]{1,30}$/.test(o.code) ? o.code : 'ERROR';
  return typeof o.responseCode === 'number' ? `${code}:${o.responseCode}` : code;
}

/**
 * @example
 *   const mailer = new SmtpMailer({ url: 'smtp://mail.example.org:587', from: 'Enclave <enclave@example.org>', portalUrl, directory, audit });
 *   new GovernanceService({ ..., mailer });
 *   await mailer.close();
 */
export class SmtpMailer {
  readonly #transport: Transporter;
  readonly #from: string;
  readonly #portalUrl: string;
  readonly #directory: MailDirectory;
  readonly #audit: MailAudit;
  readonly #log: (line: string) => void;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(o: SmtpMailerOptions) {
    this.#transport = createTransport(withDefaultTimeouts(o.url));
    this.#from = o.from;
    this.#portalUrl = o.portalUrl;
    this.#directory = o.directory;
    this.#audit = o.audit;
    this.#log = o.log ?? ((line) => process.stderr.write(`[${new Date().toISOString()}] ${line}\n`));
  }

  /** Queues the e-mails of one state change and returns at once; never throws. */
  notify(notice: StatusNotice): void {
    const p: Promise<void> = this.#deliver(notice)
      .catch((e: unknown) => this.#log(`mail: notification e-mail of project ${notice.projectId} (${notice.kind}) failed: ${deliveryErrorCode(e)}`))
      .finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }

  /** Resolves once every queued e-mail was delivered or its failure recorded. */
  async idle(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  /** Waits for queued e-mails, then closes the transport. */
  async close(): Promise<void> {
    await this.idle();
    this.#transport.close();
  }

  async #deliver(n: StatusNotice): Promise<void> {
    const recipients: { personId: string; reason: RecipientReason }[] = [
      ...n.team.map((personId) => ({ personId, reason: 'team' as const })),
      ...n.reviewers.filter((id) => !n.team.includes(id)).map((personId) => ({ personId, reason: 'reviewer' as const })),
    ];
    let sent = 0;
    let failed = 0;
    let noAddress = 0;
    const errors = new Set<string>();
    for (const r of recipients) {
      try {
        const to = await this.#directory.emailOf(r.personId);
        if (to === null || to === '') {
          noAddress++;
          continue;
        }
        const m = composeStatusMail(n, r.reason, this.#portalUrl);
        await this.#transport.sendMail({
          from: this.#from, to, subject: m.subject, text: m.text,
          // automatic message (RFC 3834): no vacation replies; no file or URL is ever read into a message
          headers: { 'Auto-Submitted': 'auto-generated' }, disableFileAccess: true, disableUrlAccess: true,
        });
        sent++;
      } catch (e) {
        failed++;
        errors.add(deliveryErrorCode(e));
      }
    }
    if (failed === 0) return;
    const codes = [...errors].sort();
    this.#log(`mail: ${failed} of ${sent + failed} notification e-mails of project ${n.projectId} (${n.kind}) not delivered (${codes.join(', ')}); the change stands and the in-app notification was made`);
    await this.#audit.record({
      actor: { kind: 'service', id: 'mailer' }, action: 'notification.email', target: `project:${n.projectId}`, outcome: 'failure',
      details: { kind: n.kind, sent, failed, noAddress, errors: codes },
    });
  }
}
