import { describe, expect, it } from 'vitest'
import { Limiter } from './limits.ts'
import { ids, setup } from './test-support.ts'

const API = '/api/data/v9.2'

describe('service protection limits', () => {
  it('answers 429 with Retry-After and 0x80072322 once a caller exceeds its requests per window', async () => {
    const env = await setup({ seed: { sampleData: false } })
    env.org.setLimits({ requestsPerWindow: 5, windowSeconds: 60 })
    const remaining: string[] = []
    for (let i = 0; i < 5; i++) {
      const res = await env.request(`${API}/WhoAmI`)
      expect(res.status).toBe(200)
      remaining.push(res.headers.get('x-ms-ratelimit-burst-remaining-xrm-requests') as string)
      expect(res.headers.get('x-ms-ratelimit-time-remaining-xrm-requests')).toMatch(/^\d+(\.\d+)?$/)
      expect(res.headers.get('x-ms-dop-hint')).toBe('4')
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0'])
    const throttled = await env.request(`${API}/WhoAmI`)
    expect(throttled.status).toBe(429)
    const retryAfter = Number(throttled.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThan(0)
    expect(retryAfter).toBeLessThanOrEqual(60)
    expect(throttled.headers.get('x-ms-ratelimit-burst-remaining-xrm-requests')).toBe('0')
    expect(throttled.headers.get('x-ms-service-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(await throttled.json()).toEqual({
      error: {
        code: '0x80072322',
        message: 'Number of requests exceeded the limit of 5 over time window of 60 seconds.',
      },
    })
    // limits are per caller: another user is not throttled
    const admin = await env.userToken(ids.users.contosoAdmin)
    expect((await env.request(`${API}/WhoAmI`, { token: admin })).status).toBe(200)
    const counts = env.counters.read().dataverseRequests.filter((r) => r.status === 429)
    expect(counts.reduce((n, r) => n + r.count, 0)).toBe(1)
    env.org.reset()
    expect((await env.request(`${API}/WhoAmI`)).status).toBe(200)
  })

  it('trips the concurrency limit immediately with 0x80072326', async () => {
    let now = 0
    const limiter = new Limiter(() => now)
    limiter.set({ concurrentRequests: 2 })
    const a = limiter.admit('u')
    limiter.admit('u')
    expect(() => limiter.admit('u')).toThrow(expect.objectContaining({ status: 429, code: '0x80072326' }))
    a.done()
    expect(() => limiter.admit('u')).not.toThrow()
    now += 1
  })

  it('trips the execution-time limit with 0x80072321 and frees the window as it slides', () => {
    let now = 0
    const limiter = new Limiter(() => now)
    limiter.set({ executionTimeMs: 1000, windowSeconds: 10, requestsPerWindow: 100 })
    const slow = limiter.admit('u')
    now += 1500
    slow.done()
    const fault = (() => {
      try {
        limiter.admit('u')
      } catch (e) {
        return e as { status: number; code: string; headers: Record<string, string> }
      }
    })()
    expect(fault).toMatchObject({ status: 429, code: '0x80072321' })
    expect(Number(fault?.headers['Retry-After'])).toBe(9)
    now += 9000
    expect(() => limiter.admit('u').done()).not.toThrow()
  })

  it('reports in Retry-After the time until the window frees enough, not the whole window (issue 13, item 10)', () => {
    let now = 0
    const limiter = new Limiter(() => now)
    limiter.set({ requestsPerWindow: 3, windowSeconds: 60, executionTimeMs: 1_000_000 })
    const faultOf = (weight: number) => {
      try {
        limiter.admit('u', weight).done()
      } catch (e) {
        return e as { code: string; headers: Record<string, string> }
      }
      return undefined
    }
    for (const at of [0, 10_000, 20_000]) {
      now = at
      limiter.admit('u').done()
    }
    now = 30_000
    // one more request waits for the request at 0 s to leave the window (at 60 s)
    expect(faultOf(1)?.headers['Retry-After']).toBe('30')
    // a batch of two waits for the requests at 0 s and 10 s to leave (at 70 s)
    expect(faultOf(2)?.headers['Retry-After']).toBe('40')
  })

  it('reports in Retry-After the time until enough execution time leaves the window', () => {
    let now = 0
    const limiter = new Limiter(() => now)
    limiter.set({ executionTimeMs: 1000, windowSeconds: 60, requestsPerWindow: 100 })
    const first = limiter.admit('u')
    now = 800
    first.done()
    now = 10_000
    const second = limiter.admit('u')
    now = 10_800
    second.done()
    now = 20_000
    try {
      limiter.admit('u')
      expect.unreachable('the execution-time limit should trip')
    } catch (e) {
      // 1,600 ms used; dropping the request of 0 s leaves 800 ms <= 1,000 ms: frees at 60 s
      expect((e as { headers: Record<string, string> }).headers['Retry-After']).toBe('40')
    }
    limiter.set({ executionTimeMs: 700, windowSeconds: 60, requestsPerWindow: 100 })
    try {
      limiter.admit('u')
      expect.unreachable('the execution-time limit should trip')
    } catch (e) {
      // 800 ms still exceeds 700 ms after the first leaves: the second must leave too, at 70 s
      expect((e as { headers: Record<string, string> }).headers['Retry-After']).toBe('50')
    }
  })

  it('counts each request of a $batch against the limit', async () => {
    const env = await setup({ seed: { sampleData: false } })
    env.org.setLimits({ requestsPerWindow: 3 })
    const part =
      'Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET WhoAmI HTTP/1.1\r\n\r\n\r\n'
    const body = `--b\r\n${part}--b\r\n${part}--b\r\n${part}--b\r\n${part}--b--\r\n`
    const res = await env.request(`${API}/$batch`, {
      method: 'POST',
      headers: { 'Content-Type': 'multipart/mixed; boundary=b' },
      body,
    })
    expect(res.status).toBe(429)
    expect(() => env.org.setLimits({ requestsPerWindow: -1 })).toThrow()
  })
})
