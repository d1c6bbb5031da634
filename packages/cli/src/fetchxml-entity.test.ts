import { describe, expect, it } from 'vitest'
import { fetchXmlEntityName } from './fetchxml-entity.ts'

describe('fetchXmlEntityName: the table a FetchXML file reads', () => {
  it('is the name of the entity directly inside <fetch>, entities decoded', () => {
    expect(
      fetchXmlEntityName('<fetch top="5"><entity name="account"><attribute name="name"/></entity></fetch>'),
    ).toEqual({
      name: 'account',
    })
    expect(fetchXmlEntityName(`<fetch><entity name='new_caf&#233;'/></fetch>`)).toEqual({ name: 'new_café' })
  })

  it('ignores an entity in a comment and a link-entity', () => {
    const xml =
      '<fetch><!-- <entity name="contact"> --><entity name="account"><link-entity name="contact" from="parentcustomerid" to="accountid"/></entity></fetch>'
    expect(fetchXmlEntityName(xml)).toEqual({ name: 'account' })
  })

  it('says why a file gives no table', () => {
    expect(fetchXmlEntityName('<fetch><attribute name="x"/></fetch>')).toEqual({
      problem: 'it has no <entity name="..."> inside <fetch>',
    })
    expect(fetchXmlEntityName('<query><entity name="account"/></query>')).toEqual({
      problem: 'the root element is <query>, not <fetch>',
    })
    const broken = fetchXmlEntityName('<fetch><entity name="account"></fetch>')
    expect(broken).toMatchObject({
      problem: expect.stringMatching(/^not well-formed XML at line 1, column \d+: /),
    })
    expect(
      fetchXmlEntityName('<!DOCTYPE x [<!ENTITY a "b">]><fetch><entity name="account"/></fetch>'),
    ).toEqual({
      problem: 'a DOCTYPE declaration is not accepted',
    })
  })
})
