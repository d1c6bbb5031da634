/** What {@link LruMap} keeps per entry: a flag it sets on every read. */
export interface LruEntry {
  lruReferenced: boolean
}

/**
 * A bounded map that evicts the least recently used entries first, using the second-chance (CLOCK) approximation
 * of LRU: a read only sets a flag on the value (no reordering, no allocation, so a hit costs the same at 10 or
 * 100,000 entries); when the map is full, the oldest entry is evicted unless it was read since it was last
 * considered, in which case it moves to the back and loses its flag. Every operation is O(1) amortised.
 */
export class LruMap<K, V extends LruEntry> {
  readonly #map = new Map<K, V>()
  readonly #max: number
  readonly #onEvict: ((key: K, value: V) => void) | undefined

  constructor(maxEntries: number, onEvict?: (key: K, value: V) => void) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be an integer >= 1')
    this.#max = maxEntries
    this.#onEvict = onEvict
  }

  get size(): number {
    return this.#map.size
  }

  get(key: K): V | undefined {
    const value = this.#map.get(key)
    if (value !== undefined) value.lruReferenced = true
    return value
  }

  set(key: K, value: V): void {
    if (this.#map.has(key)) {
      value.lruReferenced = true
      this.#map.set(key, value)
      return
    }
    this.#map.set(key, value)
    while (this.#map.size > this.#max) {
      const oldest = this.#map.entries().next()
      if (oldest.done) break
      const [k, v] = oldest.value
      this.#map.delete(k)
      if (k === key || v.lruReferenced) {
        // the entry just written is never the one evicted; a recently read one gets a second chance
        if (k !== key) v.lruReferenced = false
        this.#map.set(k, v)
      } else {
        this.#onEvict?.(k, v)
      }
    }
  }

  delete(key: K): boolean {
    return this.#map.delete(key)
  }

  clear(): void {
    this.#map.clear()
  }
}
