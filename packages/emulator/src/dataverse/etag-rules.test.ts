import { describe, expect, it } from 'vitest'
import { matchesEtag } from './etag.ts'

// RFC 9110 §13.1.1/§13.1.2: If-Match / If-None-Match carry `*` or a comma-separated list of entity tags, each
// possibly weak (W/"…"); Dataverse answers 412 when If-Match names none of them.
describe('If-Match / If-None-Match etag matching', () => {
  it('takes `*` (with surrounding spaces) as matching any version', () => {
    expect(matchesEtag('*', 'W/"7"')).toBe(true)
    expect(matchesEtag('  *  ', 'W/"7"')).toBe(true)
  })

  it('does not take a `*` inside a list of tags as a wildcard', () => {
    expect(matchesEtag('"1", *', 'W/"7"')).toBe(false)
  })

  it('matches the same tag weak or strong, quoted on either side', () => {
    expect(matchesEtag('W/"7"', 'W/"7"')).toBe(true)
    expect(matchesEtag('"7"', 'W/"7"')).toBe(true)
    expect(matchesEtag('W/"7"', '"7"')).toBe(true)
  })

  it('refuses another version (the optimistic-concurrency guard: a stale write gets 412)', () => {
    expect(matchesEtag('W/"6"', 'W/"7"')).toBe(false)
    expect(matchesEtag('W/"70"', 'W/"7"')).toBe(false)
    expect(matchesEtag('W/"7"', 'W/"70"')).toBe(false)
  })

  it('matches any tag of a comma-separated list, spaces around each one ignored', () => {
    expect(matchesEtag('W/"5", W/"7" , "9"', 'W/"7"')).toBe(true)
    expect(matchesEtag('"5",  "9"', 'W/"9"')).toBe(true)
    expect(matchesEtag('"5", "9"', 'W/"7"')).toBe(false)
  })

  it('strips only the weak prefix at the start and the quotes at the ends of a tag', () => {
    // a W/ or a quote inside the tag is part of the tag
    expect(matchesEtag('"aW/1"', '"a1"')).toBe(false)
    expect(matchesEtag('"a"b"', '"ab"')).toBe(false)
    expect(matchesEtag('"a"b"', '"a"b"')).toBe(true)
  })
})
