// The Firmata client johnny-five itself loads; the fake board's tests construct it on a FakeFirmataBoard transport.
declare module 'firmata' {
  import type { EventEmitter } from 'node:events'
  class Firmata extends EventEmitter {
    constructor(transport: EventEmitter, options?: { reportVersionTimeout?: number })
    readonly name: string
    isReady: boolean
  }
  export default Firmata
}
