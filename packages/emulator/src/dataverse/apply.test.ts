import { describe, expect, it } from 'vitest'
import { AGGREGATE_LIMIT, parseApply, runApply } from './apply.ts'
import { defineTable } from './metadata.ts'
import type { Row } from './store.ts'

describe('$apply limits', () => {
  it('refuses to aggregate more than 50,000 rows, as Dataverse does', () => {
    const def = defineTable({ logicalName: 'thing', columns: [{ name: 'n', type: 'integer' }] })
    const rows: Row[] = Array.from({ length: AGGREGATE_LIMIT + 1 }, (_, i) => {
      const r: Row = new Array(def.columns.length + 1).fill(null)
      r[0] = i
      return r
    })
    const plan = parseApply(def, 'aggregate($count as c)')
    expect(() => runApply(rows, plan)).toThrow(expect.objectContaining({ code: '0x8004e023', status: 400 }))
    expect(runApply(rows.slice(1), plan)).toEqual([{ c: AGGREGATE_LIMIT }])
  })
})
