import type { OrgModel } from './org-model.ts'
import { edmType, propertyName } from './values.ts'

// `$metadata`: the CSDL document describing the org's tables.

export function metadataXml(org: OrgModel): string {
  const esc = (s: string) => s.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll('<', '&lt;')
  const types: string[] = []
  const sets: string[] = []
  for (const t of org.store.tables.values()) {
    const d = t.def
    const props = d.columns
      .map((c) => `<Property Name="${esc(propertyName(c))}" Type="${edmType(c)}"/>`)
      .join('')
    const navs = [...d.navigations.values()]
      .map((n) =>
        n.kind === 'single'
          ? `<NavigationProperty Name="${esc(n.name)}" Type="mscrm.${n.target}"/>`
          : `<NavigationProperty Name="${esc(n.name)}" Type="Collection(mscrm.${n.target})"/>`,
      )
      .join('')
    types.push(
      `<EntityType Name="${d.logicalName}"><Key><PropertyRef Name="${d.primaryId}"/></Key>${props}${navs}</EntityType>`,
    )
    sets.push(`<EntitySet Name="${d.entitySetName}" EntityType="mscrm.${d.logicalName}"/>`)
  }
  return `<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices><Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">${types.join('')}<ComplexType Name="WhoAmIResponse"><Property Name="BusinessUnitId" Type="Edm.Guid" Nullable="false"/><Property Name="UserId" Type="Edm.Guid" Nullable="false"/><Property Name="OrganizationId" Type="Edm.Guid" Nullable="false"/></ComplexType><Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false"/></Function><EntityContainer Name="System">${sets.join('')}<FunctionImport Name="WhoAmI" Function="mscrm.WhoAmI"/></EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`
}
