import { SaxesParser } from 'saxes'

/** The root element of a document: its name, its attributes (entities decoded) and where its start tag is. */
export interface XmlRoot {
  name: string
  attributes: Map<string, string>
  /** Offsets of the root's start tag in the text: `xml.slice(start, end)` is `<name ...>` or `<name .../>`. */
  start: number
  end: number
  selfClosing: boolean
}

/**
 * Reads a whole document with saxes (so it must be well-formed; a DOCTYPE is refused, no entity is ever expanded
 * beyond XML's five and character references) and returns its root element.
 * @returns the root, or a sentence saying where and why the document is not well-formed.
 */
export function readXmlRoot(xml: string): XmlRoot | string {
  const parser = new SaxesParser({ position: true })
  let root: XmlRoot | undefined
  let tagStart = 0
  let problem: string | undefined
  const stop = (what: string): never => {
    problem ??= `${what.replace(/^\d+:\d+: /, '').replace(/\.$/, '')} (line ${parser.line}, column ${parser.column + 1})`
    throw new StopReading()
  }
  parser.on('error', (error) => stop(error.message))
  parser.on('doctype', () => stop('a DOCTYPE declaration is not accepted'))
  parser.on('opentagstart', () => {
    if (!root) tagStart = xml.lastIndexOf('<', parser.position - 1)
  })
  parser.on('opentag', (tag) => {
    root ??= {
      name: tag.name,
      attributes: new Map(Object.entries(tag.attributes as Record<string, string>)),
      start: tagStart,
      end: parser.position,
      selfClosing: tag.isSelfClosing,
    }
  })
  try {
    parser.write(xml).close()
  } catch (error) {
    if (!(error instanceof StopReading)) throw error
  }
  return problem ?? (root as XmlRoot)
}

class StopReading extends Error {}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  // a parser turns a literal tab, line feed or carriage return in an attribute value into a space
  '\t': '&#9;',
  '\n': '&#10;',
  '\r': '&#13;',
}

/** XML 1.0 §2.2 `Char`: what an XML document can carry at all (as itself or as a character reference). */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u

/**
 * An attribute value written so that a parser reads back exactly `value`.
 * @returns the escaped text, or undefined when `value` holds a character XML cannot carry (U+0000, a lone surrogate)
 */
export function escapeXmlAttribute(value: string): string | undefined {
  if (NOT_XML_CHAR.test(value)) return undefined
  return value.replace(/[&<>"'\t\n\r]/g, (c) => ESCAPES[c] as string)
}
