import { describe, expect, it } from 'vitest';

import { layoutTopology, mergeSamples, nodeRates, parseTopology, parseTopologyView } from './topology';

const gps = {
  name: 'gps',
  nodes: [
    { name: 'gps_pings', kind: 'source', events_in: 100, events_out: 100, errors: 0, lag: { '0': 5, '1': 7 } },
    { name: 'window_2s', kind: 'operator', counters: { events_in: 100, events_out: 40, errors: 1 } },
    { name: 'redis_positions', kind: 'sink', events_in: 40 },
  ],
  edges: [
    { from: 'gps_pings', to: 'window_2s' },
    { source: 'window_2s', target: 'redis_positions' },
  ],
};

describe('parseTopology', () => {
  it('reads nodes, counters (flat or nested), summed per-partition lag and edges', () => {
    const sample = parseTopology({ topologies: [gps] }, 1000);
    expect(sample.nodes.map((n) => n.id)).toEqual(['gps.gps_pings', 'gps.window_2s', 'gps.redis_positions']);
    expect(sample.nodes[0]).toMatchObject({ kind: 'source', eventsIn: 100, lag: 12 });
    expect(sample.nodes[1]).toMatchObject({ eventsIn: 100, eventsOut: 40, errors: 1, lag: null });
    expect(sample.edges).toEqual([
      { from: 'gps.gps_pings', to: 'gps.window_2s' },
      { from: 'gps.window_2s', to: 'gps.redis_positions' },
    ]);
  });

  it('accepts a map of topologies by name and downstream lists on nodes', () => {
    const sample = parseTopology({ surge: { nodes: [{ id: 'a', downstream: ['b'] }, { id: 'b' }] } }, 0);
    expect(sample.nodes.map((n) => n.id)).toEqual(['surge.a', 'surge.b']);
    expect(sample.edges).toEqual([{ from: 'surge.a', to: 'surge.b' }]);
  });

  it('keeps the worker\'s global node ids, edges across topologies and {partitions, total} lag', () => {
    const sample = parseTopology(
      {
        topologies: [
          { name: 'dedup', nodes: [{ id: 'dedup.trips', kind: 'source', target: 'rideshare.trips', events_in: 5, lag: { partitions: { '0': 1, '1': 2 }, total: 3 } }], edges: [] },
          { name: 'gps', nodes: [{ id: 'gps.windows', kind: 'operator' }], edges: [['dedup.trips', 'gps.windows']] },
        ],
      },
      0,
    );
    expect(sample.nodes.map((n) => [n.id, n.topology, n.name])).toEqual([
      ['dedup.trips', 'dedup', 'trips'],
      ['gps.windows', 'gps', 'windows'],
    ]);
    expect(sample.nodes[0]?.lag).toBe(3);
    expect(sample.nodes[0]?.target).toBe('rideshare.trips');
    expect(sample.edges).toEqual([{ from: 'dedup.trips', to: 'gps.windows' }]);
  });

  it('drops edges to unknown nodes and duplicate edges', () => {
    const sample = parseTopology({ name: 't', nodes: [{ id: 'a' }, { id: 'b' }], edges: [['a', 'b'], ['a', 'b'], ['a', 'ghost']] }, 0);
    expect(sample.edges).toEqual([{ from: 't.a', to: 't.b' }]);
  });

  it('returns an empty graph for garbage', () => {
    expect(parseTopology('nope', 0)).toEqual({ takenAt: 0, nodes: [], edges: [] });
  });
});

describe('nodeRates', () => {
  it('is events per second between two samples', () => {
    const before = parseTopology(gps, 0);
    const later = parseTopology({ ...gps, nodes: [{ name: 'gps_pings', events_in: 300, events_out: 250 }, gps.nodes[1], gps.nodes[2]] }, 2000);
    const rates = nodeRates(before, later);
    expect(rates['gps.gps_pings']).toEqual({ inPerS: 100, outPerS: 75 });
    expect(rates['gps.window_2s']).toEqual({ inPerS: 0, outPerS: 0 });
  });

  it('counts from zero after a counter reset (worker restart) and needs two samples', () => {
    const before = parseTopology({ name: 't', nodes: [{ id: 'a', events_in: 1000 }] }, 0);
    const after = parseTopology({ name: 't', nodes: [{ id: 'a', events_in: 30 }] }, 1000);
    expect(nodeRates(before, after)['t.a']?.inPerS).toBe(30);
    expect(nodeRates(null, after)).toEqual({});
    expect(nodeRates(after, after)).toEqual({});
  });
});

describe('layoutTopology', () => {
  it('puts each node one column right of its deepest parent', () => {
    const sample = parseTopology({ name: 't', nodes: [{ id: 'src' }, { id: 'op' }, { id: 'sink1' }, { id: 'sink2' }], edges: [['src', 'op'], ['op', 'sink1'], ['src', 'sink2'], ['op', 'sink2']] }, 0);
    const layout = layoutTopology(sample);
    expect(layout['t.src']).toEqual({ column: 0, row: 0 });
    expect(layout['t.op']).toEqual({ column: 1, row: 0 });
    expect(layout['t.sink1']).toEqual({ column: 2, row: 0 });
    expect(layout['t.sink2']).toEqual({ column: 2, row: 1 });
  });

  it('terminates on cycles', () => {
    const sample = parseTopology({ name: 't', nodes: [{ id: 'a' }, { id: 'b' }], edges: [['a', 'b'], ['b', 'a']] }, 0);
    const layout = layoutTopology(sample);
    expect(Object.keys(layout)).toHaveLength(2);
  });
});

describe('topology view of several workers', () => {
  it('adds up the counters of the same node across workers and reports workers that failed', () => {
    const { sample, errors } = parseTopologyView(
      {
        workers: [
          { url: 'http://w1', ok: true, topology: gps },
          { url: 'http://w2', ok: true, topology: gps },
          { url: 'http://w3', ok: false, error: 'ConnectError' },
        ],
      },
      5,
    );
    expect(sample.nodes.find((n) => n.id === 'gps.gps_pings')).toMatchObject({ eventsIn: 200, lag: 24 });
    expect(sample.edges).toHaveLength(2);
    expect(errors).toEqual(['http://w3: ConnectError']);
    expect(mergeSamples([], 1)).toEqual({ takenAt: 1, nodes: [], edges: [] });
  });
});
