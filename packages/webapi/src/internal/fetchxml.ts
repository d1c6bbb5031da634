import { DataverseError } from '../errors.ts'
import { escapeXmlAttribute, readXmlRoot, type XmlRoot } from './xml.ts'

/**
 * The root `<fetch>` element of a FetchXML query, its attribute values decoded.
 * @throws {DataverseError} `INVALID_ARGUMENT` when the FetchXML is not well-formed or its root is not `<fetch>`.
 */
export function readFetch(xml: string): XmlRoot {
  const root = readXmlRoot(xml)
  if (typeof root === 'string') {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      `fetchXml is not well-formed XML: ${root}. Fix the query text.`,
    )
  }
  if (root.name !== 'fetch') {
    throw new DataverseError(
      'INVALID_ARGUMENT',
      `fetchXml must have <fetch> as its root element, not <${root.name}>.`,
    )
  }
  return root
}

/**
 * Sets (or replaces, or with undefined removes) attributes of the root `<fetch>` element. Only the root's start tag
 * is rewritten: its other attributes keep their values, the rest of the text is left as written.
 * @throws {DataverseError} `INVALID_ARGUMENT` as {@link readFetch}, or when a value holds a character XML cannot carry.
 */
export function setFetchAttributes(
  xml: string,
  attributes: Record<string, string | undefined>,
  root: XmlRoot = readFetch(xml),
): string {
  const merged = new Map(root.attributes)
  for (const [name, value] of Object.entries(attributes)) {
    merged.delete(name)
    if (value !== undefined) merged.set(name, value)
  }
  let tag = `<${root.name}`
  for (const [name, value] of merged) {
    const escaped = escapeXmlAttribute(value)
    if (escaped === undefined) {
      throw new DataverseError(
        'INVALID_ARGUMENT',
        `The ${name} attribute of <fetch> holds a character XML cannot carry (U+0000 to U+001F other than tab and line breaks, a lone surrogate, U+FFFE or U+FFFF).`,
      )
    }
    tag += ` ${name}="${escaped}"`
  }
  tag += root.selfClosing ? '/>' : '>'
  return xml.slice(0, root.start) + tag + xml.slice(root.end)
}

/**
 * `@Microsoft.Dynamics.CRM.fetchxmlpagingcookie` is `<cookie pagenumber="2" pagingcookie="%253ccookie...">`:
 * the `pagingcookie` attribute is URL-encoded twice; the decoded XML goes into `paging-cookie` (XML-escaped
 * when written as an attribute). See powerapps-docs use-fetchxml-web-api / page-results.
 * @returns the cookie, or undefined when the annotation is absent, not XML, or has no pagingcookie.
 */
export function pagingCookieFrom(annotation: string | undefined): string | undefined {
  if (!annotation) return undefined
  const root = readXmlRoot(annotation)
  // The attribute's value (entities such as &amp; decoded), then the two URL encodings.
  let cookie = typeof root === 'string' ? undefined : root.attributes.get('pagingcookie')
  if (!cookie) return undefined
  for (let i = 0; i < 2 && /%[0-9a-f]{2}/i.test(cookie); i++) cookie = decodeURIComponent(cookie)
  return cookie
}

/** Whether a FetchXML query asks for the total record count (`<fetch returntotalrecordcount="true">`). */
export function countsRecords(root: XmlRoot | string): boolean {
  return typeof root !== 'string' && root.attributes.get('returntotalrecordcount') === 'true'
}
