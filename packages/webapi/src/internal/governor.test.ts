import { afterEach, describe, expect, it, vi } from 'vitest'
import { guarded } from '../../test/runaway.ts'
import { Governor, type GovernorOptions } from './governor.ts'

// Every wait on the governor is bounded: a broken wake-up or cancellation fails in seconds with the call's name.
const newGovernor = (options: GovernorOptions) => guarded(new Governor(options), 5_000, 'governor')

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('Governor', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('caps the limit at 52 and at least 1', () => {
    expect(newGovernor({ initial: 500, max: 500, adaptive: true }).limit).toBe(52)
    expect(newGovernor({ initial: 0, max: 0, adaptive: true }).limit).toBe(1)
  })

  it('queues beyond the limit, in order, and lets retries go first', async () => {
    const g = newGovernor({ initial: 1, max: 1, adaptive: false })
    expect(g.acquire(undefined)).toBeUndefined()
    const order: string[] = []
    void g.acquire(undefined)?.then(() => order.push('new'))
    void g.acquire(undefined, true)?.then(() => order.push('retry'))
    g.release()
    await tick()
    g.release()
    await tick()
    expect(order).toEqual(['retry', 'new'])
  })

  it('a throttle pauses everything, then one request probes alone until a healthy response', async () => {
    vi.useFakeTimers()
    const g = newGovernor({ initial: 4, max: 4, adaptive: true })
    g.onThrottle(50, false)
    expect(g.limit).toBe(4) // request-count throttles only pause
    let started = 0
    for (let i = 0; i < 3; i++) void g.acquire(undefined)?.then(() => started++)
    await vi.advanceTimersByTimeAsync(49)
    expect(started).toBe(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(started).toBe(1) // the probe
    g.onResponse(undefined)
    await vi.advanceTimersByTimeAsync(0)
    expect(started).toBe(3)
  })

  it('halves the limit once per episode on concurrency throttles and follows x-ms-dop-hint', () => {
    const g = newGovernor({ initial: 8, max: 52, adaptive: true })
    g.onResponse(20)
    expect(g.limit).toBe(20)
    g.onThrottle(10, true)
    g.onThrottle(10, true)
    expect(g.limit).toBe(10)
  })

  it('an aborted waiter leaves the queue', async () => {
    const g = newGovernor({ initial: 1, max: 1, adaptive: false })
    g.acquire(undefined)
    const controller = new AbortController()
    const waiting = g.acquire(controller.signal)
    controller.abort(new Error('stop'))
    await expect(waiting).rejects.toThrow('stop')
    g.release()
    expect(g.inFlight).toBe(0)
  })
})
