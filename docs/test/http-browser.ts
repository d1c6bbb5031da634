// A tiny cookie-keeping HTTP "browser" that fills in the emulator's sign-in and consent forms, for tests that drive
// those pages without Chromium.
export class FormBrowser {
  readonly cookies = new Map<string, string>()

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await fetch(url, { ...init, headers, redirect: 'manual' })
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq)
      const value = pair.slice(eq + 1)
      if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }

  /** Submits the page's form: its hidden fields plus `extra`. */
  async submit(page: Response, extra: Record<string, string>): Promise<Response> {
    const html = await page.text()
    const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
    if (!action) throw new Error(`no form on the page (status ${page.status}): ${html.slice(0, 200)}`)
    const fields = new URLSearchParams()
    for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      fields.set(decode(m[1] ?? ''), decode(m[2] ?? ''))
    }
    for (const [k, v] of Object.entries(extra)) fields.set(k, v)
    return this.request(new URL(decode(action), page.url).toString(), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: fields,
    })
  }
}

function decode(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
}

/** Walks the emulator's admin-consent pages as `upn` and answers `accept` or `cancel`; returns the redirect URL. */
export async function consentAs(
  url: string,
  upn: string,
  answer: 'accept' | 'cancel' = 'accept',
): Promise<string> {
  const browser = new FormBrowser()
  const signIn = await browser.request(url)
  if (signIn.status !== 200)
    throw new Error(`admin consent answered ${signIn.status}: ${await signIn.text()}`)
  const consent = await browser.submit(signIn, { login: upn })
  const done = consent.status === 200 ? await browser.submit(consent, { consent: answer }) : consent
  const location = done.headers.get('location')
  if (!location) throw new Error(`no redirect after consent (status ${done.status}): ${await done.text()}`)
  return location
}
