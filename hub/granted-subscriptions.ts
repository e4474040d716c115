import { ForwardingPersistence } from './forwarding-persistence.ts'
import type { ClientRef } from './async-persistence.ts'

/**
 * Only filters the authorisation grants reach the session store. Aedes stores a SUBSCRIBE packet's
 * whole list for a persistent session as soon as one filter of it is granted (aedes
 * lib/handlers/subscribe.js, storeSubscriptions), the refused ones with it, and often before the
 * others are even judged; the stored subscriptions are what messages are queued by while the
 * client is offline. A board asking for its own commands and another window's in one packet was
 * refused the other's live, then handed them from its queue at its next connect.
 */
export class GrantedSubscriptions extends ForwardingPersistence {
  constructor(
    inner: ConstructorParameters<typeof ForwardingPersistence>[0],
    /** Whether the authorisation granted this client this filter, asked again as the list is stored. */
    private readonly grants: (client: ClientRef, filter: string) => boolean,
  ) {
    super(inner)
  }

  override addSubscriptions(client: ClientRef, subs: unknown[]): Promise<void> {
    const granted = subs.filter((s) => this.grants(client, (s as { topic: string }).topic))
    if (granted.length === 0) return Promise.resolve()
    return this.inner.addSubscriptions(client, granted.length === subs.length ? subs : granted)
  }
}
