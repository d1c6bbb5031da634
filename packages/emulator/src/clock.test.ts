import { describe, expect, it } from 'vitest'
import { createClock } from './clock.ts'

describe('the emulator clock', () => {
  it('runs at real time plus an offset that only grows, until reset', () => {
    let real = 1_000
    const clock = createClock(() => real)
    expect(clock.now()).toBe(1_000)
    expect(clock.advance(500)).toBe(1_500)
    real = 2_000
    expect(clock.now()).toBe(2_500)
    expect(clock.offsetMs).toBe(500)
    for (const bad of [-1, 0.5, Number.POSITIVE_INFINITY, Number.NaN])
      expect(() => clock.advance(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(clock.offsetMs).toBe(500)
    clock.reset()
    expect(clock.now()).toBe(2_000)
  })
})
