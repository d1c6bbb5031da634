import { ApiError, api } from '../api.ts'
import { account, environments, orgToken, signIn } from '../auth.ts'
import { consentErrorText } from '../consent-errors.ts'
import { errorBox, h, okBox, show } from '../dom.ts'

interface TenantPage {
  tenant: {
    tenantId: string
    orgUrl: string
    status: string
    lastCheck: { ok: boolean; detail: string } | null
  }
  appId: string
  roleName: string
  manualSteps: string[]
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * Sends the signed-in admin to admin consent for `orgUrl` (`intent` `reconnect` or `change_org` only after the admin
 * confirmed it on the connection page).
 */
export async function startConsent(orgUrl: string, intent?: 'reconnect' | 'change_org'): Promise<void> {
  const r = await api<{ consentUrl: string }>('/api/onboarding/start', {
    method: 'POST',
    body: { orgUrl, ...(intent ? { intent, confirm: true } : {}) },
  })
  location.assign(r.consentUrl)
}

/** Step 1: the admin signs in first, then enters the org URL and is sent to admin consent. */
export function connectView(): void {
  const intro = h(
    'ol',
    {},
    h(
      'li',
      {},
      'Sign in with your administrator account (Global Administrator, Application Administrator, …).',
    ),
    h('li', {}, 'Enter your Dataverse org URL; we check that it belongs to your tenant.'),
    h('li', {}, 'Give admin consent to the app in your tenant.'),
    h('li', {}, 'Let the app create its application user and security role in your org (or do it by hand).'),
    h('li', {}, 'We check the connection, and your people can sign in.'),
  )
  if (!account()) {
    show(
      h('h1', {}, 'Connect your organization'),
      h(
        'div',
        { class: 'card' },
        h(
          'p',
          {},
          'An administrator of your Microsoft Entra tenant and of your Dataverse environment connects it.',
        ),
        intro,
        h('button', { onclick: () => signIn('#/connect') }, 'Sign in as administrator'),
      ),
    )
    return
  }
  const input = h('input', {
    name: 'orgUrl',
    type: 'url',
    required: true,
    placeholder: 'https://contoso.crm.dynamics.com',
  })
  const status = h('div', {})
  // The admin's environments from the Global Discovery Service, to pick instead of typing (typing stays possible).
  const picker = h(
    'div',
    { class: 'environments' },
    h('p', { class: 'muted' }, 'Looking up your environments…'),
  )
  environments().then(
    (list) => {
      if (!list) return picker.replaceChildren()
      if (list.length === 0)
        return picker.replaceChildren(h('p', { class: 'muted' }, 'No environments found: type the org URL.'))
      picker.replaceChildren(
        h('p', {}, 'Pick one of your environments, or type its URL below:'),
        h(
          'ul',
          {},
          ...list.map((env) =>
            h(
              'li',
              {},
              h(
                'button',
                {
                  type: 'button',
                  class: 'environment',
                  'data-url': env.apiUrl,
                  onclick: () => {
                    input.value = env.apiUrl
                  },
                },
                `${env.friendlyName} (${env.apiUrl})`,
              ),
              h(
                'span',
                { class: 'muted role' },
                env.isSysAdmin
                  ? ' you are a System Administrator here'
                  : ' you are not a System Administrator here: the automatic set-up needs one',
              ),
            ),
          ),
        ),
      )
    },
    (error: unknown) => picker.replaceChildren(h('p', { class: 'muted' }, message(error))),
  )
  show(
    h('h1', {}, 'Connect your organization'),
    h(
      'div',
      { class: 'card' },
      intro,
      picker,
      h(
        'form',
        {
          class: 'toolbar',
          onsubmit: async (e) => {
            e.preventDefault()
            status.replaceChildren(h('p', { class: 'muted' }, 'Looking up your org…'))
            try {
              await startConsent(input.value.trim())
            } catch (error) {
              status.replaceChildren(errorBox(message(error)))
            }
          },
        },
        input,
        h('button', { type: 'submit' }, 'Continue to admin consent'),
      ),
      status,
    ),
  )
}

/** After the consent callback: the signed-in admin completes it with the ticket, then provisions and verifies. */
export async function onboardingView(query: URLSearchParams): Promise<void> {
  const error = query.get('error')
  if (error) {
    return show(
      h('h1', {}, 'Connect your organization'),
      errorBox(consentErrorText(error)),
      h('p', {}, h('a', { href: '#/connect' }, 'Start again')),
    )
  }
  const ticket = query.get('ticket')
  if (ticket) {
    if (!account()) {
      return show(
        h('h1', {}, 'Finish connecting'),
        h('p', {}, 'Sign in with the administrator account that started the connection.'),
        h('button', { onclick: () => signIn(location.hash) }, 'Sign in as administrator'),
      )
    }
    try {
      await api('/api/onboarding/complete', { method: 'POST', body: { ticket } })
    } catch (e) {
      return show(
        h('h1', {}, 'Connect your organization'),
        errorBox(message(e)),
        h('p', {}, h('a', { href: '#/connect' }, 'Start again')),
      )
    }
    history.replaceState(null, '', '#/onboarding')
  }
  if (!account()) return signIn('#/onboarding')
  const status = h('div', {})
  let info: TenantPage
  try {
    info = await api<TenantPage>('/api/onboarding/tenant')
  } catch (e) {
    const notYet = e instanceof ApiError && e.code === 'not_onboarded'
    return show(
      h('h1', {}, 'Finish the set-up'),
      errorBox(message(e)),
      notYet ? h('a', { href: '#/connect' }, 'Connect your organization') : null,
    )
  }
  const tenantId = info.tenant.tenantId
  const done = (t: TenantPage['tenant']) => {
    status.replaceChildren(
      okBox(`Connected. ${t.lastCheck?.detail ?? ''} Your people can now sign in.`),
      h('p', {}, h('a', { href: '#/accounts' }, 'Open your accounts')),
    )
  }
  const run = async (path: string, body: unknown) => {
    try {
      const r = await api<{ ok: boolean; detail: string; tenant: TenantPage['tenant'] }>(path, {
        method: 'POST',
        body,
      })
      if (r.ok) done(r.tenant)
      else status.replaceChildren(errorBox(r.detail))
    } catch (e) {
      status.replaceChildren(errorBox(message(e)))
    }
  }
  const automatic = async () => {
    status.replaceChildren(
      h('p', { class: 'muted' }, 'Creating the application user and its role in your org…'),
    )
    try {
      const token = await orgToken(info.tenant.orgUrl, tenantId, `provision:${tenantId}`)
      await run('/api/onboarding/provision', { dataverseToken: token })
    } catch (e) {
      status.replaceChildren(errorBox(message(e)))
    }
  }
  show(
    h('h1', {}, 'Finish the set-up'),
    okBox('Admin consent recorded.'),
    h('p', { class: 'muted' }, `Org ${info.tenant.orgUrl} · status ${info.tenant.status}`),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, 'Set it up for me'),
      h(
        'p',
        {},
        `With your own Dataverse permissions, the app creates its application user (application id ${info.appId}) and gives it the role "${info.roleName}".`,
      ),
      h('button', { onclick: automatic, id: 'provision' }, 'Set up automatically'),
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, 'I’ll do it myself'),
      h('ol', {}, ...info.manualSteps.map((step) => h('li', {}, step))),
      h(
        'button',
        { class: 'secondary', onclick: () => run('/api/onboarding/verify', {}), id: 'verify' },
        'Verify the connection',
      ),
    ),
    status,
  )
  if (sessionStorage.getItem('pending') === `provision:${tenantId}`) {
    sessionStorage.removeItem('pending')
    await automatic()
  }
}
