import { Presets, SingleBar } from 'cli-progress'
import type { Io } from './output.ts'

/** A progress bar on a terminal (rows, rate, ETA, on stderr); nothing at all elsewhere. */
export interface Progress {
  start(total: number, done: number): void
  update(done: number): void
  stop(): void
}

export function createProgress(io: Io, unit: string): Progress {
  if (io.stderr.isTTY !== true || io.env['TERM'] === 'dumb') return { start() {}, update() {}, stop() {} }
  const began = Date.now()
  let first = 0
  const bar = new SingleBar(
    {
      stream: io.stderr,
      format: `{bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 20,
      fps: 10,
      noTTYOutput: false,
    },
    Presets.shades_classic,
  )
  const rate = (done: number) => {
    const seconds = (Date.now() - began) / 1000
    return seconds > 0 ? Math.round((done - first) / seconds) : 0
  }
  return {
    start(total, done) {
      first = done
      bar.start(Math.max(total, done), done, { rate: 0 })
    },
    update(done) {
      if (done > bar.getTotal()) bar.setTotal(done)
      bar.update(done, { rate: rate(done) })
    },
    stop() {
      bar.stop()
    },
  }
}
