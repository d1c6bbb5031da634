import type { User } from '../world/types.ts'

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)
}

const style = `body{font-family:system-ui,Segoe UI,sans-serif;background:#f2f2f2;margin:0}
main{max-width:440px;margin:48px auto;background:#fff;padding:32px 40px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:24px;font-weight:600;margin:0 0 8px}p.sub{color:#555;margin:0 0 20px}
button,.btn{display:block;width:100%;text-align:left;padding:10px 12px;margin:6px 0;border:1px solid #ccc;background:#fff;cursor:pointer;font-size:15px}
button:hover{background:#f5f5f5}button.primary{background:#0067b8;color:#fff;border-color:#0067b8;text-align:center}
input[type=text],input[type=email]{width:100%;box-sizing:border-box;padding:8px;font-size:15px;border:0;border-bottom:1px solid #666;margin:8px 0}
small{color:#666}.err{color:#a80000}ul{padding-left:20px}.row{display:flex;gap:8px}.row button{text-align:center}`

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${style}</style></head><body><main>${body}<p><small>Dataverse S2S emulator — a local stand-in for Microsoft Entra ID.</small></p></main></body></html>`
}

function hidden(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('')
}

/** The sign-in page: pick a seeded account or type a user name. */
export function signInPage(options: {
  action: string
  fields: Record<string, string>
  users: (User & { tenantName: string })[]
  appName: string
  loginHint?: string
  error?: string
}): string {
  const buttons = options.users
    .map(
      (u) =>
        `<button type="submit" name="login" value="${escapeHtml(u.userPrincipalName)}" data-upn="${escapeHtml(u.userPrincipalName)}">${escapeHtml(u.displayName)}<br><small>${escapeHtml(u.userPrincipalName)} · ${escapeHtml(u.tenantName)}${u.isTenantAdmin ? ' · admin' : ''}</small></button>`,
    )
    .join('')
  return page(
    'Sign in to your account',
    `<h1>Sign in</h1><p class="sub">to continue to ${escapeHtml(options.appName)}</p>
${options.error ? `<p class="err" role="alert">${escapeHtml(options.error)}</p>` : ''}
<form method="post" action="${escapeHtml(options.action)}">${hidden(options.fields)}
<label for="login">Email or user name</label>
<input id="login" type="email" name="typed" value="${escapeHtml(options.loginHint ?? '')}" autocomplete="username">
<button class="primary" type="submit" name="login" value="">Next</button>
<p class="sub">Or pick an account:</p>${buttons}</form>`,
  )
}

/** The consent page shown to a tenant admin. */
export function consentPage(options: {
  action: string
  fields: Record<string, string>
  appName: string
  publisher: string
  user: User
  tenantName: string
  permissions: string[]
}): string {
  const perms = options.permissions.map((p) => `<li>${escapeHtml(p)}</li>`).join('')
  return page(
    'Permissions requested',
    `<h1>Permissions requested</h1><p class="sub">${escapeHtml(options.user.userPrincipalName)}</p>
<p><strong>${escapeHtml(options.appName)}</strong> (publisher tenant: ${escapeHtml(options.publisher)}) would like to:</p>
<ul>${perms}</ul>
<p>Accepting grants consent on behalf of your organization (<strong>${escapeHtml(options.tenantName)}</strong>): the app gets a service principal there.</p>
<form method="post" action="${escapeHtml(options.action)}">${hidden(options.fields)}
<div class="row"><button type="submit" name="consent" value="cancel">Cancel</button><button class="primary" type="submit" name="consent" value="accept">Accept</button></div></form>`,
  )
}

/** An error page for requests that cannot be redirected (unknown app, unregistered redirect URI, ...). */
export function errorPage(code: number, message: string, traceId: string, correlationId: string): string {
  return page(
    'Sign in error',
    `<h1>Sorry, but we’re having trouble signing you in.</h1><p class="err" role="alert">AADSTS${code}: ${escapeHtml(message)}</p><p><small>Trace ID: ${escapeHtml(traceId)}<br>Correlation ID: ${escapeHtml(correlationId)}</small></p>`,
  )
}

/** The auto-submitting form of `response_mode=form_post`. */
export function formPostPage(action: string, fields: Record<string, string>): string {
  return `<!doctype html><html><head><title>Working...</title></head><body onload="document.forms[0].submit()"><form method="POST" action="${escapeHtml(action)}">${hidden(fields)}<noscript><p>Script is disabled. Click Submit to continue.</p><input type="submit" value="Submit"></noscript></form></body></html>`
}

export function signedOutPage(): string {
  return page(
    'Signed out',
    '<h1>You signed out of your account</h1><p class="sub">It’s a good idea to close all browser windows.</p>',
  )
}

/** The emulator's home page: what is running and where. */
export function homePage(options: {
  authorityUrl: string
  tenants: { id: string; displayName: string; domain: string }[]
  orgs: { uniqueName: string; tenantId: string; url: string }[]
  apps: { appId: string; displayName: string; signInAudience: string; homeTenantId: string }[]
  users: { userPrincipalName: string; tenantId: string; isTenantAdmin: boolean }[]
}): string {
  const e = escapeHtml
  const rows = options.tenants
    .map((t) => {
      const orgs = options.orgs
        .filter((o) => o.tenantId === t.id)
        .map((o) => `${e(o.uniqueName)}: <a href="${e(o.url)}/api/data/v9.2/">${e(o.url)}</a>`)
      const users = options.users
        .filter((u) => u.tenantId === t.id)
        .map((u) => e(u.userPrincipalName) + (u.isTenantAdmin ? ' (admin)' : ''))
      return `<li><strong>${e(t.displayName)}</strong> <small>${e(t.id)} · ${e(t.domain)} · <a href="${e(options.authorityUrl)}/${e(t.id)}/v2.0/.well-known/openid-configuration">metadata</a></small><br>Orgs: ${orgs.join(', ') || 'none'}<br><small>Users: ${users.join(', ') || 'none'}</small></li>`
    })
    .join('')
  const apps = options.apps
    .map((a) => `<li>${e(a.displayName)} <small>${e(a.appId)} · ${e(a.signInAudience)}</small></li>`)
    .join('')
  return page(
    'Dataverse S2S emulator',
    `<h1>Dataverse S2S emulator</h1><p class="sub">Entra ID at ${e(options.authorityUrl)} · admin API at <a href="${e(options.authorityUrl)}/_emulator/">/_emulator/</a></p><h2>Tenants</h2><ul>${rows}</ul><h2>App registrations</h2><ul>${apps}</ul>`,
  )
}
