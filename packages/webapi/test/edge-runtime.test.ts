import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Hono } from 'hono'
import { build } from 'tsdown'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Bundles the client the way a Workers/Deno/Bun/browser bundler would (no `node` condition), proves that nothing
// from Node (node:*, undici) got in, then runs that bundle inside a Hono app driven by `app.request`, with a
// non-Node `fetch` (another Hono app's `request`) as its only transport.
let dir: string
let code: string
let webapi: typeof import('../src/index.ts')

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'webapi-edge-'))
  await build({
    config: false,
    entry: { edge: join(import.meta.dirname, '../src/index.ts') },
    outDir: dir,
    format: 'esm',
    platform: 'browser',
    dts: false,
    logLevel: 'silent',
    // a bundler for the edge bundles the dependencies too (saxes and its xmlchars), so they are checked as well
    noExternal: [/^saxes$/, /^xmlchars\//],
    inputOptions: {
      resolve: { conditionNames: ['@dataverse-s2s/source', 'worker', 'browser', 'import', 'default'] },
    },
  })
  const files = (await readdir(dir)).filter((f) => f.endsWith('.js') || f.endsWith('.mjs'))
  code = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('\n')
  const entry = files.find((f) => f.startsWith('edge')) as string
  webapi = (await import(pathToFileURL(join(dir, entry)).href)) as typeof webapi
}, 60_000)

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('default (non-Node) entry', () => {
  it('imports nothing from Node and bundles no undici', () => {
    expect(code).not.toMatch(/from\s*["']node:|require\(["']node:|import\(["']node:/)
    expect(code).not.toMatch(/from\s*["'](undici|http|https|net|tls|fs)["']/)
    expect(code).not.toContain('undici')
    expect(code).toContain('createDataverseClient')
    expect(code).not.toMatch(/from\s*["']saxes["']|require\(["']saxes["']\)/)
    expect(code).toContain('SaxesParser')
  })

  it('runs inside a Hono app, calling Dataverse through a non-Node fetch', async () => {
    const seen: { auth: string | undefined; url: string }[] = []
    const dataverse = new Hono()
    dataverse.get('/api/data/v9.2/WhoAmI', (c) => {
      seen.push({ auth: c.req.header('authorization'), url: c.req.url })
      return c.json({
        UserId: '11111111-1111-1111-1111-111111111111',
        BusinessUnitId: 'b',
        OrganizationId: 'o',
      })
    })
    dataverse.get('/api/data/v9.2/accounts', (c) => {
      seen.push({ auth: c.req.header('authorization'), url: c.req.url })
      return c.json({ value: [{ name: c.req.query('$filter') }] })
    })
    const edgeFetch = ((input: RequestInfo | URL, init?: RequestInit) =>
      dataverse.request(new Request(input, init))) as typeof fetch

    const app = new Hono()
    app.get('/me', async (c) => {
      const client = webapi.createDataverseClient({
        url: 'https://contoso.crm.dynamics.com',
        getToken: async () => 'edge-token',
        fetch: edgeFetch,
      })
      const who = await client.whoAmI()
      const page = await client.query<{ name: string }>('accounts', {
        filter: webapi.odata`name eq ${"it's"}`,
      })
      return c.json({ userId: who.userId, filter: page.value[0]?.name })
    })
    const response = await app.request('/me')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({
      userId: '11111111-1111-1111-1111-111111111111',
      filter: "name eq 'it''s'",
    })
    expect(seen.map((s) => s.auth)).toEqual(['Bearer edge-token', 'Bearer edge-token'])
  })
})
