import type { SpaConfig } from './auth.ts'
import { h } from './dom.ts'

/**
 * Whether msal-browser failed because it could not fetch the authority's OpenID configuration: the network, a
 * proxy, or (on the emulator) a browser that does not trust the emulator's certificate. msal-browser reports it
 * as `endpoints_resolution_error` and leaves the page unchanged, so the SPA must say it.
 */
export function isAuthorityUnreachable(error: unknown): boolean {
  const code = (error as { errorCode?: unknown } | null)?.errorCode
  return code === 'endpoints_resolution_error' || code === 'network_error'
}

/** The panel that says what is wrong and the exact fix. */
export function unreachablePanel(config: Pick<SpaConfig, 'mode' | 'authorityHost'>): HTMLElement {
  const discovery = `${config.authorityHost}/common/v2.0/.well-known/openid-configuration`
  const fixes =
    config.mode === 'emulator'
      ? [
          h(
            'p',
            {},
            'This browser does not trust the local emulator’s certificate, so it cannot reach the emulated Entra ID at ',
            h('code', {}, config.authorityHost),
            '.',
          ),
          h('p', {}, 'Fix it once, in a terminal at the root of the repository, then restart the browser:'),
          h('pre', { id: 'trust-command' }, 'pnpm emulator trust --state apps/multi-tenant/.data/emulator'),
          h(
            'p',
            { class: 'muted' },
            'It needs certutil (Debian/Ubuntu: sudo apt-get install libnss3-tools). Or, for this browser session only, open ',
            h('a', { href: discovery, target: '_blank' }, config.authorityHost),
            ', accept the certificate, and come back.',
          ),
        ]
      : [
          h(
            'p',
            {},
            'The browser could not reach Microsoft Entra ID at ',
            h('code', {}, config.authorityHost),
            ': check the network connection and any proxy or firewall, then try again. Opening ',
            h('a', { href: discovery, target: '_blank' }, 'the OpenID configuration'),
            ' should show a JSON document.',
          ),
        ]
  return h(
    'div',
    { class: 'card', id: 'authority-unreachable', role: 'alert' },
    h('h2', {}, 'Sign-in cannot reach Entra ID'),
    ...fixes,
  )
}
