import { describe, expect, it } from 'vitest'
import { MAX_ENTRA_BODY_BYTES, MAX_ORG_BODY_BYTES } from './body-limit.ts'
import { setup } from './dataverse/test-support.ts'
import { createEntraApp, createEntraState } from './entra/app.ts'
import { Counters, Faults } from './faults.ts'

function counting(chunkBytes: number, max: number) {
  const seen = { chunks: 0 }
  const chunk = new Uint8Array(chunkBytes).fill(0x20)
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

const huge = String(512 * 1024 * 1024)

describe('request-size bounds', () => {
  it('an org refuses a declared 512 MB body at once (413, Dataverse error shape), before authentication', async () => {
    const env = await setup()
    const { stream, seen } = counting(64 * 1024, 10_000)
    const res = await env.request('/api/data/v9.2/accounts', {
      method: 'POST',
      token: null,
      headers: { 'content-type': 'application/json', 'content-length': huge },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('0x80040203')
    expect(seen.chunks).toBe(0)
  })

  it('an org counts an authenticated body without a length and stops past its bound', async () => {
    const env = await setup()
    const chunk = 1024 * 1024
    const { stream, seen } = counting(chunk, 100)
    const res = await env.request('/api/data/v9.2/accounts', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    expect(seen.chunks).toBeLessThanOrEqual(MAX_ORG_BODY_BYTES / chunk + 1)
  })

  it('Entra refuses a declared oversize body and counts one without a length (413, AADSTS shape)', async () => {
    const { world } = await setup()
    const app = createEntraApp({
      world,
      faults: new Faults(1),
      counters: new Counters(),
      state: createEntraState(3600),
    })
    const declared = counting(64 * 1024, 10_000)
    const first = await app.fetch(
      new Request('https://localhost:8443/organizations/oauth2/v2.0/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': huge },
        body: declared.stream,
        duplex: 'half',
      } as RequestInit),
    )
    expect(first.status).toBe(413)
    expect(((await first.json()) as { error: string }).error).toBe('invalid_request')
    expect(declared.seen.chunks).toBe(0)

    const streamed = counting(64 * 1024, 10_000)
    const second = await app.fetch(
      new Request('https://localhost:8443/organizations/oauth2/v2.0/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: streamed.stream,
        duplex: 'half',
      } as RequestInit),
    )
    expect(second.status).toBe(413)
    expect(streamed.seen.chunks).toBeLessThanOrEqual(MAX_ENTRA_BODY_BYTES / (64 * 1024) + 1)
  })
})
