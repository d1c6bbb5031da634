import type { DynamicsWebApi } from 'dynamics-web-api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWithDynamicsWebApi } from './dynamics-web-api-support.ts'

// dynamics-web-api, unchanged, on contact.parentcustomerid, a Customer lookup (account or contact): it binds through
// parentcustomerid_contact, reads the lookup's annotations (under its own `_Formatted` / `_LogicalName` /
// `_NavigationProperty` names or the raw keys), expands both navigation properties, filters and reads the definition.
type Json = Record<string, unknown>
let client: DynamicsWebApi
let stop: (() => Promise<void>) | undefined

beforeAll(async () => {
  ;({ client, stop } = await startWithDynamicsWebApi())
})

afterAll(async () => {
  await stop?.()
})

const annotation = (row: Json, name: string, short: string, raw: string) =>
  row[`${name}_${short}`] ?? row[`${name}@${raw}`]

describe('dynamics-web-api on a Customer (multi-table) lookup', () => {
  it('creates a contact whose parent customer is a contact and reads, expands and filters it', async () => {
    const parent = await client.create<Json, string>({
      collection: 'contacts',
      data: { firstname: 'Polly', lastname: 'Parent' },
    })
    const child = await client.create<Json, string>({
      collection: 'contacts',
      data: { lastname: 'Poly child', 'parentcustomerid_contact@odata.bind': `contacts(${parent})` },
    })
    const read = await client.retrieve<Json>({
      collection: 'contacts',
      key: child,
      select: ['lastname', '_parentcustomerid_value'],
      includeAnnotations: '*',
    })
    expect(read._parentcustomerid_value).toBe(parent)
    const lookup = '_parentcustomerid_value'
    expect(annotation(read, lookup, 'LogicalName', 'Microsoft.Dynamics.CRM.lookuplogicalname')).toBe(
      'contact',
    )
    expect(annotation(read, lookup, 'Formatted', 'OData.Community.Display.V1.FormattedValue')).toBe(
      'Polly Parent',
    )
    expect(
      annotation(read, lookup, 'NavigationProperty', 'Microsoft.Dynamics.CRM.associatednavigationproperty'),
    ).toBe('parentcustomerid_contact')

    const expanded = await client.retrieve<Json>({
      collection: 'contacts',
      key: child,
      select: ['lastname'],
      expand: [
        { property: 'parentcustomerid_contact', select: ['fullname'] },
        { property: 'parentcustomerid_account', select: ['name'] },
      ],
    })
    expect(expanded.parentcustomerid_contact).toMatchObject({ contactid: parent, fullname: 'Polly Parent' })
    expect(expanded.parentcustomerid_account).toBeNull()

    const children = await client.retrieve<Json>({
      collection: 'contacts',
      key: parent,
      select: ['fullname'],
      expand: [{ property: 'contact_customer_contacts', select: ['lastname'] }],
    })
    expect((children.contact_customer_contacts as Json[]).map((c) => c.contactid)).toEqual([child])

    const byValue = await client.retrieveMultiple<Json>({
      collection: 'contacts',
      select: ['lastname'],
      filter: `_parentcustomerid_value eq ${parent}`,
    })
    expect(byValue.value.map((c) => c.contactid)).toEqual([child])
    const byPath = await client.retrieveMultiple<Json>({
      collection: 'contacts',
      select: ['lastname'],
      filter: "parentcustomerid_contact/fullname eq 'Polly Parent'",
    })
    expect(byPath.value.map((c) => c.contactid)).toEqual([child])
    const throughAccount = await client.retrieveMultiple<Json>({
      collection: 'contacts',
      select: ['lastname'],
      filter: `parentcustomerid_account/accountid eq ${parent}`,
    })
    expect(throughAccount.value).toEqual([])

    await client.disassociateSingleValued({
      collection: 'contacts',
      primaryKey: child,
      navigationProperty: 'parentcustomerid_contact',
    })
    const cleared = await client.retrieve<Json>({
      collection: 'contacts',
      key: child,
      select: ['_parentcustomerid_value'],
    })
    expect(cleared._parentcustomerid_value).toBeNull()
  })

  it('reads the attribute definition: a Customer lookup to account and contact', async () => {
    const attribute = await client.retrieveAttribute<Json>({
      entityKey: "LogicalName='contact'",
      attributeKey: "LogicalName='parentcustomerid'",
      castType: 'Microsoft.Dynamics.CRM.LookupAttributeMetadata',
      select: ['LogicalName', 'AttributeType', 'Targets'],
    })
    expect(attribute).toMatchObject({
      LogicalName: 'parentcustomerid',
      AttributeType: 'Customer',
      Targets: ['account', 'contact'],
    })
  })
})
