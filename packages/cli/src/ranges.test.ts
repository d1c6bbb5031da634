import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { addRange, coveredCount, createPositionMap, type Ranges } from './ranges.ts'

describe('ranges', () => {
  it('addRange covers exactly the union of what was added, sorted, merged and disjoint', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(200), fc.nat(30)), { maxLength: 40 }), (adds) => {
        let ranges: Ranges = []
        const covered = new Set<number>()
        for (const [start, len] of adds) {
          ranges = addRange(ranges, start, start + len)
          for (let i = start; i < start + len; i++) covered.add(i)
        }
        expect(coveredCount(ranges)).toBe(covered.size)
        for (let i = 1; i < ranges.length; i++)
          expect((ranges[i] as [number, number])[0]).toBeGreaterThan((ranges[i - 1] as [number, number])[1])
        for (const [a, b] of ranges) for (let i = a; i < b; i++) expect(covered.has(i)).toBe(true)
      }),
    )
  })

  it('createPositionMap maps positions of the kept rows back to the file', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 300 }), (keep) => {
        const map = createPositionMap()
        const kept: number[] = []
        keep.forEach((k, i) => {
          if (k) {
            map.note(i)
            kept.push(i)
          }
        })
        for (const [position, original] of kept.entries()) expect(map.toOriginal(position)).toBe(original)
      }),
    )
  })
})
