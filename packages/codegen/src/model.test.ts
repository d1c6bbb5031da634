import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type CodegenError, isCodegenError } from './errors.ts'
import { type EntityModel, parseMetadata } from './model.ts'

const sample = readFileSync(new URL('../test/sample-metadata.xml', import.meta.url), 'utf8')
const model = parseMetadata(sample)
const entity = (name: string) => model.entities.find((e) => e.logicalName === name) as EntityModel

function thrown(fn: () => unknown): CodegenError {
  try {
    fn()
  } catch (err) {
    expect(isCodegenError(err)).toBe(true)
    return err as CodegenError
  }
  throw new Error('expected a CodegenError')
}

const edmx = (schema: string) =>
  `<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices><Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">${schema}</Schema></edmx:DataServices></edmx:Edmx>`

describe('parseMetadata', () => {
  it('lists every entity type sorted, with the entity set named by the EntityContainer', () => {
    expect(model.namespace).toBe('Microsoft.Dynamics.CRM')
    expect(model.entities.map((e) => [e.logicalName, e.entitySet ?? null, e.abstract])).toEqual([
      ['account', 'accounts', false],
      ['activitypointer', 'activitypointers', false],
      ['contact', 'contacts', false],
      ['crmbaseentity', null, true],
      ['email', 'emails', false],
      ['new_project', 'new_projects', false],
      ['new_task', 'new_tasks', false],
      ['principal', null, true],
    ])
  })

  it('reads the key, property types with aliases resolved, and nullability', () => {
    const project = entity('new_project')
    expect(project.key).toEqual(['new_projectid'])
    expect(project.baseType).toBe('crmbaseentity')
    const props = Object.fromEntries(project.properties.map((p) => [p.name, [p.type, p.nullable]]))
    expect(props).toMatchObject({
      new_projectid: ['Edm.Guid', false],
      new_name: ['Edm.String', true],
      new_budget: ['Edm.Decimal', true],
      new_tags: ['Collection(Edm.String)', true],
      modifiedon: ['Edm.DateTimeOffset', true],
    })
    expect(project.properties.map((p) => p.name)).toEqual([...project.properties.map((p) => p.name)].sort())
  })

  it('marks lookup properties and links them to their navigation properties, including multi-table lookups', () => {
    expect(entity('new_project').properties.find((p) => p.name === '_new_accountid_value')?.lookup).toEqual({
      column: 'new_accountid',
      targets: ['account'],
    })
    expect(entity('contact').properties.find((p) => p.name === '_parentcustomerid_value')?.lookup).toEqual({
      column: 'parentcustomerid',
      targets: ['account', 'contact'],
    })
    // No ReferentialConstraint: the navigation `x` is matched with `_x_value` by name.
    expect(entity('new_task').navigations).toEqual([
      {
        name: 'new_projectid',
        target: 'new_project',
        collection: false,
        nullable: true,
        partner: 'new_project_tasks',
        lookupProperty: '_new_projectid_value',
      },
    ])
    expect(
      entity('new_task').properties.find((p) => p.name === '_new_projectid_value')?.lookup?.targets,
    ).toEqual(['new_project'])
  })

  it('links a multi-table lookup without ReferentialConstraint by Dataverse naming (x_target uses _x_value)', () => {
    const m = parseMetadata(
      edmx(
        '<EntityType Name="contact"><Property Name="_parentcustomerid_value" Type="Edm.Guid"/><NavigationProperty Name="parentcustomerid_account" Type="mscrm.account"/><NavigationProperty Name="parentcustomerid_contact" Type="mscrm.contact"/><NavigationProperty Name="other_account" Type="mscrm.account"/></EntityType>',
      ),
    )
    const contact = m.entities[0] as EntityModel
    expect(contact.properties[0]?.lookup).toEqual({
      column: 'parentcustomerid',
      targets: ['account', 'contact'],
    })
    expect(contact.navigations.map((n) => n.lookupProperty)).toEqual([
      undefined,
      '_parentcustomerid_value',
      '_parentcustomerid_value',
    ])
  })

  it('reads single- and collection-valued navigation properties with their targets', () => {
    const account = entity('account')
    expect(account.navigations.map((n) => [n.name, n.target, n.collection])).toEqual([
      ['account_parent_account', 'account', true],
      ['contact_customer_accounts', 'contact', true],
      ['new_account_projects', 'new_project', true],
      ['parentaccountid', 'account', false],
    ])
    expect(entity('new_project').navigations.find((n) => n.name === 'new_accountid')?.nullable).toBe(false)
  })

  it('merges the members of base types (activities inherit from activitypointer)', () => {
    const email = entity('email')
    expect(email.baseType).toBe('activitypointer')
    expect(email.key).toEqual(['activityid'])
    expect(email.properties.map((p) => p.name)).toEqual(['activityid', 'subject', 'torecipients'])
  })

  it('decodes entity and character references in attribute values', () => {
    const m = parseMetadata(
      edmx(
        '<EntityType Name="x"><Property Name="a&#95;b&#x5f;c" Type="Edm.String"/></EntityType><EntityContainer Name="S"><EntitySet Name="x&amp;s" EntityType="mscrm.x"/></EntityContainer>',
      ),
    )
    expect(m.entities[0]?.properties[0]?.name).toBe('a_b_c')
    expect(m.entities[0]?.entitySet).toBe('x&s')
  })

  it('keeps any attribute value through escaping (property)', () => {
    const xmlEscape = (s: string) =>
      s.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;').replaceAll('>', '&gt;')
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: 'grapheme' }), fc.boolean(), (name, single) => {
        const q = single ? "'" : '"'
        const value = single ? xmlEscape(name).replaceAll("'", '&apos;') : xmlEscape(name)
        const xml = edmx(`<EntityType Name=${q}${value}${q}/>`)
        expect(parseMetadata(xml).entities.map((e) => e.logicalName)).toEqual([
          name.slice(name.lastIndexOf('.') + 1),
        ])
      }),
    )
  })

  it.each([
    [
      'a mismatched end tag',
      edmx('<EntityType Name="x"></Property>'),
      /INVALID_XML|<\/Property> closes <EntityType>/,
    ],
    ['an unclosed element', '<edmx:Edmx><edmx:DataServices>', /<edmx:DataServices> is never closed/],
    ['an unquoted attribute', edmx('<EntityType Name=x/>'), /expected a quoted value/],
    ['an unterminated attribute', edmx('<EntityType Name="x/>'), /character '<' U\+003C is not allowed here/],
    ['an unknown entity', edmx('<EntityType Name="a&nbsp;b"/>'), /bad entity/],
    ['a DOCTYPE', `<!DOCTYPE x [<!ENTITY a "b">]>${edmx('')}`, /DOCTYPE/],
    ['text after the root', `${edmx('')}trailing`, /text outside the root element/],
    ['two roots', `${edmx('')}<x/>`, /a second root element/],
    ['an empty document', '', /no root element/],
    ['an HTML error page', '<html><body>Sign in</body></html>', /root is <html>/],
  ])('refuses %s with a typed error', (_, xml, message) => {
    const err = thrown(() => parseMetadata(xml))
    expect(['INVALID_XML', 'INVALID_CSDL']).toContain(err.code)
    expect(err.message).toMatch(message)
  })

  it('says where malformed XML is (line and column)', () => {
    const err = thrown(() =>
      parseMetadata('<edmx:Edmx>\n  <Schema Namespace="N">\n    <EntityType Name="a" Name="b"/>'),
    )
    expect(err.code).toBe('INVALID_XML')
    expect(err.message).toBe('Not well-formed XML at line 3, column 34: attribute Name given twice')
  })

  it('refuses a well-formed document that is not CSDL', () => {
    expect(thrown(() => parseMetadata('<edmx:Edmx/>')).code).toBe('INVALID_CSDL')
    expect(thrown(() => parseMetadata(edmx('<EntityType/>'))).message).toMatch(
      /<EntityType> has no Name attribute/,
    )
    expect(thrown(() => parseMetadata(edmx('<EntityType Name="a" BaseType="mscrm.b"/>'))).message).toMatch(
      /unknown base type mscrm\.b/,
    )
  })

  it('reads a 20 MB document, the size of a real org $metadata (a quadratic scan would time out)', () => {
    const types = Array.from(
      { length: 4000 },
      (_, i) =>
        `<EntityType Name="t${i}"><Key><PropertyRef Name="t${i}id"/></Key>${Array.from({ length: 40 }, (_, j) => `<Property Name="c${j}" Type="Edm.String"><Annotation Term="Org.OData.Core.V1.Description" String="Column ${j} &amp; more"/></Property>`).join('')}</EntityType>`,
    )
    const m = parseMetadata(edmx(types.join('')))
    expect(m.entities).toHaveLength(4000)
    expect(m.entities[0]?.properties).toHaveLength(40)
  })
})
