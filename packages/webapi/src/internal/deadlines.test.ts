import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Deadlines } from './deadlines.ts'

// The per-attempt timeouts of a client on one timer: every attempt must still expire exactly on time, whatever the
// order of their deadlines, and nothing may be left armed once no attempt is in flight.

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('Deadlines', () => {
  it('expires an attempt at its deadline, not a millisecond before, and only once', () => {
    const d = new Deadlines()
    const expired: string[] = []
    const slot = d.start(100, () => expired.push('a'))
    vi.advanceTimersByTime(99)
    expect(expired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual(['a'])
    d.stop(slot) // the attempt ends after its timeout: harmless
    vi.advanceTimersByTime(1_000)
    expect(expired).toEqual(['a'])
  })

  it('keeps one timer for many attempts, and none once every attempt has ended', () => {
    const d = new Deadlines()
    const slots = [
      d.start(100, () => undefined),
      d.start(100, () => undefined),
      d.start(100, () => undefined),
    ]
    expect(vi.getTimerCount()).toBe(1)
    for (const slot of slots) d.stop(slot)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('never expires an attempt that ended', () => {
    const d = new Deadlines()
    const expired: string[] = []
    const a = d.start(50, () => expired.push('a'))
    d.start(200, () => expired.push('b'))
    d.stop(a)
    vi.advanceTimersByTime(199)
    expect(expired).toEqual([])
    vi.advanceTimersByTime(1)
    expect(expired).toEqual(['b'])
  })

  it('expires a shorter deadline started later first, and each of the others on time', () => {
    const d = new Deadlines()
    const expired: [string, number][] = []
    const start = Date.now()
    const record = (name: string) => () => expired.push([name, Date.now() - start])
    d.start(300, record('long'))
    vi.advanceTimersByTime(10)
    d.start(20, record('short'))
    d.start(100, record('middle'))
    vi.advanceTimersByTime(400)
    expect(expired).toEqual([
      ['short', 30],
      ['middle', 110],
      ['long', 300],
    ])
    expect(vi.getTimerCount()).toBe(0)
  })

  it('expires every attempt that shares a deadline in one sweep', () => {
    const d = new Deadlines()
    const expired: number[] = []
    for (let i = 0; i < 5; i++) d.start(40, () => expired.push(i))
    vi.advanceTimersByTime(40)
    expect(expired).toEqual([0, 1, 2, 3, 4])
  })

  it('reuses the places of ended attempts, and a late stop of an expired one never ends the attempt in its place', () => {
    const d = new Deadlines()
    const expired: string[] = []
    const a = d.start(10, () => expired.push('a'))
    vi.advanceTimersByTime(10) // a expires; its place is free again
    const b = d.start(30, () => expired.push('b'))
    expect(b % 2 ** 20).toBe(a % 2 ** 20) // the same place
    d.stop(a) // a's own stop, arriving late
    expect(d.size).toBe(1)
    vi.advanceTimersByTime(30)
    expect(expired).toEqual(['a', 'b'])
    const places = new Set([d.start(5, () => undefined), d.start(5, () => undefined)].map((t) => t % 2 ** 20))
    expect(places).toEqual(new Set([0, 1]))
  })

  it('an attempt that expires while others are in flight leaves the timer armed for the next', () => {
    const d = new Deadlines()
    const expired: string[] = []
    d.start(10, () => expired.push('a'))
    const b = d.start(60, () => expired.push('b'))
    vi.advanceTimersByTime(10)
    expect(expired).toEqual(['a'])
    expect(vi.getTimerCount()).toBe(1)
    d.stop(b)
    expect(vi.getTimerCount()).toBe(0)
  })
})
