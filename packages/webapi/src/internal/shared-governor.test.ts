import { describe, expect, it } from 'vitest'
import type { SharedThrottle } from '../shared-throttle.ts'
import type { ClientClock } from '../types.ts'
import { resolveGate } from './shared-governor.ts'

// A store that grants every lease at once: what is left to hold a request is this instance's own pause.
function openThrottle(): SharedThrottle & { acquired: number } {
  let n = 0
  const t = {
    acquired: 0,
    async acquire(_scope: string, want: number) {
      t.acquired += want
      return { leases: Array.from({ length: want }, () => `lease-${n++}`), waitMs: 0, limit: 52 }
    },
    async release() {},
    async ping() {},
  }
  return t
}

describe('a shared gate on the client clock', () => {
  it("holds requests for this instance's own 429 by the client's clock, not the wall clock", async () => {
    // a clock far from the wall clock, moved by hand: the pause ends when it says so
    const clock = { now: 1_000_000 }
    const fake: ClientClock = { now: () => clock.now, sleep: async () => {} }
    const throttle = openThrottle()
    const gate = resolveGate({ shared: { throttle } }, 'https://org.example', undefined, fake)
    gate.onThrottle(5_000, false)
    let sent = false
    const waiting = gate.acquire(undefined)
    expect(waiting).toBeDefined()
    void waiting?.then(() => {
      sent = true
    })
    await new Promise((r) => setTimeout(r, 60))
    expect(sent).toBe(false)
    expect(throttle.acquired).toBe(0)
    clock.now += 5_000
    for (let i = 0; i < 20 && !sent; i++) await new Promise((r) => setTimeout(r, 10))
    expect(sent).toBe(true)
  })
})

describe('what a shared gate reads from responses', () => {
  it('wants every x-ms-dop-hint and burst remainder (the shared throttle learns from each), a local gate neither past its first hint', () => {
    const fake: ClientClock = { now: () => 0, sleep: async () => {} }
    const shared = resolveGate(
      { shared: { throttle: openThrottle() } },
      'https://org.example',
      undefined,
      fake,
    )
    shared.onResponse(8, 100)
    expect([shared.wantsDopHint, shared.wantsRemaining]).toEqual([true, true])
    const local = resolveGate({ initial: 4, max: 30 }, 'https://org.example', undefined, fake)
    local.onResponse(8)
    expect([local.wantsDopHint, local.wantsRemaining]).toEqual([false, false])
  })
})
