/** A calendar date; `month` is 1–12. */
export interface LocalDate {
  year: number
  month: number
  day: number
}

export type CalendarUnit = 'day' | 'week' | 'month' | 'year'

const formats = new Map<string, Intl.DateTimeFormat>()

function wallClock(zone: string, t: number): number {
  let format = formats.get(zone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
    formats.set(zone, format)
  }
  const parts: Record<string, number> = {}
  for (const p of format.formatToParts(new Date(t))) parts[p.type] = Number(p.value)
  return (
    Date.UTC(
      parts.year as number,
      (parts.month as number) - 1,
      parts.day as number,
      parts.hour,
      parts.minute,
      parts.second,
    ) +
    (t - Math.floor(t / 1000) * 1000)
  )
}

/** The local date of instant `t` (ms) in the IANA zone, with the time of day and the weekday. */
export function localDate(zone: string, t: number): LocalDate & { msOfDay: number; weekday: number } {
  const wall = new Date(wallClock(zone, t))
  const midnight = Date.UTC(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate())
  return {
    year: wall.getUTCFullYear(),
    month: wall.getUTCMonth() + 1,
    day: wall.getUTCDate(),
    msOfDay: wall.getTime() - midnight,
    weekday: wall.getUTCDay(),
  }
}

/**
 * The instant (ms) at which the zone's clocks show `date` at `msOfDay` (midnight by default). A wall-clock time that a
 * daylight-saving change skips or repeats maps to one of the instants next to it.
 */
export function instantOf(zone: string, date: LocalDate, msOfDay = 0): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day) + msOfDay
  const first = wall - (wallClock(zone, wall) - wall)
  return wall - (wallClock(zone, first) - first)
}

/** `date` moved by `n` units; a month or year move keeps the day, or takes the month's last day when it is shorter. */
export function shiftDate(date: LocalDate, unit: CalendarUnit, n: number): LocalDate {
  if (unit === 'day' || unit === 'week') {
    const d = new Date(Date.UTC(date.year, date.month - 1, date.day + (unit === 'week' ? 7 * n : n)))
    return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() }
  }
  const first = new Date(Date.UTC(date.year, date.month - 1 + (unit === 'year' ? 12 * n : n), 1))
  const year = first.getUTCFullYear()
  const month = first.getUTCMonth() + 1
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate()
  return { year, month, day: Math.min(date.day, last) }
}
