/**
 * Pages of the embedded provider: plain HTML forms, French and English side by side, labelled
 * inputs, no script at all (the CSP allows none), one stylesheet from the provider itself.
 */

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export const IDP_CSS = `body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem;color:#161616}
h1{font-size:1.4rem}form{margin:1rem 0;padding:1rem;border:1px solid #ddd;border-radius:6px}
label{display:block;margin:.6rem 0 .2rem;font-weight:600}input,select{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box}
button{margin-top:1rem;font-size:1rem;padding:.5rem 1rem;background:#000091;color:#fff;border:0;border-radius:4px;cursor:pointer}
button.secondary{background:#fff;color:#000091;border:1px solid #000091}.error{color:#b00020;font-weight:600}
.demo{background:#fff4e5;border:1px solid #f0a020;padding:.6rem;border-radius:4px}`;

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="fr"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><link rel="stylesheet" href="/idp/assets/idp.css"></head><body><main>
<h1>${esc(title)}</h1>${body}</main></body></html>`;
}

const error = (message: string | null): string => (message === null ? '' : `<p class="error" role="alert" id="error">${esc(message)}</p>`);
const abort = (uid: string): string =>
  `<form method="post" action="/idp/interaction/${esc(uid)}/abort"><button type="submit" class="secondary">Annuler · Cancel</button></form>`;

/**
 * The login form: person id and password, always. In demo mode only, the demo people are listed
 * (and offered as suggestions of the person id field): the password and the TOTP code are
 * required all the same.
 */
export function loginPage(uid: string, demoPeople: readonly { username: string; displayName: string }[], message: string | null): string {
  const demo = demoPeople.length > 0;
  const list = !demo ? '' : `
<section class="demo" id="demo-people" aria-labelledby="demo-people-title">
  <p id="demo-people-title"><strong lang="fr">Mode démonstration</strong> · <strong lang="en">Demo mode</strong></p>
  <p lang="fr">Personnes de démonstration : leur mot de passe et leur secret TOTP ont été affichés au premier démarrage (\`enclave demo people\` redonne les secrets TOTP).</p>
  <p lang="en">Demo people: their password and TOTP secret were printed at first start (\`enclave demo people\` shows the TOTP secrets again).</p>
  <ul>${demoPeople.map((p) => `<li><code>${esc(p.username)}</code>: ${esc(p.displayName)}</li>`).join('')}</ul>
  <datalist id="demo-usernames">${demoPeople.map((p) => `<option value="${esc(p.username)}"></option>`).join('')}</datalist>
</section>`;
  return page('Connexion à Enclave · Log in to Enclave', `${error(message)}
<form method="post" action="/idp/interaction/${esc(uid)}/login" id="login-form">
  <label for="username">Identifiant · Person id</label>
  <input id="username" name="username" autocomplete="username" required${demo ? ' list="demo-usernames"' : ''}>
  <label for="password">Mot de passe · Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Se connecter · Log in</button>
</form>${list}${abort(uid)}`);
}

export function otpPage(uid: string, message: string | null): string {
  return page('Second facteur · Second factor', `${error(message)}
<form method="post" action="/idp/interaction/${esc(uid)}/otp" id="otp-form">
  <p lang="fr">Saisissez le code à 6 chiffres de votre application d’authentification.</p>
  <p lang="en">Enter the 6-digit code from your authenticator app.</p>
  <label for="code">Code TOTP · TOTP code</label>
  <input id="code" name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required>
  <button type="submit">Valider · Verify</button>
</form>${abort(uid)}`);
}
