/**
 * Outgoing e-mail (infrastructure): governance's notifications through SMTP when
 * ENCLAVE_SMTP_URL is set. Implements governance's Mailer port structurally; main.ts wires it.
 */
export { composeStatusMail, oneLine, projectUrl, type ComposedMail, type MailActedAs, type RecipientReason, type StatusNotice } from './messages.ts';
export { deliveryErrorCode, SmtpMailer, withDefaultTimeouts, type MailAudit, type MailDirectory, type SmtpMailerOptions } from './smtp.ts';
