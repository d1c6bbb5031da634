import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type LruEntry, LruMap } from './lru.ts'

interface V extends LruEntry {
  n: number
}
const v = (n: number): V => ({ n, lruReferenced: false })

describe('LruMap', () => {
  it('evicts entries not read since they were last considered, oldest first', () => {
    const evicted: string[] = []
    const m = new LruMap<string, V>(3, (k) => evicted.push(k))
    m.set('a', v(1))
    m.set('b', v(2))
    m.set('c', v(3))
    m.get('a')
    m.set('d', v(4))
    expect(evicted).toEqual(['b'])
    m.set('e', v(5))
    expect(evicted).toEqual(['b', 'c'])
    expect(m.get('a')?.n).toBe(1)
    expect(m.size).toBe(3)
  })

  it('never exceeds its bound and keeps the newest entry (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 40 })), { maxLength: 300 }),
        (max, ops) => {
          const m = new LruMap<number, V>(max)
          for (const [isSet, k] of ops) {
            if (isSet) {
              m.set(k, v(k * 2))
              expect(m.get(k)?.n).toBe(k * 2)
            } else {
              const got = m.get(k)
              if (got !== undefined) expect(got.n).toBe(k * 2)
            }
            expect(m.size).toBeLessThanOrEqual(max)
          }
        },
      ),
    )
  })

  it('refuses a bad bound', () => {
    expect(() => new LruMap(0)).toThrow(RangeError)
  })
})
