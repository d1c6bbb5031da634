/**
 * A bounded map that forgets the least recently used entry first. A JavaScript `Map` keeps insertion order, so
 * moving a key to the end on every read (delete + set) and evicting from the front are both O(1).
 */
export class LruMap<K, V> {
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
    if (value === undefined) return undefined
    this.#map.delete(key)
    this.#map.set(key, value)
    return value
  }

  /** Reads without changing the order. */
  peek(key: K): V | undefined {
    return this.#map.get(key)
  }

  set(key: K, value: V): void {
    if (this.#map.has(key)) this.#map.delete(key)
    this.#map.set(key, value)
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next()
      if (oldest.done) break
      const evicted = this.#map.get(oldest.value) as V
      this.#map.delete(oldest.value)
      this.#onEvict?.(oldest.value, evicted)
    }
  }

  delete(key: K): boolean {
    return this.#map.delete(key)
  }

  clear(): void {
    this.#map.clear()
  }

  keys(): IterableIterator<K> {
    return this.#map.keys()
  }
}
