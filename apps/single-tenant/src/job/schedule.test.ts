import { describe, expect, it } from 'vitest'
import { runOnSchedule } from './schedule.ts'

const quiet = { isStop: () => false, onError: () => {}, onWait: () => {} }

describe('runOnSchedule', () => {
  it('runs once without an interval and passes its error on', async () => {
    let runs = 0
    const signal = new AbortController().signal
    expect(await runOnSchedule(async () => runs++, { ...quiet, everyMs: undefined, signal })).toBe(0)
    expect(runs).toBe(1)
    await expect(
      runOnSchedule(
        async () => {
          throw new Error('boom')
        },
        { ...quiet, everyMs: undefined, signal },
      ),
    ).rejects.toThrow('boom')
  })

  it('repeats every interval from the previous start, survives a failed run, and stops on the signal', async () => {
    const controller = new AbortController()
    const starts: number[] = []
    const errors: unknown[] = []
    const code = await runOnSchedule(
      async () => {
        starts.push(Date.now())
        if (starts.length === 2) throw new Error('throttled for too long')
        if (starts.length === 3) controller.abort()
        await new Promise((r) => setTimeout(r, 20))
      },
      { ...quiet, everyMs: 100, signal: controller.signal, onError: (e) => errors.push(e) },
    )
    expect(code).toBe(130)
    expect(starts).toHaveLength(3)
    expect(errors).toHaveLength(1)
    // Real timers: a loaded machine may fire a little early by Date.now() or much later, never a whole period early.
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(80)
    expect(starts[1]! - starts[0]!).toBeLessThan(2_000)
  })

  it('ends when a run reports it was stopped', async () => {
    const signal = new AbortController().signal
    const stop = new Error('stopped')
    const code = await runOnSchedule(
      async () => {
        throw stop
      },
      { ...quiet, everyMs: 1_000, signal, isStop: (e) => e === stop },
    )
    expect(code).toBe(130)
  })
})
