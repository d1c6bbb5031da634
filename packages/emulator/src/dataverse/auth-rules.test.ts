import type { JWTPayload } from 'jose'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { World } from '../world/world.ts'
import { TokenVerifier, Unauthorized } from './auth.ts'

const AUTHORITY = 'https://login.example.test'
const TID = 'aaaaaaaa-0000-4000-8000-000000000001'
const ORG = 'https://contoso.crm.example.test'

/** A world whose signature check answers the claims a token names (the token is the claims' JSON). */
function fakeWorld() {
  const world = {
    authorityUrl: AUTHORITY,
    signingKeys: { generation: 1 },
    // the emulator's clock, read at call time so fake timers move it
    clock: { now: () => Date.now() },
    verifications: 0,
    async verifyJwt(token: string): Promise<JWTPayload> {
      world.verifications++
      if (token === 'forged') throw new Error('bad signature')
      return JSON.parse(token) as JWTPayload
    },
  }
  return world
}

const nowS = () => Math.floor(Date.now() / 1000)
const claims = (over: Record<string, unknown> = {}) => ({
  aud: ORG,
  tid: TID,
  iss: `${AUTHORITY}/${TID}/`,
  exp: nowS() + 3600,
  ...over,
})
const token = (over: Record<string, unknown> = {}) => JSON.stringify(claims(over))

function verifier() {
  const world = fakeWorld()
  return { world, v: new TokenVerifier(world as unknown as World, () => ORG, TID) }
}

async function refusal(v: TokenVerifier, t: string): Promise<string> {
  const error = await v.verify(t).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(Unauthorized)
  return (error as Error).message
}

afterEach(() => vi.useRealTimers())

describe('emulator token verification', () => {
  it('accepts a token for this org (any case, with or without the trailing slash, in an audience list)', async () => {
    const { v } = verifier()
    for (const aud of [ORG, `${ORG}/`, ORG.toUpperCase(), ['other', `${ORG}/`]])
      expect((await v.verify(token({ aud }))).aud).toEqual(aud)
  })

  it('refuses a token for another resource, an org whose URL only starts the same, or without an audience', async () => {
    const { v } = verifier()
    for (const aud of ['https://fabrikam.crm.example.test', `${ORG}.evil.test`, `${ORG}//`, [42], undefined])
      expect(await refusal(v, token({ aud }))).toMatch(/another resource/)
  })

  it('refuses a correctly signed token of another tenant, and one without a tenant', async () => {
    const { v } = verifier()
    const other = 'bbbbbbbb-0000-4000-8000-000000000002'
    expect(await refusal(v, token({ tid: other, iss: `${AUTHORITY}/${other}/` }))).toMatch(/another tenant/)
    expect(await refusal(v, token({ tid: undefined }))).toMatch(/another tenant/)
    expect(await refusal(v, token({ tid: 42 }))).toMatch(/another tenant/)
  })

  it('compares the tenant id case-insensitively', async () => {
    const { v } = verifier()
    const upper = TID.toUpperCase()
    expect((await v.verify(token({ tid: upper, iss: `${AUTHORITY}/${upper}/` }))).tid).toBe(upper)
    const lowerVerifier = new TokenVerifier(fakeWorld() as unknown as World, () => ORG, TID.toUpperCase())
    expect((await lowerVerifier.verify(token())).tid).toBe(TID)
  })

  it('accepts the v1.0 and v2.0 issuers of the token’s tenant and refuses any other', async () => {
    const { v } = verifier()
    expect((await v.verify(token({ iss: `${AUTHORITY}/${TID}/v2.0` }))).iss).toBe(`${AUTHORITY}/${TID}/v2.0`)
    for (const iss of [
      `${AUTHORITY}/other/`,
      `https://evil.test/${TID}/`,
      `${AUTHORITY}/${TID}`,
      `${AUTHORITY}/${TID}/v2.0/`,
      undefined,
      7,
    ])
      expect(await refusal(v, token({ iss }))).toMatch(/unexpected issuer/)
  })

  it('refuses a forged signature and a token without exp', async () => {
    const { v } = verifier()
    expect(await refusal(v, 'forged')).toMatch(/not valid/)
    expect(await refusal(v, token({ exp: undefined }))).toMatch(/no expiry/)
    expect(await refusal(v, token({ exp: String(nowS() + 60) }))).toMatch(/no expiry/)
  })

  it('serves a token seen before from the cache, until it expires', async () => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') })
    const { v, world } = verifier()
    const t = token({ exp: nowS() + 60 })
    await v.verify(t)
    await v.verify(t)
    expect(world.verifications).toBe(1)
    expect(v.cached(t)).toMatchObject({ tid: TID })
    vi.advanceTimersByTime(59_999)
    expect(v.cached(t)).toMatchObject({ tid: TID })
    vi.advanceTimersByTime(1)
    expect(() => v.cached(t)).toThrow(/expired/)
    // dropped: a second look verifies it in full again
    expect(v.cached(t)).toBeUndefined()
  })

  it('forgets every cached token when the signing keys change (a rolled-over key must not keep working)', async () => {
    const { v, world } = verifier()
    const t = token()
    await v.verify(t)
    world.signingKeys.generation = 2
    expect(v.cached(t)).toBeUndefined()
    await v.verify(t)
    expect(world.verifications).toBe(2)
    expect(v.cached(t)).toBeDefined()
  })

  it('clear() forgets every cached token', async () => {
    const { v } = verifier()
    const t = token()
    await v.verify(t)
    v.clear()
    expect(v.cached(t)).toBeUndefined()
  })

  it('keeps at most 10,000 verified tokens (the cache starts over when full)', async () => {
    const { v } = verifier()
    const first = token({ n: 0 })
    await v.verify(first)
    for (let n = 1; n < 10_000; n++) await v.verify(token({ n }))
    expect(v.cached(first)).toBeDefined()
    await v.verify(token({ n: 10_000 }))
    expect(v.cached(first)).toBeUndefined()
  })
})
