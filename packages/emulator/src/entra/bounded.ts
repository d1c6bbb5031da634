/**
 * Sets `key` in `map`, keeping it at most `max` entries: past that, entries whose `expiresAt` has passed go first,
 * then the oldest (maps iterate in insertion order).
 */
export function remember<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.set(key, value)
  if (map.size <= max) return
  const now = Date.now()
  for (const [k, v] of map) {
    const expiresAt = (v as { expiresAt?: number }).expiresAt
    if (expiresAt !== undefined && expiresAt < now) map.delete(k)
  }
  for (const k of map.keys()) {
    if (map.size <= max) break
    map.delete(k)
  }
}
