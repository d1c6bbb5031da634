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
    // A fake clock: runs take 20 ms of it, waits move it; nothing waits in real time.
    let clock = 1_000_000
    const waits: number[] = []
    const controller = new AbortController()
    const starts: number[] = []
    const errors: unknown[] = []
    const code = await runOnSchedule(
      async () => {
        starts.push(clock)
        if (starts.length === 2) throw new Error('throttled for too long')
        if (starts.length === 3) controller.abort()
        clock += 20
      },
      {
        ...quiet,
        everyMs: 100,
        signal: controller.signal,
        onError: (e) => errors.push(e),
        now: () => clock,
        sleep: async (ms, signal) => {
          if (signal.aborted) throw signal.reason
          waits.push(ms)
          clock += ms
        },
      },
    )
    expect(code).toBe(130)
    expect(starts).toEqual([1_000_000, 1_000_100, 1_000_200])
    expect(errors).toHaveLength(1)
    // After a 20 ms run, 80 ms to the next start; after a failure at once (it took no time), the full 100 ms.
    expect(waits).toEqual([80, 100])
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
