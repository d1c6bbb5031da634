import { SaxesParser } from 'saxes'
import { Fault } from './errors.ts'

export interface XmlElement {
  name: string
  attrs: Map<string, string>
  children: XmlElement[]
  /** The element's own text (CDATA included), entities decoded. */
  text: string
}

/** Deeper than any FetchXML (the compiler walks filters and links recursively). */
const MAX_DEPTH = 50

/**
 * Reads a FetchXML document into a tree with saxes: it must be well-formed (character references only to characters
 * XML allows), without a DOCTYPE, and no deeper than 50 elements.
 * @throws {DataverseFault} 400 `0x80060888` saying where and why it is not.
 */
export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ position: true })
  const fail = (what: string): never => {
    throw Fault.syntax(
      `The fetchXml parameter is not well-formed XML (line ${parser.line}, column ${parser.column + 1}: ${what}).`,
    )
  }
  const stack: XmlElement[] = []
  let root: XmlElement | undefined
  parser.on('error', (error) => fail(error.message.replace(/^\d+:\d+: /, '').replace(/\.$/, '')))
  parser.on('doctype', () => fail('a DOCTYPE declaration is not accepted'))
  parser.on('opentag', (tag) => {
    if (stack.length >= MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH}`)
    const el: XmlElement = {
      name: tag.name,
      attrs: new Map(Object.entries(tag.attributes as Record<string, string>)),
      children: [],
      text: '',
    }
    stack.at(-1)?.children.push(el)
    root ??= el
    stack.push(el)
  })
  parser.on('closetag', () => stack.pop())
  const addText = (t: string) => {
    const el = stack.at(-1)
    if (el) el.text += t
  }
  parser.on('text', addText)
  parser.on('cdata', addText)
  parser.write(text).close()
  return root as XmlElement
}
