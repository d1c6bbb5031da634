import { describe, expect, it } from 'vitest'
import { remember } from './bounded.ts'

describe('remember', () => {
  it('keeps at most max entries: expired ones go first, then the oldest', () => {
    const map = new Map<string, { expiresAt: number }>()
    const now = Date.now()
    remember(map, 'old-live', { expiresAt: now + 60_000 }, 3)
    remember(map, 'expired', { expiresAt: now - 1 }, 3)
    remember(map, 'b', { expiresAt: now + 60_000 }, 3)
    remember(map, 'c', { expiresAt: now + 60_000 }, 3)
    expect([...map.keys()]).toEqual(['old-live', 'b', 'c'])
    remember(map, 'd', { expiresAt: now + 60_000 }, 3)
    expect([...map.keys()]).toEqual(['b', 'c', 'd'])
  })

  it('stays bounded under 20,000 anonymous sign-ins', () => {
    const map = new Map<string, { userObjectId: string }>()
    for (let i = 0; i < 20_000; i++) remember(map, `s${i}`, { userObjectId: 'u' }, 10_000)
    expect(map.size).toBe(10_000)
    expect(map.has('s19999')).toBe(true)
  })
})
