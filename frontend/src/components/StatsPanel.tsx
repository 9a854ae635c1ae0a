import { useMemo } from 'react';

import type { Overview, SimStatus, SurgeZone } from '../api/protocol';
import { formatInt, formatLabel, formatLag, formatMultiplier, formatRate, formatSeconds, formatSimTime, formatSpeed } from '../format';
import { DRIVER_STATUS_COLORS, cssColor } from '../map/colors';
import type { EntityCounts } from '../state/live';
import { topSurgeZones } from '../state/selection';

interface Props {
  status: SimStatus | null;
  overview: Overview | null;
  counts: EntityCounts;
  surge: Readonly<Record<string, SurgeZone>>;
  zoneNames: Readonly<Record<string, string>>;
  onSelectZone: (zoneId: string) => void;
}

/** The overview's counters shown as a list (the nested cancel reasons are left to the API). */
function counters(overview: Overview | null): [string, number][] {
  if (overview === null) return [];
  const { cancel_reasons: _reasons, ...numbers } = overview;
  return Object.entries(numbers).filter((entry): entry is [string, number] => typeof entry[1] === 'number');
}

export function StatsPanel({ status, overview, counts, surge, zoneNames, onSelectZone }: Props) {
  const rows = useMemo(() => counters(overview), [overview]);
  const lag = status?.lag ?? null;
  const broker = status?.broker ?? null;
  const hottest = useMemo(() => topSurgeZones(surge, 5), [surge]);
  return (
    <section className="panel stats">
      <h2>Live</h2>
      {status?.error && <p className="error">The simulation stopped with an error: {status.error} (see the API log)</p>}
      {broker?.available === false && (
        <p className="error" data-testid="broker-unavailable">
          Kafka is unavailable: the simulation waits ({formatInt(broker.queued)} events queued
          {broker.down_for_s !== null ? `, for ${formatSeconds(broker.down_for_s)}` : ''}) and continues when it is back.
        </p>
      )}
      <dl>
        <dt>State</dt>
        <dd data-testid="sim-state">{status?.state ?? 'unknown'}</dd>
        <dt>Sim time</dt>
        <dd data-testid="sim-time">{formatSimTime(status?.sim_time_ms)}</dd>
        <dt>Speed</dt>
        <dd data-testid="speed">
          {formatSpeed(status?.speed)}
          {status?.auto_factor != null && ` (now ${formatSpeed(status.auto_factor)})`}{' '}
          <small>(achieved {formatSpeed(status?.speed_achieved)})</small>
        </dd>
        {lag !== null && (
          <>
            <dt>Workers' lag</dt>
            <dd data-testid="lag" title={`consumer group ${lag.group_id}; auto keeps it near ${formatSeconds(lag.target_s)}`}>
              {lag.readable === false ? 'not readable' : `${formatLag(lag.records)} records · ${formatSeconds(lag.seconds)}`}{' '}
              <small>({formatRate(lag.drain_per_s)})</small>
            </dd>
          </>
        )}
        <dt>Events</dt>
        <dd>{formatInt(status?.events_emitted)}</dd>
        <dt>Drivers on map</dt>
        <dd data-testid="driver-count">{formatInt(counts.drivers)}</dd>
        <dt>Riders waiting</dt>
        <dd data-testid="rider-count">{formatInt(counts.riders)}</dd>
      </dl>
      <ul className="status-breakdown">
        {Object.entries(counts.driversByStatus).map(([name, n]) => (
          <li key={name}>
            <span className="swatch" style={{ background: cssColor(DRIVER_STATUS_COLORS[name] ?? [236, 240, 241, 255]) }} />
            {formatLabel(name)}: {formatInt(n)}
          </li>
        ))}
      </ul>
      {rows.length > 0 && (
        <dl className="overview">
          {rows.map(([key, value]) => (
            <div key={key}>
              <dt>{formatLabel(key)}</dt>
              <dd>{Number.isInteger(value) ? formatInt(value) : value.toFixed(2)}</dd>
            </div>
          ))}
        </dl>
      )}
      <h3>Highest surge</h3>
      {hottest.length === 0 ? (
        <p className="muted">No zone above 1.00×</p>
      ) : (
        <ol className="surge-list">
          {hottest.map((zone) => (
            <li key={zone.zoneId}>
              <button className="link" onClick={() => onSelectZone(zone.zoneId)}>
                {zoneNames[zone.zoneId] ?? zone.zoneId}
              </button>{' '}
              {formatMultiplier(zone.multiplier)} <small>({zone.demand} req / {zone.supply} drv)</small>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
