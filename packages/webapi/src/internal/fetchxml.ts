import { DataverseError } from '../errors.ts'

const FETCH_TAG_RE = /<fetch\b((?:[^>"']|"[^"]*"|'[^']*')*?)(\/?)>/

function escapeXmlAttribute(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
}

/** Sets (or replaces) attributes on the root `<fetch>` element. */
export function setFetchAttributes(xml: string, attributes: Record<string, string | undefined>): string {
  const match = FETCH_TAG_RE.exec(xml)
  if (!match) {
    throw new DataverseError('INVALID_ARGUMENT', 'fetchXml must contain a <fetch> root element.')
  }
  let attrs = match[1] ?? ''
  for (const [name, value] of Object.entries(attributes)) {
    attrs = attrs.replace(new RegExp(`\\s+${name}\\s*=\\s*("[^"]*"|'[^']*')`, 'g'), '')
    if (value !== undefined) attrs += ` ${name}="${escapeXmlAttribute(value)}"`
  }
  return (
    xml.slice(0, match.index) + `<fetch${attrs}${match[2] ?? ''}>` + xml.slice(match.index + match[0].length)
  )
}

const ENTITY = /&(?:(amp|lt|gt|quot|apos)|#(\d+)|#x([0-9A-Fa-f]+));/g
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/**
 * The value an attribute's text stands for: the five predefined entities and numeric character references decoded
 * (an unknown or malformed reference is left as written, as the server will judge it).
 */
export function decodeXmlAttribute(raw: string): string {
  if (!raw.includes('&')) return raw
  return raw.replace(
    ENTITY,
    (ref, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
      if (named) return PREDEFINED[named] as string
      const code = dec === undefined ? Number.parseInt(hex as string, 16) : Number(dec)
      return code <= 0x10ffff ? String.fromCodePoint(code) : ref
    },
  )
}

/** The decoded value of an attribute of the root `<fetch>` element. */
export function readFetchAttribute(xml: string, name: string): string | undefined {
  const match = FETCH_TAG_RE.exec(xml)
  if (!match) return undefined
  const attr = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(match[1] ?? '')
  const raw = attr ? (attr[1] ?? attr[2]) : undefined
  return raw === undefined ? undefined : decodeXmlAttribute(raw)
}

/**
 * `@Microsoft.Dynamics.CRM.fetchxmlpagingcookie` is `<cookie pagenumber="2" pagingcookie="%253ccookie...">`:
 * the `pagingcookie` attribute is URL-encoded twice; the decoded XML goes into `paging-cookie` (XML-escaped
 * when written as an attribute). See powerapps-docs use-fetchxml-web-api / page-results.
 */
export function pagingCookieFrom(annotation: string | undefined): string | undefined {
  if (!annotation) return undefined
  const match = /pagingcookie\s*=\s*"([^"]*)"/.exec(annotation)
  if (!match?.[1]) return undefined
  // The attribute's text first (entities such as &amp; decoded), then the two URL encodings.
  let cookie = decodeXmlAttribute(match[1])
  for (let i = 0; i < 2 && /%[0-9a-f]{2}/i.test(cookie); i++) cookie = decodeURIComponent(cookie)
  return cookie
}
