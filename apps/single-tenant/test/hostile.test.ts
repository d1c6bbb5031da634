import { once } from 'node:events'
import { connect } from 'node:net'
import { createMsalNetworkClient } from '@dataverse-s2s/core'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_BODY_BYTES } from '../src/limits.ts'
import { buildApp, type Harness, jar, signInOverHttp, startHarness, trustingFetch } from './support.ts'

let h: Harness
const base = 'http://localhost:3001'

beforeAll(async () => {
  h = await startHarness(base)
}, 120_000)
afterAll(() => h?.handle.stop())

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? ''

/** A body that counts how many chunks the server pulled; it never ends on its own (bounded by `max`). */
function countingBody(chunkBytes: number, max = 10_000) {
  const seen = { chunks: 0 }
  const chunk = new Uint8Array(chunkBytes).fill(0x61)
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (seen.chunks >= max) return controller.close()
        seen.chunks++
        controller.enqueue(chunk)
      },
    },
    { highWaterMark: 0 },
  )
  return { stream, seen }
}

async function signedIn(app: ReturnType<typeof buildApp>) {
  const { cookies } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com')
  const cookie = cookies.cookie()
  const csrf = csrfOf(await (await app.request(`${base}/`, { headers: { cookie } })).text())
  return { cookie, csrf }
}

