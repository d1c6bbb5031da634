import { api } from '../api.ts'
import { account, orgToken, signIn } from '../auth.ts'
import { errorBox, h, okBox, show } from '../dom.ts'

interface OnboardingStatus {
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

/** Step 1: the admin enters the org URL and is sent to admin consent. */
export function connectView(): void {
  const input = h('input', {
    name: 'orgUrl',
    type: 'url',
    required: true,
    placeholder: 'https://contoso.crm.dynamics.com',
  })
  const status = h('div', {})
  show(
    h('h1', {}, 'Connect your organization'),
    h(
      'div',
      { class: 'card' },
      h(
        'p',
        {},
        'You need to be an administrator of your Microsoft Entra tenant and of your Dataverse environment.',
      ),
      h(
        'ol',
        {},
        h('li', {}, 'Enter your Dataverse org URL; we find its tenant.'),
        h('li', {}, 'Give admin consent to the app in your tenant.'),
        h(
          'li',
          {},
          'Let the app create its application user and security role in your org (or do it by hand).',
        ),
        h('li', {}, 'We check the connection, and your people can sign in.'),
      ),
      h(
        'form',
        {
          class: 'toolbar',
          onsubmit: async (e) => {
            e.preventDefault()
            status.replaceChildren(h('p', { class: 'muted' }, 'Looking up your org…'))
            try {
              const r = await api<{ consentUrl: string }>('/api/onboarding/start', {
                method: 'POST',
                body: { orgUrl: input.value.trim() },
                anonymous: true,
              })
              location.assign(r.consentUrl)
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

/** Steps 2–4: after the consent callback, provision (automatically or by hand), then verify. */
export async function onboardingView(query: URLSearchParams): Promise<void> {
  const error = query.get('error')
  if (error) {
    return show(
      h('h1', {}, 'Connect your organization'),
      errorBox(query.get('message') ?? 'The consent did not complete.'),
      h('p', {}, h('a', { href: '#/connect' }, 'Start again')),
    )
  }
  const tenant = query.get('tenant') ?? ''
  const me = account()
  if (!me || me.tenantId !== tenant) {
    return show(
      h('h1', {}, 'Admin consent recorded'),
      okBox('Your tenant gave consent to the app.'),
      h(
        'div',
        { class: 'card' },
        h(
          'p',
          {},
          'Next, sign in with your administrator account to finish the set-up in your Dataverse org.',
        ),
        h('button', { onclick: () => signIn(`#/onboarding?tenant=${tenant}`) }, 'Sign in as administrator'),
      ),
    )
  }
  const status = h('div', {})
  let info: OnboardingStatus
  try {
    info = await api<OnboardingStatus>('/api/onboarding/status')
  } catch (e) {
    return show(h('h1', {}, 'Finish the set-up'), errorBox(message(e)))
  }
  const done = (t: OnboardingStatus['tenant']) => {
    status.replaceChildren(
      okBox(`Connected. ${t.lastCheck?.detail ?? ''} Your people can now sign in.`),
      h('p', {}, h('a', { href: '#/accounts' }, 'Open your accounts')),
    )
  }
  const automatic = async () => {
    status.replaceChildren(
      h('p', { class: 'muted' }, 'Creating the application user and its role in your org…'),
    )
    try {
      const token = await orgToken(info.tenant.orgUrl, info.tenant.tenantId, `provision:${tenant}`)
      const r = await api<{ tenant: OnboardingStatus['tenant'] }>('/api/onboarding/provision', {
        method: 'POST',
        body: { dataverseToken: token },
      })
      done(r.tenant)
    } catch (e) {
      status.replaceChildren(errorBox(message(e)))
    }
  }
  const verify = async () => {
    status.replaceChildren(h('p', { class: 'muted' }, 'Checking the connection…'))
    try {
      const r = await api<{ tenant: OnboardingStatus['tenant'] }>('/api/onboarding/verify', {
        method: 'POST',
      })
      done(r.tenant)
    } catch (e) {
      status.replaceChildren(errorBox(message(e)))
    }
  }
  show(
    h('h1', {}, 'Finish the set-up'),
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
      h('button', { class: 'secondary', onclick: verify, id: 'verify' }, 'Verify the connection'),
    ),
    status,
  )
  if (sessionStorage.getItem('pending') === `provision:${tenant}`) {
    sessionStorage.removeItem('pending')
    await automatic()
  }
}
