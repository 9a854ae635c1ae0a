// The Faust topology graph (GET /api/topology, proxied from the worker's `/topology/` view): parsing,
// per-node throughput from two successive samples, and a layered layout for drawing it.

export interface TopologyNode {
  /** Unique across topologies: `<topology>.<node>`. */
  id: string;
  topology: string;
  name: string;
  kind: string;
  /** What the node reads or writes: a Kafka topic, Redis key or Delta table ('' when none). */
  target: string;
  eventsIn: number;
  eventsOut: number;
  errors: number;
  lag: number | null;
}

export interface TopologyEdge {
  from: string;
  to: string;
}

export interface TopologySample {
  /** Wall-clock ms when the sample was taken (client side). */
  takenAt: number;
  nodes: TopologyNode[];
  edges: TopologyEdge[];
}

export interface NodeRate {
  inPerS: number;
  outPerS: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function firstOf(obj: Json, names: string[]): unknown {
  for (const name of names) if (obj[name] !== undefined && obj[name] !== null) return obj[name];
  return undefined;
}

function asList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isObject(value)) return Object.entries(value).map(([name, v]) => (isObject(v) ? { name, ...v } : v));
  return [];
}

function lagOf(node: Json): number | null {
  const lag = firstOf(node, ['lag', 'consumer_lag']);
  if (typeof lag === 'number' && Number.isFinite(lag)) return lag;
  if (isObject(lag)) {
    // `{"partitions": {"0": 12, "1": 3}, "total": 15}` or a bare per-partition map.
    if (typeof lag.total === 'number') return lag.total;
    const partitions = isObject(lag.partitions) ? lag.partitions : lag;
    return Object.values(partitions).reduce<number>((sum, v) => sum + count(v), 0);
  }
  return null;
}

/**
 * Node ids are global (`<topology>.<node>`, as the worker declares them) so edges may cross topologies
 * (GPS reads the dedup node's output); bare names are qualified with their topology.
 */
function parseOne(topologyName: string, raw: Json, nodes: TopologyNode[], edges: TopologyEdge[]): void {
  const prefix = `${topologyName}.`;
  const qualify = (name: string) => (name.startsWith(prefix) ? name : `${prefix}${name}`);
  const declared = new Set<string>();
  const pendingEdges: [string, string][] = [];
  for (const item of asList(raw.nodes)) {
    if (!isObject(item)) continue;
    const name = firstOf(item, ['id', 'name']);
    if (typeof name !== 'string') continue;
    const id = qualify(name);
    declared.add(name);
    const counters = isObject(item.counters) ? { ...item, ...item.counters } : item;
    nodes.push({
      id,
      topology: topologyName,
      name: id.slice(prefix.length),
      kind: String(firstOf(item, ['kind', 'type', 'role']) ?? 'operator'),
      target: typeof item.target === 'string' ? item.target : '',
      eventsIn: count(firstOf(counters, ['events_in', 'in', 'received'])),
      eventsOut: count(firstOf(counters, ['events_out', 'out', 'emitted'])),
      errors: count(firstOf(counters, ['errors', 'events_error'])),
      lag: lagOf(counters),
    });
    for (const target of asList(firstOf(item, ['downstream', 'outputs', 'to']))) {
      if (typeof target === 'string') pendingEdges.push([name, target]);
    }
  }
  for (const edge of asList(raw.edges)) {
    if (Array.isArray(edge) && typeof edge[0] === 'string' && typeof edge[1] === 'string') {
      pendingEdges.push([edge[0], edge[1]]);
    } else if (isObject(edge)) {
      const from = firstOf(edge, ['from', 'source']);
      const to = firstOf(edge, ['to', 'target']);
      if (typeof from === 'string' && typeof to === 'string') pendingEdges.push([from, to]);
    }
  }
  // An endpoint this topology declared is its own node; any other id is taken as a global id as is.
  const resolve = (end: string) => (declared.has(end) ? qualify(end) : end);
  for (const [from, to] of pendingEdges) edges.push({ from: resolve(from), to: resolve(to) });
}

