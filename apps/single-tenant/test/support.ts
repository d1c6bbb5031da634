import type { INetworkModule, NetworkResponse } from '@azure/msal-node'
import { createMsalNetworkClient } from '@dataverse-s2s/core'
import { createTrustingAgent, type EmulatorHandle, startEmulator } from '@dataverse-s2s/emulator'
import { fetch as undiciFetch } from 'undici'
import { createApp } from '../src/app.tsx'
import { createSignIn } from '../src/auth.ts'
import type { AppConfig } from '../src/config.ts'
import { createEnvironments } from '../src/dataverse.ts'
import { type EmulatorWorld, emulatorConfig, prepareEmulator } from '../src/emulator-setup.ts'

export interface Harness {
  handle: EmulatorHandle
  world: EmulatorWorld
  config: AppConfig
  /** A `fetch` trusting the emulator's CA, for the tests' own requests (browserless sign-in). */
  fetcher: typeof fetch
  /** MSAL's network module as the app builds it (core's, trusting the emulator's CA). */
  network: INetworkModule
}

/** A `fetch` on its own connection pool that trusts the emulator's CA. */
export function trustingFetch(caPem: string): typeof fetch {
  const agent = createTrustingAgent(caPem)
  return ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    undiciFetch(
      input as never,
      { ...(init as object), dispatcher: agent } as never,
    )) as unknown as typeof fetch
}

export async function startHarness(publicUrl = 'http://localhost:3001'): Promise<Harness> {
  const handle = await startEmulator({ port: 0 })
  const world = await prepareEmulator(handle)
  const port = Number(new URL(publicUrl).port || 80)
  const config = emulatorConfig(handle, world, { port, publicUrl })
  const fetcher = trustingFetch(config.caPem ?? handle.caCertPem)
  const network = createMsalNetworkClient({ ca: config.caPem ?? handle.caCertPem, timeoutMs: 15_000 })
  return { handle, world, config, fetcher, network }
}

/** The app as `pnpm start` builds it, with hooks for tests (a clock, MSAL's network between the app and Entra ID). */
export function buildApp(
  h: Harness,
  options: { network?: INetworkModule; now?: () => number; publicUrl?: string } = {},
) {
  const config = options.publicUrl ? { ...h.config, publicUrl: options.publicUrl } : h.config
  return createApp({
    config,
    signIn: createSignIn(config, options.network ?? h.network),
    environments: createEnvironments(config),
    organization: 'Contoso',
    ...(options.now ? { now: options.now } : {}),
  })
}

/** Replaces the `id_token` in Entra ID's token responses, as if Entra had issued another one. */
export function swapIdToken(
  network: INetworkModule,
  replace: (original: Record<string, unknown>) => Promise<string>,
): INetworkModule {
  return {
    sendGetRequestAsync: (url, options, timeout) => network.sendGetRequestAsync(url, options, timeout),
    async sendPostRequestAsync<T>(
      url: string,
      options?: Parameters<INetworkModule['sendPostRequestAsync']>[1],
    ) {
      const response = await network.sendPostRequestAsync<T>(url, options)
      if (!new URL(url).pathname.endsWith('/oauth2/v2.0/token') || response.status !== 200) return response
      const body = response.body as Record<string, unknown>
      if (typeof body['id_token'] === 'string') {
        const claims = JSON.parse(
          Buffer.from(body['id_token'].split('.')[1] ?? '', 'base64url').toString('utf8'),
        )
        body['id_token'] = await replace(claims)
      }
      return { ...response, body: body as T } satisfies NetworkResponse<T>
    },
  }
}

export interface Browserless {
  cookies: Map<string, string>
  cookie(): string
  store(response: Response): void
}

/** A tiny cookie jar for app.request. */
export function jar(): Browserless {
  const cookies = new Map<string, string>()
  return {
    cookies,
    cookie: () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
    store(response) {
      for (const header of response.headers.getSetCookie()) {
        const [pair] = header.split(';')
        const at = pair!.indexOf('=')
        const name = pair!.slice(0, at)
        const value = pair!.slice(at + 1)
        if (value === '' || /Max-Age=0/i.test(header)) cookies.delete(name)
        else cookies.set(name, value)
      }
    },
  }
}

type AppLike = ReturnType<typeof buildApp>

/**
 * Signs `upn` in over HTTP, the way a browser would: the app's sign-in redirect, the emulator's sign-in page
 * (the account picked), the redirect back to the app's callback. Returns the callback's response.
 */
export async function signInOverHttp(
  app: AppLike,
  h: Harness,
  upn: string,
  cookies = jar(),
  /** Runs while the browser is away at Entra ID (between the app's redirect and its callback). */
  whileAway?: () => Promise<void>,
  /** The `returnTo` of the sign-in link, as a browser would send it. */
  returnTo?: string,
): Promise<{ response: Response; cookies: Browserless; callbackUrl?: string; emulatorPage?: string }> {
  const query = returnTo === undefined ? '' : `?returnTo=${encodeURIComponent(returnTo)}`
  const start = await app.request(`${h.config.publicUrl}/auth/signin${query}`, {
    headers: { cookie: cookies.cookie() },
  })
  cookies.store(start)
  await whileAway?.()
  let location = start.headers.get('location')
  if (!location) throw new Error(`sign-in did not redirect (${start.status})`)
  let page = await h.fetcher(location, { redirect: 'manual' })
  let form: URLSearchParams | undefined = formOf(await page.text(), location, { login: upn })
  for (let step = 0; form && step < 5; step++) {
    const action = form.get('__action')!
    form.delete('__action')
    page = await h.fetcher(action, {
      method: 'POST',
      body: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    })
    location = page.headers.get('location')
    if (location) break
    const html = await page.text()
    form = formOf(html, action, { consent: 'accept' })
    if (!form) return { response: page, cookies, emulatorPage: html }
  }
  if (!location?.startsWith(h.config.publicUrl)) throw new Error(`unexpected redirect to ${location}`)
  const response = await app.request(location, { headers: { cookie: cookies.cookie() } })
  cookies.store(response)
  return { response, cookies, callbackUrl: location }
}

/** The first form of an emulator page with its hidden fields, plus `choice` (the clicked button). */
function formOf(html: string, base: string, choice: Record<string, string>): URLSearchParams | undefined {
  const match = /<form method="post" action="([^"]+)">([\s\S]*?)<\/form>/i.exec(html)
  if (!match) return undefined
  const fields = new URLSearchParams()
  for (const input of match[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields.set(decode(input[1]!), decode(input[2]!))
  }
  const buttons = [...match[2]!.matchAll(/<button[^>]*name="([^"]+)"/g)].map((b) => b[1])
  const [name, value] = Object.entries(choice).find(([k]) => buttons.includes(k)) ?? []
  if (!name) return undefined
  if (name === 'login') fields.set('typed', value!)
  fields.set(name, value!)
  fields.set('__action', new URL(decode(match[1]!), base).href)
  return fields
}

function decode(text: string): string {
  return text
    .replaceAll('&#34;', '"')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&')
}
