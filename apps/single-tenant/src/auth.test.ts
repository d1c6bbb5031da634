import { describe, expect, it } from 'vitest'
import { safeReturnTo } from './auth.ts'

describe('safeReturnTo', () => {
  it('keeps local paths', () => {
    expect(safeReturnTo('/')).toBe('/')
    expect(safeReturnTo('/reports?env=prod#top')).toBe('/reports?env=prod#top')
  })

  it('sends anything that could leave the app to the start page', () => {
    for (const value of [
      undefined,
      '',
      'https://evil.example/',
      '//evil.example/',
      '/\\evil.example',
      'javascript:alert(1)',
      '/path\nSet-Cookie: x=1',
      '/ünicode',
    ]) {
      expect(safeReturnTo(value), String(value)).toBe('/')
    }
  })
})