describe('request bodies', () => {
  it('answers 413 at once to a body declared larger than the limit, without reading a byte', async () => {
    const app = buildApp(h)
    const { stream, seen } = countingBody(64 * 1024)
    const request = new Request(`${base}/environment`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(512 * 1024 * 1024),
      },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    const res = await app.fetch(request)
    expect(res.status).toBe(413)
    expect(res.headers.get('connection')).toBe('close')
    expect(await res.text()).toContain(`${MAX_BODY_BYTES} bytes`)
    expect(seen.chunks).toBe(0)
  })

  it('over a real socket, answers a declared 512 MB body with 413 at once and closes, without waiting for it', async () => {
    const server = serve({ fetch: buildApp(h).fetch, port: 0, hostname: '127.0.0.1' })
    try {
      if (!server.listening) await once(server, 'listening')
      const { port } = server.address() as { port: number }
      const socket = connect(port, '127.0.0.1')
      await once(socket, 'connect')
      const started = performance.now()
      socket.write(
        `POST /environment HTTP/1.1\r\nHost: localhost:3001\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${512 * 1024 * 1024}\r\n\r\n_csrf=x`,
      )
      let reply = ''
      socket.on('data', (chunk) => {
        reply += chunk.toString('latin1')
      })
      // Bounded: the server must answer and close on its own; the test gives up after 5 s.
      const deadline = setTimeout(() => socket.destroy(), 5_000)
      await once(socket, 'close')
      clearTimeout(deadline)
      expect(reply).toMatch(/^HTTP\/1\.1 413 /)
      expect(reply.toLowerCase()).toContain('connection: close')
      expect(performance.now() - started).toBeLessThan(5_000)
    } finally {
      server.close()
    }
  })

  it('refuses an anonymous form post (403) before reading its body', async () => {
    const app = buildApp(h)
    const { stream, seen } = countingBody(64 * 1024)
    const res = await app.request(`${base}/environment`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(403)
    expect(seen.chunks).toBe(0)
  })

  it('counts a body sent without a length as it streams and stops at the limit (413)', async () => {
    const app = buildApp(h)
    const { cookie } = await signedIn(app)
    const { stream, seen } = countingBody(1024)
    const res = await app.request(`${base}/environment`, {
      method: 'POST',
      headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    // Read up to the limit plus what the stream had queued, not the 10 MB it would have sent.
    expect(seen.chunks).toBeLessThanOrEqual(MAX_BODY_BYTES / 1024 + 2)
  })

  it('answers 400 to multipart without a boundary, with and without a CSRF header', async () => {
    const app = buildApp(h)
    const { cookie, csrf } = await signedIn(app)
    const headers = { cookie, origin: base, 'content-type': 'multipart/form-data' }
    const viaForm = await app.request(`${base}/environment`, {
      method: 'POST',
      headers,
      body: `_csrf=${csrf}&environment=prod`,
    })
    expect(viaForm.status).toBe(400)
    expect(await viaForm.text()).toContain('could not be read')
    const viaHeader = await app.request(`${base}/environment`, {
      method: 'POST',
      headers: { ...headers, 'x-csrf-token': csrf },
      body: 'environment=prod',
    })
    expect(viaHeader.status).toBe(400)
    expect(await viaHeader.text()).toContain('Unreadable form')
    // Nothing changed.
    const html = await (await app.request(`${base}/`, { headers: { cookie } })).text()
    expect(html).toMatch(/data-testid="current-environment">dev</)
  })
})

describe('sign-in flows', () => {
  it('keeps a pending sign-in alive while 10,050 anonymous sign-ins start', async () => {
    // Fresh connections: a keep-alive socket left idle through the flood may be closed under the next request.
    const ca = h.config.caPem ?? h.handle.caCertPem
    const fresh = {
      ...h,
      fetcher: trustingFetch(ca),
      network: createMsalNetworkClient({ ca, timeoutMs: 15_000 }),
    }
    const app = buildApp(fresh)
    const flood = async () => {
      for (let i = 0; i < 10_050; i++) {
        const res = await app.request(`${base}/auth/signin`)
        if (res.status !== 302) throw new Error(`sign-in ${i} answered ${res.status}`)
      }
    }
    const { response } = await signInOverHttp(app, fresh, 'alice@contoso.onmicrosoft.com', jar(), flood)
    expect(response.status).toBe(303)
  }, 120_000)

  it('keeps the flow unreadable to the browser and refuses a tampered or moved flow cookie', async () => {
    const app = buildApp(h)
    const cookies = jar()
    let callback: string | undefined
    const first = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com', cookies, async () => {
      const value = cookies.cookies.get('signin')!
      const state = new URL((await app.request(`${base}/auth/signin`)).headers.get('location')!).searchParams
      expect(value).not.toContain(state.get('state'))
      // A flipped byte, and the value moved to another cookie name: both refused.
      const flipped = `${value.slice(0, -3)}${value.at(-3) === 'A' ? 'B' : 'A'}${value.slice(-2)}`
      callback = `${base}/auth/callback?state=x&code=y`
      for (const cookie of [`signin=${flipped}`, `session=${value}`]) {
        const res = await app.request(callback, { headers: { cookie } })
        expect(res.status).toBe(400)
        expect(await res.text()).toContain('Sign-in expired')
      }
    })
    expect(callback).toBeDefined()
    expect(first.response.status).toBe(303)
  })

  it('forgets a flow after ten minutes', async () => {
    let clock = Date.now()
    const app = buildApp(h, { now: () => clock })
    const { response } = await signInOverHttp(app, h, 'alice@contoso.onmicrosoft.com', jar(), async () => {
      clock += 11 * 60_000
    })
    expect(response.status).toBe(400)
  })
})

describe('headers', () => {
  it('sends a strict CSP: no script, plugin, base URL or framing', async () => {
    const res = await buildApp(h).request(`${base}/`)
    const csp = res.headers.get('content-security-policy') ?? ''
    for (const directive of [
      "script-src 'none'",
      "object-src 'none'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
      "form-action 'self'",
    ]) {
      expect(csp).toContain(directive)
    }
  })
})

describe('impersonation without a Dataverse user', () => {
  it('says the user has no user in the environment instead of "try again later"', async () => {
    h.handle.admin.createUser({
      tenantId: h.config.tenantId,
      userPrincipalName: 'nouser@contoso.onmicrosoft.com',
      displayName: 'No User',
    })
    const app = buildApp(h)
    const { cookies } = await signInOverHttp(app, h, 'nouser@contoso.onmicrosoft.com')
    const cookie = cookies.cookie()
    const csrf = csrfOf(await (await app.request(`${base}/`, { headers: { cookie } })).text())
    await app.request(`${base}/impersonation`, {
      method: 'POST',
      headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, actAsUser: 'true' }),
    })
    const page = await app.request(`${base}/`, { headers: { cookie } })
    expect(page.status).toBe(502)
    const html = await page.text()
    expect(html).toContain('You have no user in this Dataverse environment')
    expect(html).not.toContain('Try again later')
  })
})
