import { actAsMe, api, setActAsMe } from './api.ts'
import { account, initAuth, type SpaConfig, signIn, signOut } from './auth.ts'
import { errorBox, h, nextView, route, show } from './dom.ts'
import { isAuthorityUnreachable, unreachablePanel } from './unreachable.ts'
import { adminView } from './views/admin.ts'
import { connectView, onboardingView } from './views/onboarding.ts'
import { listView, recordView } from './views/records.ts'

interface Me {
  name: string | null
  orgUrl: string
  actor: 'app' | 'user'
  canAdminister: boolean
}

let me: Me | undefined

function header(): void {
  const top = document.getElementById('top') as HTMLElement
  const user = account()
  const actAs = h('input', {
    type: 'checkbox',
    id: 'act-as-me',
    checked: actAsMe(),
    onchange: (e) => {
      setActAsMe((e.target as HTMLInputElement).checked)
      void render()
    },
  })
  top.replaceChildren(
    h('a', { class: 'brand', href: '#/' }, 'Litware for Dataverse'),
    ...(user
      ? [
          h('a', { href: '#/accounts' }, 'Accounts'),
          h('a', { href: '#/contacts' }, 'Contacts'),
          me?.canAdminister ? h('a', { href: '#/admin' }, 'Connection') : '',
          h(
            'label',
            {
              title:
                'Send requests as yourself (CallerObjectId): Dataverse applies only what both you and the app may do',
            },
            actAs,
            'Act as me',
          ),
          h('span', { id: 'who' }, user.name ?? user.username),
          h('button', { class: 'secondary', onclick: () => signOut() }, 'Sign out'),
        ]
      : [
          h('a', { href: '#/connect' }, 'Connect your organization'),
          h('button', { onclick: () => startSignIn('#/accounts') }, 'Sign in'),
        ]),
  )
}

let spaConfig: Pick<SpaConfig, 'mode' | 'authorityHost'> = { mode: 'entra', authorityHost: '' }
let mode: SpaConfig['mode'] = 'entra'

/** Sign-in that shows why it failed instead of failing silently (msal-browser only logs to the console). */
async function startSignIn(returnTo: string): Promise<void> {
  try {
    await signIn(returnTo)
  } catch (error) {
    if (isAuthorityUnreachable(error)) return show(unreachablePanel(spaConfig))
    show(errorBox(`Sign-in failed: ${error instanceof Error ? error.message : String(error)}`))
  }
}

async function home(): Promise<void> {
  if (!account()) {
    const demo =
      mode === 'emulator'
        ? h(
            'div',
            { class: 'card muted' },
            h('p', {}, 'Running on the local emulator. Try:'),
            h(
              'ul',
              {},
              h(
                'li',
                {},
                'Connect your organization: sign in as admin@fabrikam.onmicrosoft.com first, then give the Fabrikam org URL printed by pnpm start;',
              ),
              h(
                'li',
                {},
                'then sign in as carol@fabrikam.onmicrosoft.com (a user) or dave@fabrikam.onmicrosoft.com (no Dataverse role);',
              ),
              h('li', {}, 'Contoso is already connected: sign in as alice@contoso.onmicrosoft.com.'),
            ),
          )
        : null
    return show(
      h('h1', {}, 'Your Dataverse accounts and contacts, anywhere'),
      h(
        'div',
        { class: 'card' },
        h(
          'p',
          {},
          'Sign in with your work account. Your organization must be connected once by an administrator.',
        ),
        h(
          'div',
          { class: 'toolbar' },
          h('button', { onclick: () => startSignIn('#/accounts') }, 'Sign in'),
          h('a', { href: '#/connect' }, 'Connect your organization'),
        ),
      ),
      demo,
    )
  }
  location.hash = '#/accounts'
}

async function render(): Promise<void> {
  nextView()
  const { path, query } = route()
  const [first, second] = path
  if (account() && !me && first !== 'onboarding' && first !== 'connect' && first !== 'admin') {
    try {
      me = await api<Me>('/api/me')
    } catch (error) {
      header()
      return show(
        errorBox(error instanceof Error ? error.message : String(error)),
        h(
          'p',
          { class: 'toolbar' },
          h('a', { href: '#/connect' }, 'Connect your organization'),
          h('a', { href: '#/admin' }, 'Manage the connection (administrators)'),
        ),
      )
    }
  }
  header()
  switch (first) {
    case undefined:
      return home()
    case 'connect':
      return connectView()
    case 'onboarding':
      return onboardingView(query)
    case 'admin':
      return adminView()
    case 'accounts':
    case 'contacts':
      if (!account()) return startSignIn(`#/${first}`)
      return second ? recordView(first, second) : listView(first, query)
    default:
      show(errorBox('Page not found.'))
  }
}

async function start(): Promise<void> {
  const config = (await (await fetch('/api/config')).json()) as SpaConfig
  mode = config.mode
  spaConfig = config
  try {
    await initAuth(config)
  } catch (error) {
    header()
    if (isAuthorityUnreachable(error)) return show(unreachablePanel(config))
    return show(
      errorBox(`Sign-in could not start: ${error instanceof Error ? error.message : String(error)}`),
      config.mode === 'emulator'
        ? h(
            'p',
            {},
            'Your browser may not trust the emulator’s certificate yet: open ',
            h(
              'a',
              {
                href: `${config.authorityHost}/common/v2.0/.well-known/openid-configuration`,
                target: '_blank',
              },
              config.authorityHost,
            ),
            ', accept the certificate, then reload this page.',
          )
        : null,
    )
  }
  const returnTo = sessionStorage.getItem('returnTo')
  if (returnTo && account()) {
    sessionStorage.removeItem('returnTo')
    history.replaceState(null, '', returnTo)
  }
  window.addEventListener('hashchange', () => void render())
  await render()
}

start().catch((error: unknown) =>
  show(errorBox(`The app could not start: ${error instanceof Error ? error.message : String(error)}`)),
)
