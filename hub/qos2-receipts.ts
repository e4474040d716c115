/**
 * Exactly once for inbound QoS 2 (MQTT-4.3.3-2), where the hub's own work is.
 *
 * Aedes finds a retransmitted QoS 2 PUBLISH (same packet id, before PUBREL) in
 * its incoming store and does not route it again, but only after the publish
 * authorisation, which is where the hub writes custody and the quarantine: a
 * DUP copy reached central twice. This remembers, per client id, the packet
 * ids whose first copy passed (or is passing) the authorisation until the
 * client's PUBREL releases them, so a copy skips the hub's work and Aedes
 * answers it PUBREC from its store. A copy that arrives while the first is
 * still in its custody write waits for that write and for Aedes's store, so
 * neither central nor the hall's readers see it twice. After a restart the
 * incoming store alone tells (`storedAlready`).
 */
interface Receipt {
  /** true once the first copy was authorised; false if it was refused (then a copy is new). */
  admitted: Promise<boolean>
  /** Settles when Aedes's incomingStorePacket for it has settled. */
  stored: Promise<void>
  markStored: () => void
}

export class Qos2Receipts {
  private readonly byClient = new Map<string, Map<number, Receipt>>()

  /**
   * Runs `authorise` for the first copy of (clientId, messageId) only; a copy gets `cb(null)` without
   * it, once the first is stored, and `onDuplicate` is told.
   */
  once(
    clientId: string,
    messageId: number,
    storedAlready: () => Promise<boolean>,
    authorise: (done: (err?: Error | null) => void) => void,
    cb: (err?: Error | null) => void,
    onDuplicate: () => void,
  ): void {
    const known = this.byClient.get(clientId)?.get(messageId)
    if (known) {
      void known.admitted.then((ok) => {
        if (!ok) return this.once(clientId, messageId, storedAlready, authorise, cb, onDuplicate)
        void known.stored.then(() => {
          onDuplicate()
          cb(null)
        })
      })
      return
    }
    let settle!: (ok: boolean) => void
    let markStored!: () => void
    const receipt: Receipt = {
      admitted: new Promise<boolean>((r) => (settle = r)),
      stored: new Promise<void>((r) => (markStored = r)),
      markStored: () => markStored(),
    }
    let forClient = this.byClient.get(clientId)
    if (!forClient) this.byClient.set(clientId, (forClient = new Map()))
    forClient.set(messageId, receipt)
    storedAlready().then(
      (found) => {
        if (found) {
          // The first copy was authorised by an earlier run (or session) of this hub: Aedes has it.
          receipt.markStored()
          settle(true)
          onDuplicate()
          return cb(null)
        }
        authorise((err) => {
          if (err) this.drop(clientId, messageId, receipt)
          settle(!err)
          cb(err)
        })
      },
      (err: Error) => {
        this.drop(clientId, messageId, receipt)
        settle(false)
        cb(err)
      },
    )
  }

  /** Aedes stored the packet (or failed to): a waiting copy may now go on to find it there. */
  stored(clientId: string, messageId: number): void {
    this.byClient.get(clientId)?.get(messageId)?.markStored()
  }

  /** PUBREL: the exchange is over; the same packet id is a new message from here. */
  release(clientId: string, messageId: number): void {
    const forClient = this.byClient.get(clientId)
    if (!forClient) return
    forClient.delete(messageId)
    if (forClient.size === 0) this.byClient.delete(clientId)
  }

  /** A clean session starts, or a clean one ended: its incoming state is gone. */
  forget(clientId: string): void {
    this.byClient.delete(clientId)
  }

  private drop(clientId: string, messageId: number, receipt: Receipt): void {
    receipt.markStored()
    if (this.byClient.get(clientId)?.get(messageId) === receipt) this.release(clientId, messageId)
  }
}
