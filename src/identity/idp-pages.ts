/**
 * Pages of the embedded provider, in the portal's look (its header, colours and buttons) and in
 * the language the person uses the portal in: the portal asks for it with OpenID Connect's
 * `ui_locales` (the `lang` of /api/v1/auth/login), a switch on the page changes it, and the
 * browser's Accept-Language decides otherwise. Plain HTML forms, labelled inputs, no script at
 * all (the CSP allows none), one stylesheet from the provider itself.
 */

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export type IdpLang = 'fr' | 'en';

/** The page's language: an explicit choice (`lang` of the page or the form), then `ui_locales`, then Accept-Language; French by default. */
export function idpLangOf(explicit: string | null | undefined, uiLocales: string | null | undefined, acceptLanguage: string | null | undefined): IdpLang {
  if (explicit === 'fr' || explicit === 'en') return explicit;
  for (const tag of `${uiLocales ?? ''} ${(acceptLanguage ?? '').replace(/;q=[\d.]+/g, '').replace(/,/g, ' ')}`.split(/\s+/)) {
    const l = tag.slice(0, 2).toLowerCase();
    if (l === 'fr' || l === 'en') return l;
  }
  return 'fr';
}

/** Errors the forms show; the same keys in both languages. */
export type IdpMessage = 'wrong_password' | 'locked' | 'demo_off' | 'start_again' | 'wrong_code' | 'replay';

const TEXT = {
  fr: {
    app: 'Enclave', tagline: 'Plateforme de données de santé', other: 'English', otherLang: 'en',
    loginTitle: 'Connexion à Enclave', username: 'Identifiant', password: 'Mot de passe', login: 'Se connecter',
    otpTitle: 'Second facteur', otpHelp: 'Saisissez le code à 6 chiffres de votre application d’authentification.', code: 'Code à usage unique (TOTP)', verify: 'Valider',
    cancel: 'Annuler', expiredTitle: 'Connexion expirée', expired: 'Cette connexion a expiré ou a commencé dans un autre navigateur. Recommencez depuis Enclave.', back: 'Retour à Enclave',
    errorTitle: 'Erreur de connexion',
    demoTitle: 'Mode démonstration',
    demoHelp: 'Personnes de démonstration : leur mot de passe et leur secret TOTP ont été affichés au premier démarrage du serveur.',
    messages: {
      wrong_password: 'Identifiant ou mot de passe incorrect.',
      locked: 'Compte verrouillé après trop d’échecs ; réessayez dans 15 minutes.',
      demo_off: 'Les comptes de démonstration sont désactivés sur cette plateforme.',
      start_again: 'Recommencez : saisissez votre identifiant et votre mot de passe.',
      wrong_code: 'Code incorrect.',
      replay: 'Ce code a déjà été utilisé ; attendez le code suivant de votre application.',
    } satisfies Record<IdpMessage, string>,
  },
  en: {
    app: 'Enclave', tagline: 'Health data platform', other: 'Français', otherLang: 'fr',
    loginTitle: 'Log in to Enclave', username: 'Person id', password: 'Password', login: 'Log in',
    otpTitle: 'Second factor', otpHelp: 'Enter the 6-digit code from your authenticator app.', code: 'One-time code (TOTP)', verify: 'Verify',
    cancel: 'Cancel', expiredTitle: 'Login expired', expired: 'This login expired or was started in another browser. Start again from Enclave.', back: 'Back to Enclave',
    errorTitle: 'Login error',
    demoTitle: 'Demo mode',
    demoHelp: 'Demo people: their password and TOTP secret were printed when the server first started.',
    messages: {
      wrong_password: 'Wrong person id or password.',
      locked: 'Account locked after too many failures; try again in 15 minutes.',
      demo_off: 'Demo accounts are turned off on this platform.',
      start_again: 'Start again: enter your person id and password.',
      wrong_code: 'Wrong code.',
      replay: 'This code was already used; wait for the next code from your authenticator app.',
    } satisfies Record<IdpMessage, string>,
  },
} as const;

export const IDP_CSS = `:root{--ink:#1b1f24;--muted:#4f5b66;--line:#cfd6de;--brand:#123a6b;--link:#0b4f9c;--focus:#f5b301;--danger-bg:#fde3e1;--danger-ink:#8a1c12;--warning-bg:#fff1d6;--warning-ink:#6b4300;
font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Noto Sans','Liberation Sans',Arial,sans-serif;font-size:16px;line-height:1.5;color:var(--ink)}
*{box-sizing:border-box}body{margin:0}a{color:var(--link)}:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.site-header{background:var(--brand);color:#fff}.header-inner{max-width:72rem;margin:0 auto;padding:.75rem 1.25rem .5rem;display:flex;align-items:center;justify-content:space-between;gap:1rem;flex-wrap:wrap}
.brand{display:flex;align-items:center;gap:.6rem}.brand-mark{fill:#fff}.brand-letter{fill:var(--brand)}.brand-name{font-weight:700;font-size:1.25rem}.brand-tagline{opacity:.92;font-size:.9rem}
.site-header a{color:#fff}main{max-width:30rem;margin:2rem auto;padding:0 1.25rem}h1{font-size:1.6rem;margin:0 0 1rem}
form{margin:1rem 0;padding:1.25rem;border:1px solid var(--line);border-radius:8px}label{display:block;margin:.8rem 0 .25rem;font-weight:600}
input{font:inherit;padding:.5rem .6rem;width:100%;border:1px solid #8a96a3;border-radius:4px}
.button{display:inline-block;margin-top:1rem;font:inherit;font-weight:600;padding:.55rem 1.1rem;border-radius:4px;cursor:pointer;background:#fff;color:var(--brand);border:1px solid var(--brand)}
.button-primary{background:var(--brand);color:#fff}.cancel{border:0;padding:0;margin:0}.help{color:var(--muted)}
.error{background:var(--danger-bg);color:var(--danger-ink);padding:.6rem .8rem;border-radius:4px;font-weight:600}
.demo{background:var(--warning-bg);color:var(--warning-ink);padding:.8rem 1rem;border-radius:6px}.demo ul{margin:.3rem 0 0;padding-left:1.2rem}`;

