/** Counters the hub keeps for its logs now and /metrics later (issue 7). */
export class HubCounters {
  authFailures = 0
  aclDenials = 0
  invalidPayloads = 0
  bridgedUp = 0
  bridgedDown = 0
  refusedDown = 0
}
