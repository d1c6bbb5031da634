import { describe, expect, it } from 'vitest'
import { Counters, Faults } from './faults.ts'

describe('Faults', () => {
  it('fires `next` rules exactly N times, then removes them', () => {
    const f = new Faults()
    f.add({ scope: 'entra', kind: 'status', status: 503, next: 2 })
    expect(f.decide('entra', '/t/oauth2/v2.0/token').terminal?.status).toBe(503)
    expect(f.decide('entra', '/t/oauth2/v2.0/token').terminal?.status).toBe(503)
    expect(f.decide('entra', '/t/oauth2/v2.0/token').terminal).toBeUndefined()
    expect(f.list()).toHaveLength(0)
  })

  it('is deterministic under a seed and close to the rate', () => {
    const run = (seed: number) => {
      const f = new Faults(seed)
      f.add({ scope: 'dataverse', kind: '429', rate: 0.3 })
      return Array.from({ length: 1000 }, () =>
        f.decide('org-1', '/api/data/v9.2/accounts').terminal ? 1 : 0,
      )
    }
    const a = run(42)
    expect(run(42)).toEqual(a)
    expect(run(7)).not.toEqual(a)
    const hits = a.reduce<number>((n, x) => n + x, 0)
    expect(hits).toBeGreaterThan(240)
    expect(hits).toBeLessThan(360)
  })

  it('scopes rules: dataverse matches every org, an org id only that org, entra only Entra; path filters', () => {
    const f = new Faults()
    f.add({ scope: 'org-a', kind: 'drop' })
    f.add({ scope: 'entra', kind: 'latency', latencyMs: 5, path: '/token' })
    expect(f.decide('org-b', '/x').terminal).toBeUndefined()
    expect(f.decide('org-a', '/x').terminal?.kind).toBe('drop')
    expect(f.decide('entra', '/keys').latencyMs).toBe(0)
    expect(f.decide('entra', '/t/oauth2/v2.0/token').latencyMs).toBe(5)
  })

  it('validates rules', () => {
    const f = new Faults()
    expect(() => f.add({ scope: 'entra', kind: 'boom' as never })).toThrow(/Unknown fault kind/)
    expect(() => f.add({ scope: 'entra', kind: 'status', rate: 2 })).toThrow(/between 0 and 1/)
    expect(() => f.add({ scope: 'entra', kind: 'status', status: 200 })).toThrow(/400–599/)
    expect(() => f.add({ scope: 'entra', kind: 'status', next: 0 })).toThrow(/positive integer/)
    expect(() => f.add({ scope: 'entra', kind: '429', retryAfterSeconds: -1 })).toThrow(/number of seconds/)
    expect(() => f.add({ scope: 'entra', kind: '429', retryAfterSeconds: Number.NaN })).toThrow(
      /number of seconds/,
    )
    expect(() => f.add({ scope: 'entra', kind: 'status', retryAfterSeconds: '1\r\nx: y' as never })).toThrow(
      /number of seconds/,
    )
  })
})

describe('Counters', () => {
  it('aggregates token and Dataverse requests', () => {
    const c = new Counters()
    c.tokenRequest('t1', 'client_credentials', 'success')
    c.tokenRequest('t1', 'client_credentials', 'success')
    c.tokenRequest('t1', 'client_credentials', 'invalid_client')
    c.dataverseRequest('o1', 'u1', 200)
    const r = c.read()
    expect(r.tokenRequests).toContainEqual({
      tenantId: 't1',
      grantType: 'client_credentials',
      outcome: 'success',
      count: 2,
    })
    expect(r.totals).toEqual({ tokenRequests: 3, dataverseRequests: 1 })
    c.reset()
    expect(c.read().totals).toEqual({ tokenRequests: 0, dataverseRequests: 0 })
  })
})
