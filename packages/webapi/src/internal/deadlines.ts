/** A place for one attempt's deadline, reused by later attempts once it ends. */
interface Slot {
  due: number
  /** Runs once if the attempt is still in flight when `due` passes; cleared when the attempt ends. */
  expire: (() => void) | undefined
  /** Counts the attempts that used this place, so a late `stop` of an earlier one cannot end a later one. */
  generation: number
  readonly index: number
}

/** Places per generation in a ticket: far more than requests in flight (at most 52 per org). */
const PLACES = 2 ** 20

/**
 * The per-attempt deadlines of one client, on one timer. A timer per attempt (set, then cleared a moment later) is a
 * measurable share of a fast request; here an attempt takes a reusable place (at most as many as requests in flight)
 * and the one timer is armed for the earliest deadline, so every attempt still expires on time. No timer is left
 * when nothing is in flight. Reads the timer globals at call time, so a test's fake timers apply.
 */
export class Deadlines {
  private readonly slots: Slot[] = []
  private readonly free: number[] = []
  private inFlight = 0
  private timer: ReturnType<typeof setTimeout> | undefined
  private armedFor = Number.POSITIVE_INFINITY

  /** Starts a deadline `ms` from now; the ticket it returns ends it with `stop`. */
  start(ms: number, expire: () => void): number {
    const index = this.free.pop()
    const slot = index === undefined ? this.add() : (this.slots[index] as Slot)
    slot.due = Date.now() + ms
    slot.expire = expire
    slot.generation++
    this.inFlight++
    if (slot.due < this.armedFor) this.arm(slot.due)
    return slot.generation * PLACES + slot.index
  }

  /** Ends the deadline of a ticket; nothing when it already expired or ended. */
  stop(ticket: number): void {
    const slot = this.slots[ticket % PLACES]
    if (slot?.expire === undefined || slot.generation !== Math.floor(ticket / PLACES)) return
    this.release(slot)
  }

  /** Attempts with a running deadline (for tests). */
  get size(): number {
    return this.inFlight
  }

  private release(slot: Slot): void {
    slot.expire = undefined
    this.free.push(slot.index)
    if (--this.inFlight === 0) this.disarm()
  }

  private add(): Slot {
    const slot: Slot = { due: 0, expire: undefined, generation: 0, index: this.slots.length }
    this.slots.push(slot)
    return slot
  }

  private arm(due: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.armedFor = due
    this.timer = setTimeout(() => this.sweep(), Math.max(0, due - Date.now()))
  }

  private disarm(): void {
    if (this.timer === undefined) return
    clearTimeout(this.timer)
    this.timer = undefined
    this.armedFor = Number.POSITIVE_INFINITY
  }

  private sweep(): void {
    this.timer = undefined
    this.armedFor = Number.POSITIVE_INFINITY
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    for (const slot of this.slots) {
      const expire = slot.expire
      if (expire === undefined) continue
      if (slot.due <= now) {
        this.release(slot)
        expire()
      } else if (slot.due < next) next = slot.due
    }
    if (next < Number.POSITIVE_INFINITY && this.timer === undefined) this.arm(next)
  }
}
