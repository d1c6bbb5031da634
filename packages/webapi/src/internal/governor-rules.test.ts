import { describe, expect, it } from 'vitest'
import { guarded, within } from '../../test/runaway.ts'
import { DataverseError } from '../errors.ts'
import type { ClientClock } from '../types.ts'
import { abortError, DOP_HINT_PATIENCE, Governor, type GovernorOptions, MAX_CONCURRENCY } from './governor.ts'

// Every wait on the governor is bounded: a broken wake-up or cancellation fails in seconds with the call's name.
const newGovernor = (options: GovernorOptions) => guarded(new Governor(options), 5_000, 'governor')

// The governor rule by rule (found by mutation testing): the limits it starts from, who waits and in which order,
// how 429s pause and halve it, how x-ms-dop-hint and healthy responses grow it. Microsoft Learn, "Service
// protection API limits": Retry-After is honoured by sending nothing until it elapses; x-ms-dop-hint is the
// recommended degree of parallelism; more than 52 concurrent requests are refused (0x80072326).

/** A clock that moves only when told; sleepers wake in deadline order. */
function manualClock(start = 1_000_000) {
  let t = start
  const sleepers: { until: number; wake: () => void }[] = []
  const clock: ClientClock = {
    now: () => t,
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        sleepers.push({ until: t + ms, wake: resolve })
      }),
  }
  return {
    clock,
    sleepers,
    /** Moves time without waking anyone. */
    skip(ms: number) {
      t += ms
    },
    async advance(ms: number) {
      t += ms
      for (const s of sleepers.splice(0).filter((x) => x.until <= t || !sleepers.push(x))) s.wake()
      await settle()
    },
  }
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

/** Starts `n` acquisitions and records, in order, which were granted. */
function waiters(g: Governor, n: number, options: { first?: boolean; signal?: AbortSignal } = {}) {
  const granted: number[] = []
  const results = Array.from({ length: n }, (_, i) => {
    const p = g.acquire(options.signal, options.first)
    if (p === undefined) granted.push(i)
    else
      p.then(
        () => granted.push(i),
        () => undefined,
      )
    return p
  })
  return { granted, results }
}

describe('Governor: limits', () => {
  it('clamps the start and the ceiling to whole numbers between 1 and 52', () => {
    expect(MAX_CONCURRENCY).toBe(52)
    expect(newGovernor({ initial: 3.9, max: 10, adaptive: false }).limit).toBe(3)
    expect(newGovernor({ initial: 30, max: 10.7, adaptive: false }).limit).toBe(10)
    expect(newGovernor({ initial: 80, max: 80, adaptive: false }).limit).toBe(52)
    expect(newGovernor({ initial: 5, max: 0.5, adaptive: false }).limit).toBe(1)
    expect(newGovernor({ initial: -3, max: 4, adaptive: false }).limit).toBe(1)
  })

  it('grants up to the limit at once, then queues, and counts what is in flight and queued', async () => {
    const g = newGovernor({ initial: 2, max: 2, adaptive: false })
    const { granted } = waiters(g, 4)
    expect(granted).toEqual([0, 1])
    expect(g.inFlight).toBe(2)
    expect(g.queued).toBe(2)
    g.release()
    await settle()
    expect(granted).toEqual([0, 1, 2])
    expect(g.inFlight).toBe(2)
    expect(g.queued).toBe(1)
  })

  it('a new request waits behind queued ones even when a slot is free', async () => {
    const c = manualClock()
    const g = newGovernor({ initial: 2, max: 2, adaptive: true, clock: c.clock })
    g.onThrottle(100, false)
    const { granted } = waiters(g, 1)
    c.skip(100) // the pause is over, its timer has not fired yet
    const late = g.acquire(undefined)
    expect(late).toBeInstanceOf(Promise)
    await c.advance(0)
    expect(granted).toEqual([0]) // the queued one probes first
  })

  it('keeps the order of thousands of waiters (the queue compacts as it drains)', async () => {
    const g = newGovernor({ initial: 1, max: 1, adaptive: false })
    const { granted } = waiters(g, 3000)
    for (let i = 1; i < 3000; i++) g.release()
    await settle()
    expect(granted).toHaveLength(3000)
    expect(granted.every((v, i) => v === i)).toBe(true)
    expect(g.queued).toBe(0)
  })

  it('puts retries before new work, also after part of the queue was served', async () => {
    const g = newGovernor({ initial: 1, max: 1, adaptive: false })
    const order: string[] = []
    g.acquire(undefined)
    for (const name of ['a', 'b', 'c']) void g.acquire(undefined)?.then(() => order.push(name))
    g.release() // a goes
    await settle()
    void g.acquire(undefined, true)?.then(() => order.push('retry'))
    g.release()
    await settle()
    g.release()
    await settle()
    g.release()
    await settle()
    expect(order).toEqual(['a', 'retry', 'b', 'c'])
  })
})

