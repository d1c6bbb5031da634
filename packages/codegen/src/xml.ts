import { CodegenError } from './errors.ts'

/** Receives the elements of a document in order; names are local (without a namespace prefix). */
export interface XmlHandler {
  open(name: string, attributes: Record<string, string>): void
  close(name: string): void
}

const NAME = /[A-Za-z_:][-A-Za-z0-9_:.]*/y
const SPACE = /[ \t\r\n]*/y
const ENTITY = /&(?:(amp|lt|gt|quot|apos)|#(\d+)|#x([0-9A-Fa-f]+));/g
const BAD_AMPERSAND = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9A-Fa-f]+);)/
const PREDEFINED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

/**
 * A single forward pass over an XML document, linear in its length (Dataverse's `$metadata` runs to tens of MB):
 * elements and attributes are reported, text, comments, processing instructions and CDATA are skipped. It checks
 * well-formedness as far as the caller relies on it (nesting, attribute syntax, entities) and rejects DTDs, so no
 * entity expansion can blow up.
 * @throws {CodegenError} `INVALID_XML` with the line and column of the problem.
 */
export function scanXml(xml: string, handler: XmlHandler): void {
  const stack: string[] = []
  let i = 0
  let rootSeen = false
  const fail = (what: string, at = i): never => {
    let line = 1
    let last = -1
    for (let k = xml.indexOf('\n'); k !== -1 && k < at; k = xml.indexOf('\n', k + 1)) {
      line++
      last = k
    }
    throw new CodegenError('INVALID_XML', `Not well-formed XML at line ${line}, column ${at - last}: ${what}`)
  }
  const skipTo = (end: string, what: string) => {
    const k = xml.indexOf(end, i)
    if (k === -1) fail(`unterminated ${what}`)
    i = k + end.length
  }
  const name = (): string => {
    NAME.lastIndex = i
    const m = NAME.exec(xml)
    if (!m) fail('expected a name')
    i = NAME.lastIndex
    return (m as RegExpExecArray)[0]
  }
  const space = (): boolean => {
    SPACE.lastIndex = i
    SPACE.exec(xml)
    const moved = SPACE.lastIndex > i
    i = SPACE.lastIndex
    return moved
  }
  const local = (qname: string) => qname.slice(qname.indexOf(':') + 1)

  while (i < xml.length) {
    const lt = xml.indexOf('<', i)
    if (lt === -1) {
      if (stack.length === 0 && xml.slice(i).trim() !== '') fail('text outside the root element')
      i = xml.length
      break
    }
    // (trim() also drops a byte order mark)
    if (stack.length === 0 && xml.slice(i, lt).trim() !== '') fail('text outside the root element')
    i = lt
    if (xml.startsWith('<!--', i)) {
      skipTo('-->', 'comment')
    } else if (xml.startsWith('<![CDATA[', i)) {
      if (stack.length === 0) fail('CDATA outside the root element')
      skipTo(']]>', 'CDATA section')
    } else if (xml.startsWith('<?', i)) {
      skipTo('?>', 'processing instruction')
    } else if (xml.startsWith('<!', i)) {
      fail('DOCTYPE declarations are not accepted in CSDL')
    } else if (xml.startsWith('</', i)) {
      i += 2
      const qname = name()
      space()
      if (xml[i] !== '>') fail(`expected '>' to end </${qname}`)
      i++
      const open = stack.pop()
      if (open !== qname)
        fail(open === undefined ? `</${qname}> closes nothing` : `</${qname}> closes <${open}>`, lt)
      handler.close(local(qname))
    } else {
      i++
      if (stack.length === 0 && rootSeen) fail('a second root element')
      const qname = name()
      const attributes: Record<string, string> = {}
      for (;;) {
        const spaced = space()
        const c = xml[i]
        if (c === '>' || c === '/') break
        if (c === undefined) fail(`unterminated <${qname}`)
        if (!spaced) fail(`expected a space before an attribute of <${qname}`)
        const at = i
        const attr = name()
        space()
        if (xml[i] !== '=') fail(`expected '=' after attribute ${attr}`)
        i++
        space()
        const quote = xml[i]
        if (quote !== '"' && quote !== "'") fail(`expected a quoted value for attribute ${attr}`)
        const end = xml.indexOf(quote as string, i + 1)
        if (end === -1) fail(`unterminated value of attribute ${attr}`)
        const raw = xml.slice(i + 1, end)
        if (raw.includes('<')) fail(`'<' in the value of attribute ${attr}`, i + 1)
        const key = local(attr)
        if (Object.hasOwn(attributes, key)) fail(`attribute ${attr} given twice`, at)
        attributes[key] = raw.includes('&')
          ? decode(raw, () => fail(`bad entity in attribute ${attr}`, i + 1))
          : raw
        i = end + 1
      }
      const selfClosing = xml[i] === '/'
      if (selfClosing) {
        i++
        if (xml[i] !== '>') fail(`expected '>' after '/' in <${qname}`)
      }
      i++
      rootSeen = true
      handler.open(local(qname), attributes)
      if (selfClosing) handler.close(local(qname))
      else stack.push(qname)
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1]}> is never closed`, xml.length)
  if (!rootSeen) fail('no root element', 0)
}

function decode(raw: string, bad: () => never): string {
  if (BAD_AMPERSAND.test(raw)) bad()
  return raw.replace(
    ENTITY,
    (_, named: string | undefined, dec: string | undefined, hex: string | undefined) => {
      if (named) return PREDEFINED[named] as string
      const code = dec === undefined ? Number.parseInt(hex as string, 16) : Number(dec)
      if (code > 0x10ffff) bad()
      return String.fromCodePoint(code)
    },
  )
}