/** Accepts `{"topologies": [{name, nodes, edges}]}`, `{"<name>": {nodes, edges}}` or a single `{nodes, edges}`. */
export function parseTopology(raw: unknown, takenAt: number): TopologySample {
  const nodes: TopologyNode[] = [];
  const edges: TopologyEdge[] = [];
  if (!isObject(raw)) return { takenAt, nodes, edges };
  if (raw.nodes !== undefined) {
    parseOne(typeof raw.name === 'string' ? raw.name : 'topology', raw, nodes, edges);
  } else {
    for (const item of asList(raw.topologies ?? raw)) {
      if (isObject(item) && item.nodes !== undefined) parseOne(typeof item.name === 'string' ? item.name : 'topology', item, nodes, edges);
    }
  }
  const known = new Set(nodes.map((n) => n.id));
  const unique = new Map(edges.filter((e) => known.has(e.from) && known.has(e.to)).map((e) => [`${e.from}->${e.to}`, e]));
  return { takenAt, nodes, edges: [...unique.values()] };
}

/** Events per second per node between two samples; counters that went backwards (worker restart) count from zero. */
export function nodeRates(previous: TopologySample | null, current: TopologySample): Record<string, NodeRate> {
  const rates: Record<string, NodeRate> = {};
  if (previous === null) return rates;
  const seconds = (current.takenAt - previous.takenAt) / 1000;
  if (seconds <= 0) return rates;
  const before = new Map(previous.nodes.map((n) => [n.id, n]));
  for (const node of current.nodes) {
    const old = before.get(node.id);
    if (old === undefined) continue;
    const dIn = node.eventsIn >= old.eventsIn ? node.eventsIn - old.eventsIn : node.eventsIn;
    const dOut = node.eventsOut >= old.eventsOut ? node.eventsOut - old.eventsOut : node.eventsOut;
    rates[node.id] = { inPerS: dIn / seconds, outPerS: dOut / seconds };
  }
  return rates;
}

export interface NodePlacement {
  column: number;
  row: number;
}

/** Layered layout: a node's column is the longest path from a source to it (cycles are cut), rows in input order. */
export function layoutTopology(sample: TopologySample): Record<string, NodePlacement> {
  const incoming = new Map<string, string[]>();
  for (const edge of sample.edges) incoming.set(edge.to, [...(incoming.get(edge.to) ?? []), edge.from]);
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (id: string): number => {
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0;
    visiting.add(id);
    const parents = incoming.get(id) ?? [];
    const d = parents.length === 0 ? 0 : 1 + Math.max(...parents.map(depthOf));
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  const placement: Record<string, NodePlacement> = {};
  const rowsUsed = new Map<string, number>();
  for (const node of sample.nodes) {
    const column = depthOf(node.id);
    const rowKey = `${node.topology}#${column}`;
    const row = rowsUsed.get(rowKey) ?? 0;
    rowsUsed.set(rowKey, row + 1);
    placement[node.id] = { column, row };
  }
  return placement;
}

/** Several workers run the same topologies on different partitions: their node counters add up. */
export function mergeSamples(samples: readonly TopologySample[], takenAt: number): TopologySample {
  const nodes = new Map<string, TopologyNode>();
  const edges = new Map<string, TopologyEdge>();
  for (const sample of samples) {
    for (const node of sample.nodes) {
      const seen = nodes.get(node.id);
      nodes.set(
        node.id,
        seen === undefined
          ? { ...node }
          : {
              ...seen,
              eventsIn: seen.eventsIn + node.eventsIn,
              eventsOut: seen.eventsOut + node.eventsOut,
              errors: seen.errors + node.errors,
              lag: seen.lag === null && node.lag === null ? null : (seen.lag ?? 0) + (node.lag ?? 0),
            },
      );
    }
    for (const edge of sample.edges) edges.set(`${edge.from}->${edge.to}`, edge);
  }
  return { takenAt, nodes: [...nodes.values()], edges: [...edges.values()] };
}

/** GET /api/topology answers `{"workers": [{url, ok, topology, error}]}`: one merged sample plus the errors. */
export function parseTopologyView(raw: unknown, takenAt: number): { sample: TopologySample; errors: string[] } {
  const workers = isObject(raw) && Array.isArray(raw.workers) ? raw.workers : [];
  const samples: TopologySample[] = [];
  const errors: string[] = [];
  for (const worker of workers) {
    if (!isObject(worker)) continue;
    if (worker.ok === true) samples.push(parseTopology(worker.topology, takenAt));
    else errors.push(`${String(worker.url)}: ${String(worker.error ?? 'no answer')}`);
  }
  return { sample: mergeSamples(samples, takenAt), errors };
}
