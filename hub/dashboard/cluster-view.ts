import type { ClusterSample } from '../cluster-health.ts'

/** One node of the hall's cluster as the dashboard, the hall snapshot and `counter-edge status` show it. */
export interface ClusterNodeView {
  id: string
  node: string | null
  /** The node serving this page. */
  self: boolean
  /** This node: its own live probe. Another: it wrote itself into Redis within the last three seconds, so it reaches Redis. */
  redisUp: boolean
  redisLatencyMs: number | null
  boards: number
  leaseHeld: boolean
}

/** The cluster's health from live state (never from a retained message); null on a hub that is no cluster node. */
export interface ClusterView {
  node: string | null
  /** The node holding the bridge lease, as read from Redis; null while nobody holds it or Redis is away. */
  leaseHolder: { id: string; node: string | null } | null
  nodes: ClusterNodeView[]
}

export function clusterView(s: ClusterSample): ClusterView {
  const nodes: ClusterNodeView[] = s.nodes.map((n) => ({ ...n, self: n.id === s.self.id, redisUp: true }))
  // Redis away: nothing is known of the other nodes; this node still says what it sees.
  if (!nodes.some((n) => n.self)) nodes.unshift({ id: s.self.id, node: s.self.node, self: true, redisUp: s.redisUp, redisLatencyMs: s.redisLatencyMs, boards: 0, leaseHeld: s.leaseHeld })
  const holder = s.leaseHolder
  return { node: s.self.node, leaseHolder: holder ? { id: holder, node: nodes.find((n) => n.id === holder)?.node ?? null } : null, nodes }
}

/** The header pill: the data comes from `api/cluster`; hidden on a hub that is no cluster node. Its words come from the script below. */
export const CLUSTER_PILL_HTML = `<span class="pill" id="cluster" hidden></span>`

/**
 * Polls every three seconds, so a lease moving or Redis going away shows within one probe or two.
 * It runs after the dashboard's script (hub/dashboard/page.ts) and uses its text table and helpers
 * (TEXT, T, tr, plain, esc), so it follows the language switch like the rest of the page.
 */
export const CLUSTER_PILL_SCRIPT = String.raw`
Object.assign(TEXT, {
  'cluster': { zh: '集群', en: 'cluster' },
  'cluster.lease': { zh: '租约', en: 'lease' },
  'cluster.none': { zh: '无人持有', en: 'nobody' },
  'cluster.boards': { zh: '台', en: 'boards' },
  'cluster.redisDown': { zh: '不可达', en: 'unreachable' },
  'cluster.title': {
    zh: '集群：哪个节点持有中心桥接租约、各节点到 Redis 的连通与延迟、各节点上的窗口设备数',
    en: "cluster: which node holds the bridge lease, each node's Redis reachability and latency, boards per node",
  },
});
(function clusterPill() {
  const el = $('cluster');
  let last = null;
  const ms = (v) => v === null ? '' : ' ' + (v < 10 ? v.toFixed(1) : Math.round(v)) + ' ms';
  const draw = () => {
    const c = last;
    el.hidden = !c;
    if (!c) return;
    el.title = plain(tr('cluster.title'));
    const holder = c.leaseHolder ? esc(c.leaseHolder.node || c.leaseHolder.id) : T('cluster.none');
    const parts = c.nodes.map((n) => esc(n.node || n.id) + (n.self ? '*' : '') + ' ' + (n.redisUp ? 'Redis ✓' + ms(n.redisLatencyMs) : 'Redis ✗ ' + T('cluster.redisDown')) + ' · ' + n.boards + ' ' + T('cluster.boards'));
    el.innerHTML = T('cluster') + ' · ' + T('cluster.lease') + ': ' + holder + ' · ' + parts.join(' | ');
    const bad = c.nodes.some((n) => !n.redisUp) || !c.leaseHolder;
    el.className = 'pill ' + (bad ? 'bad' : 'ok');
  };
  const tick = () => fetch('api/cluster').then((r) => r.ok ? r.json() : null).then((b) => { last = (b && b.cluster) || null; draw(); }, () => { if (!el.hidden) el.className = 'pill bad'; });
  // After the page's own handler has switched the language.
  $('lang-btn').addEventListener('click', draw);
  tick();
  setInterval(tick, 3000);
})();
`
