/** Half-open ranges `[start, end)` of row positions, sorted and merged. */
export type Ranges = [number, number][]

/** Adds `[start, end)` to `ranges`, keeping them sorted and merged. */
export function addRange(ranges: Ranges, start: number, end: number): Ranges {
  if (end <= start) return ranges
  const out: Ranges = []
  let s = start
  let e = end
  let placed = false
  for (const [a, b] of ranges) {
    if (b < s) out.push([a, b])
    else if (a > e) {
      if (!placed) {
        out.push([s, e])
        placed = true
      }
      out.push([a, b])
    } else {
      s = Math.min(s, a)
      e = Math.max(e, b)
    }
  }
  if (!placed) out.push([s, e])
  return out.sort((x, y) => x[0] - y[0])
}

/** Number of positions the ranges cover. */
export function coveredCount(ranges: Ranges): number {
  return ranges.reduce((n, [a, b]) => n + (b - a), 0)
}

/**
 * Maps positions of a filtered sequence back to positions of the original one. `note(original)` is called for each
 * element kept, in order; `toOriginal(kept)` answers in O(log n) with memory proportional to the number of gaps.
 */
export function createPositionMap() {
  // segments: kept position `k` at original `k + offset`, from kept position `from`
  const segments: { from: number; offset: number }[] = []
  let kept = 0
  return {
    note(original: number): void {
      const offset = original - kept
      const last = segments[segments.length - 1]
      if (!last || last.offset !== offset) segments.push({ from: kept, offset })
      kept++
    },
    toOriginal(position: number): number {
      let lo = 0
      let hi = segments.length - 1
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1
        if ((segments[mid] as { from: number }).from <= position) lo = mid
        else hi = mid - 1
      }
      return position + (segments[lo]?.offset ?? 0)
    },
  }
}