describe('Governor: cancellation', () => {
  it('refuses at once with the reason of a signal that is already aborted, and queues nothing', async () => {
    const g = newGovernor({ initial: 1, max: 1, adaptive: false })
    g.acquire(undefined)
    const reason = new Error('gone')
    await expect(g.acquire(AbortSignal.abort(reason))).rejects.toBe(reason)
    expect(g.queued).toBe(0)
  })

  it('a waiter aborted in the queue is skipped: the slot goes to the next one', async () => {
    const g = newGovernor({ initial: 1, max: 1, adaptive: false })
    g.acquire(undefined)
    const controller = new AbortController()
    const cancelled = g.acquire(controller.signal)
    let next = false
    void g.acquire(undefined)?.then(() => {
      next = true
    })
    controller.abort(new Error('stop'))
    await expect(cancelled).rejects.toThrow('stop')
    g.release()
    await settle()
    expect(next).toBe(true)
    expect(g.inFlight).toBe(1)
  })

  it('a granted waiter is no longer listening to its signal', async () => {
    const g = newGovernor({ initial: 1, max: 1, adaptive: false })
    g.acquire(undefined)
    const controller = new AbortController()
    let removed = 0
    const signal = controller.signal
    const remove = signal.removeEventListener.bind(signal)
    signal.removeEventListener = ((...args: Parameters<AbortSignal['removeEventListener']>) => {
      removed++
      remove(...args)
    }) as AbortSignal['removeEventListener']
    const waiting = g.acquire(signal)
    g.release()
    await expect(waiting).resolves.toBeUndefined()
    expect(removed).toBe(1)
  })

  it('abortError keeps a DataverseError reason and wraps any other as ABORTED with the cause', () => {
    const own = new DataverseError('TIMEOUT', 'deadline')
    expect(abortError(AbortSignal.abort(own), 'GET', 'accounts')).toBe(own)
    const cause = new Error('user left')
    const error = abortError(AbortSignal.abort(cause), 'PATCH', 'accounts(1)')
    expect(error).toMatchObject({
      code: 'ABORTED',
      message: 'PATCH accounts(1) was aborted by the caller.',
      method: 'PATCH',
      path: 'accounts(1)',
      cause,
    })
  })
})

describe('Governor: which headers it needs', () => {
  it('wants an x-ms-dop-hint until the first positive one, and only when adaptive; never the burst remainder', () => {
    const g = newGovernor({ initial: 4, max: 30, adaptive: true })
    expect([g.wantsDopHint, g.wantsRemaining]).toEqual([true, false])
    g.onResponse(undefined)
    g.onResponse(0)
    expect(g.wantsDopHint).toBe(true)
    g.onResponse(8)
    expect(g.wantsDopHint).toBe(false)
    expect(newGovernor({ initial: 4, max: 30, adaptive: false }).wantsDopHint).toBe(false)
  })

  it(`stops looking for a hint after ${DOP_HINT_PATIENCE} responses without one, and not before`, () => {
    const g = newGovernor({ initial: 4, max: 30, adaptive: true })
    for (let i = 0; i < DOP_HINT_PATIENCE - 1; i++) g.onResponse(i % 2 ? 0 : undefined)
    expect(g.wantsDopHint).toBe(true)
    g.onResponse(8) // still taken at the last chance
    expect(g.limit).toBe(8)
    const late = newGovernor({ initial: 4, max: 30, adaptive: true })
    for (let i = 0; i < DOP_HINT_PATIENCE; i++) late.onResponse(undefined)
    expect(late.wantsDopHint).toBe(false)
  })
})

describe('Governor: growth', () => {
  it('takes the first positive x-ms-dop-hint as its limit, clamped to its ceiling, and ignores later ones', () => {
    const g = newGovernor({ initial: 4, max: 30, adaptive: true })
    g.onResponse(0)
    expect(g.limit).toBe(5) // no hint: slow start grows by one
    g.onResponse(40)
    expect(g.limit).toBe(30)
    g.onResponse(2)
    expect(g.limit).toBe(30)
  })

  it('grows by one per healthy response in slow start, never past its ceiling', () => {
    const g = newGovernor({ initial: 1, max: 3, adaptive: true })
    g.onResponse(undefined)
    expect(g.limit).toBe(2)
    g.onResponse(undefined)
    g.onResponse(undefined)
    g.onResponse(undefined)
    expect(g.limit).toBe(3)
  })

  it('after a concurrency throttle, grows by one only after as many healthy responses as its limit', () => {
    const { clock } = manualClock()
    const g = newGovernor({ initial: 8, max: 52, adaptive: true, clock })
    g.onThrottle(0, true)
    expect(g.limit).toBe(4)
    for (let i = 0; i < 3; i++) g.onResponse(undefined)
    expect(g.limit).toBe(4)
    g.onResponse(undefined)
    expect(g.limit).toBe(5)
    for (let i = 0; i < 4; i++) g.onResponse(undefined)
    expect(g.limit).toBe(5)
    g.onResponse(undefined)
    expect(g.limit).toBe(6)
  })

  it('a fixed governor ignores hints and healthy responses', () => {
    const g = newGovernor({ initial: 3, max: 52, adaptive: false })
    g.onResponse(20)
    g.onResponse(undefined)
    expect(g.limit).toBe(3)
  })

  it('a grown limit lets queued requests go at once', async () => {
    const g = newGovernor({ initial: 1, max: 10, adaptive: true })
    const { granted } = waiters(g, 4)
    g.onResponse(4) // the hint
    await settle()
    expect(granted).toEqual([0, 1, 2, 3])
  })

  it('slow start growth lets a queued request go at once', async () => {
    const g = newGovernor({ initial: 1, max: 10, adaptive: true })
    const { granted } = waiters(g, 2)
    g.onResponse(undefined)
    await settle()
    expect(granted).toEqual([0, 1])
  })
})