const BRAND = '<svg width="32" height="32" viewBox="0 0 32 32" aria-hidden="true" focusable="false"><rect width="32" height="32" rx="6" class="brand-mark"/><path d="M9 9h14v3H13v3h8v3h-8v3h10v3H9z" class="brand-letter"/></svg>';

/** A whole page: the portal's header (with the language switch when `switchTo` is given), then the body. */
export function page(lang: IdpLang, title: string, body: string, switchTo?: string): string {
  const t = TEXT[lang];
  const other = switchTo === undefined ? '' : `<a href="${esc(switchTo)}" lang="${t.otherLang}" hreflang="${t.otherLang}" id="lang-switch">${t.other}</a>`;
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · Enclave</title><link rel="stylesheet" href="/idp/assets/idp.css"></head><body>
<header class="site-header"><div class="header-inner"><span class="brand">${BRAND}<span class="brand-name">${t.app}</span><span class="brand-tagline">${t.tagline}</span></span>${other}</div></header>
<main><h1>${esc(title)}</h1>${body}</main></body></html>`;
}

const error = (lang: IdpLang, message: IdpMessage | null): string => (message === null ? '' : `<p class="error" role="alert" id="error">${esc(TEXT[lang].messages[message])}</p>`);
const langField = (lang: IdpLang): string => `<input type="hidden" name="lang" value="${lang}">`;
const abort = (lang: IdpLang, uid: string): string =>
  `<form method="post" action="/idp/interaction/${esc(uid)}/abort" class="cancel">${langField(lang)}<button type="submit" class="button">${TEXT[lang].cancel}</button></form>`;
const switchOf = (lang: IdpLang, uid: string): string => `/idp/interaction/${esc(uid)}?lang=${TEXT[lang].otherLang}`;

/**
 * The login form: person id and password, always. In demo mode only, the demo people are listed
 * (and offered as suggestions of the person id field): the password and the TOTP code are
 * required all the same.
 */
export function loginPage(lang: IdpLang, uid: string, demoPeople: readonly { username: string; displayName: string }[], message: IdpMessage | null): string {
  const t = TEXT[lang];
  const demo = demoPeople.length > 0;
  const list = !demo ? '' : `
<section class="demo" id="demo-people" aria-labelledby="demo-people-title">
  <h2 id="demo-people-title">${t.demoTitle}</h2>
  <p>${t.demoHelp}</p>
  <ul>${demoPeople.map((p) => `<li><code>${esc(p.username)}</code>${lang === 'fr' ? ' : ' : ': '}${esc(p.displayName)}</li>`).join('')}</ul>
  <datalist id="demo-usernames">${demoPeople.map((p) => `<option value="${esc(p.username)}"></option>`).join('')}</datalist>
</section>`;
  return page(lang, t.loginTitle, `${error(lang, message)}
<form method="post" action="/idp/interaction/${esc(uid)}/login" id="login-form">${langField(lang)}
  <label for="username">${t.username}</label>
  <input id="username" name="username" autocomplete="username" required${demo ? ' list="demo-usernames"' : ''}>
  <label for="password">${t.password}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit" class="button button-primary">${t.login}</button>
</form>${list}${abort(lang, uid)}`, switchOf(lang, uid));
}

export function otpPage(lang: IdpLang, uid: string, message: IdpMessage | null): string {
  const t = TEXT[lang];
  return page(lang, t.otpTitle, `${error(lang, message)}
<form method="post" action="/idp/interaction/${esc(uid)}/otp" id="otp-form">${langField(lang)}
  <p class="help" id="code-help">${t.otpHelp}</p>
  <label for="code">${t.code}</label>
  <input id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" aria-describedby="code-help" required>
  <button type="submit" class="button button-primary">${t.verify}</button>
</form>${abort(lang, uid)}`, switchOf(lang, uid));
}

/** The login expired, or began in another browser. */
export function expiredPage(lang: IdpLang): string {
  const t = TEXT[lang];
  return page(lang, t.expiredTitle, `<p role="alert">${t.expired}</p><p><a href="/">${t.back}</a></p>`);
}

/** An error the provider reports (its own text, escaped). */
export function errorPage(lang: IdpLang, detail: string): string {
  const t = TEXT[lang];
  return page(lang, t.errorTitle, `<p role="alert">${esc(detail)}</p><p><a href="/">${t.back}</a></p>`);
}
