import { useCallback, useMemo, useRef, useState } from 'react';

import { type ApiClient, ApiError } from '../api/client';
import { formatInt, formatLag, formatRate } from '../format';
import { usePolling } from '../hooks/usePolling';
import { type NodeRate, type TopologySample, layoutTopology, nodeRates, parseTopologyView } from '../state/topology';

const COLUMN_WIDTH = 128;
const ROW_HEIGHT = 50;
const NODE_WIDTH = 116;
const NODE_HEIGHT = 42;
const TOPOLOGY_GAP = 26;

interface Props {
  client: ApiClient;
}

export function TopologyPanel({ client }: Props) {
  const previous = useRef<TopologySample | null>(null);
  const [view, setView] = useState<{ sample: TopologySample; rates: Record<string, NodeRate>; errors: string[] } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const { sample, errors } = parseTopologyView(await client.get('/api/topology'), Date.now());
      setView({ sample, rates: nodeRates(previous.current, sample), errors });
      previous.current = sample;
      setError(null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : `topology unavailable: ${(e as Error).message}`);
    }
  }, [client]);
  // The graph's counters live in the Faust workers (proxied by the API), not on the WebSocket.
  usePolling(load, 2000);

  const drawing = useMemo(() => {
    if (view === null) return null;
    const placement = layoutTopology(view.sample);
    const topologies = [...new Set(view.sample.nodes.map((n) => n.topology))];
    const offsets: Record<string, number> = {};
    let y = 0;
    for (const name of topologies) {
      offsets[name] = y;
      const rows = Math.max(1, ...view.sample.nodes.filter((n) => n.topology === name).map((n) => placement[n.id]!.row + 1));
      y += TOPOLOGY_GAP + rows * ROW_HEIGHT;
    }
    const columns = Math.max(1, ...Object.values(placement).map((p) => p.column + 1));
    const position = (id: string, topology: string) => {
      const p = placement[id]!;
      return { x: p.column * COLUMN_WIDTH + 4, y: offsets[topology]! + TOPOLOGY_GAP + p.row * ROW_HEIGHT };
    };
    return { placement, topologies, offsets, width: columns * COLUMN_WIDTH + 8, height: y + 4, position };
  }, [view]);

  return (
    <section className="panel topology" data-testid="topology">
      <h2>Faust topology</h2>
      {error && <p className="muted">{error}</p>}
      {view?.errors.map((e) => (
        <p key={e} className="error">
          {e}
        </p>
      ))}
      {view && drawing && view.sample.nodes.length > 0 && (
        <div className="topology-scroll">
          <svg width={drawing.width} height={drawing.height} role="img" aria-label="topology graph">
            <defs>
              <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse">
                <path d="M 0 0 L 10 5 L 0 10 z" fill="#8899aa" />
              </marker>
            </defs>
            {drawing.topologies.map((name) => (
              <text key={name} className="topology-name" x={4} y={drawing.offsets[name]! + 16}>
                {name}
              </text>
            ))}
            {view.sample.edges.map((edge) => {
              const from = view.sample.nodes.find((n) => n.id === edge.from)!;
              const to = view.sample.nodes.find((n) => n.id === edge.to)!;
              const a = drawing.position(from.id, from.topology);
              const b = drawing.position(to.id, to.topology);
              return (
                <line
                  key={`${edge.from}->${edge.to}`}
                  x1={a.x + NODE_WIDTH}
                  y1={a.y + NODE_HEIGHT / 2}
                  x2={b.x}
                  y2={b.y + NODE_HEIGHT / 2}
                  stroke="#8899aa"
                  markerEnd="url(#arrow)"
                />
              );
            })}
            {view.sample.nodes.map((node) => {
              const { x, y } = drawing.position(node.id, node.topology);
              const rate = view.rates[node.id];
              return (
                <g key={node.id} transform={`translate(${x},${y})`} className={`node node-${node.kind}`} data-testid="topology-node">
                  <title>{`${node.id} (${node.kind})${node.target ? ` ${node.target}` : ''}: in ${formatInt(node.eventsIn)}, out ${formatInt(node.eventsOut)}, errors ${formatInt(node.errors)}`}</title>
                  <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx={6} />
                  <text x={6} y={13} className="node-name">
                    {node.name.length > 17 ? `${node.name.slice(0, 16)}…` : node.name}
                  </text>
                  <text x={6} y={25} className="node-stat">
                    {formatRate(rate?.inPerS)} in · {formatRate(rate?.outPerS)} out
                  </text>
                  <text x={6} y={37} className="node-stat">
                    lag {formatLag(node.lag)}
                    {node.errors > 0 ? ` · ${formatInt(node.errors)} err` : ''}
                  </text>
                </g>
              );
            })}
          </svg>
        </div>
      )}
    </section>
  );
}