describe('Governor: throttling', () => {
  it('sends nothing until Retry-After elapses, on its own clock, then one probe until a response', async () => {
    const c = manualClock()
    const g = newGovernor({ initial: 4, max: 4, adaptive: true, clock: c.clock })
    g.onThrottle(1000, false)
    expect(g.pauseRemainingMs()).toBe(1000)
    const { granted } = waiters(g, 3)
    await c.advance(999)
    expect(granted).toEqual([])
    expect(g.pauseRemainingMs()).toBe(1)
    await c.advance(1)
    expect(granted).toEqual([0])
    expect(g.pauseRemainingMs()).toBe(0)
    g.onResponse(undefined)
    await settle()
    expect(granted).toEqual([0, 1, 2])
  })

  it('halves the limit for a concurrency or execution-time throttle, once per pause, and not below 1', () => {
    const c = manualClock()
    const g = newGovernor({ initial: 9, max: 52, adaptive: true, clock: c.clock })
    g.onThrottle(100, true)
    expect(g.limit).toBe(4)
    g.onThrottle(100, true) // same episode
    expect(g.limit).toBe(4)
    const one = newGovernor({ initial: 1, max: 1, adaptive: true, clock: c.clock })
    one.onThrottle(0, true)
    expect(one.limit).toBe(1)
  })

  it('halves again in a later episode, once the pause is over', async () => {
    const c = manualClock()
    const g = newGovernor({ initial: 16, max: 52, adaptive: true, clock: c.clock })
    g.onThrottle(100, true)
    await c.advance(100)
    g.onThrottle(100, true)
    expect(g.limit).toBe(4)
  })

  it('a request-count throttle only pauses; a fixed governor never halves', () => {
    const c = manualClock()
    const g = newGovernor({ initial: 8, max: 52, adaptive: true, clock: c.clock })
    g.onThrottle(100, false)
    expect(g.limit).toBe(8)
    const fixed = newGovernor({ initial: 8, max: 52, adaptive: false, clock: c.clock })
    fixed.onThrottle(100, true)
    expect(fixed.limit).toBe(8)
  })

  it('a shorter Retry-After never shortens a pause', () => {
    const c = manualClock()
    const g = newGovernor({ initial: 2, max: 2, adaptive: true, clock: c.clock })
    g.onThrottle(5000, false)
    g.onThrottle(10, false)
    expect(g.pauseRemainingMs()).toBe(5000)
  })

  it('waits with one timer per pause however many requests queue', async () => {
    const c = manualClock()
    const g = newGovernor({ initial: 2, max: 2, adaptive: true, clock: c.clock })
    g.onThrottle(50, false)
    waiters(g, 5)
    expect(c.sleepers).toHaveLength(1)
    expect(c.sleepers[0]?.until).toBe(c.clock.now() + 50)
  })

  it('without a clock it waits on real time', async () => {
    const g = newGovernor({ initial: 1, max: 1, adaptive: true })
    g.onThrottle(20, false)
    const started = Date.now()
    await within(g.acquire(undefined) ?? Promise.resolve(), 'a slot after a 20 ms pause', 2_000)
    expect(Date.now() - started).toBeGreaterThanOrEqual(15)
  })
})

describe('Governor: edges', () => {
  it('admits at once when the pause ends exactly now', () => {
    const c = manualClock()
    const g = newGovernor({ initial: 2, max: 2, adaptive: true, clock: c.clock })
    g.onThrottle(100, false)
    c.skip(100)
    expect(g.acquire(undefined)).toBeUndefined()
  })

  it('wakes queued requests after every pause, not only the first', async () => {
    const c = manualClock()
    const g = newGovernor({ initial: 2, max: 2, adaptive: true, clock: c.clock })
    g.onThrottle(100, false)
    const first = waiters(g, 1)
    await c.advance(100)
    expect(first.granted).toEqual([0])
    g.release()
    g.onResponse(undefined)
    g.onThrottle(100, false)
    const second = waiters(g, 1)
    await c.advance(100)
    expect(second.granted).toEqual([0])
  })

  it('leaves no abort listener on a signal once the request was admitted', async () => {
    const { getEventListeners } = await import('node:events')
    const g = newGovernor({ initial: 1, max: 1, adaptive: false })
    g.acquire(undefined)
    const controller = new AbortController()
    const waiting = g.acquire(controller.signal)
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1)
    g.release()
    await waiting
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0)
  })
})
