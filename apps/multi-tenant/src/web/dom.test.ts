import { describe, expect, it } from 'vitest'
import { nextView, stillCurrent } from './dom.ts'

describe('late answers of a view the user left', () => {
  it('are recognised once another view starts, however many start after', () => {
    nextView()
    const list = stillCurrent()
    const sameView = stillCurrent()
    expect(list()).toBe(true)
    nextView() // "Act as me" toggled, or "New" clicked: the list's answer must not replace the form
    const form = stillCurrent()
    expect(list()).toBe(false)
    expect(sameView()).toBe(false)
    expect(form()).toBe(true)
    nextView()
    nextView()
    expect(form()).toBe(false)
    expect(list()).toBe(false)
  })
})
