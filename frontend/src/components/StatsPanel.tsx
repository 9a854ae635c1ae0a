import { useMemo } from 'react';

import type { SimStatus, Stats, SurgeZone } from '../api/protocol';
import { formatInt, formatLabel, formatMultiplier, formatSimTime, formatSpeed } from '../format';
import { DRIVER_STATUS_COLORS, cssColor } from '../map/colors';
import type { EntityCounts } from '../state/live';
import { topSurgeZones } from '../state/selection';

interface Props {
  status: SimStatus | null;
  stats: Stats;
  counts: EntityCounts;
  surge: Readonly<Record<string, SurgeZone>>;
  zoneNames: Readonly<Record<string, string>>;
  onSelectZone: (zoneId: string) => void;
}

export function StatsPanel({ status, stats, counts, surge, zoneNames, onSelectZone }: Props) {
  const overview = useMemo(
    () => Object.entries(stats).filter(([key]) => key.startsWith('overview.')).map(([key, value]) => [key.slice('overview.'.length), value] as const),
    [stats],
  );
  const hottest = useMemo(() => topSurgeZones(surge, 5), [surge]);
  return (
    <section className="panel stats">
      <h2>Live</h2>
      {status?.error && <p className="error">The simulation stopped with an error: {status.error} (see the API log)</p>}
      <dl>
        <dt>State</dt>
        <dd data-testid="sim-state">{status?.state ?? 'unknown'}</dd>
        <dt>Sim time</dt>
        <dd data-testid="sim-time">{formatSimTime(status?.simTimeMs)}</dd>
        <dt>Speed</dt>
        <dd>
          {formatSpeed(status?.speed)} <small>(achieved {formatSpeed(status?.speedAchieved)})</small>
        </dd>
        <dt>Events</dt>
        <dd>{formatInt(status?.eventsEmitted)}</dd>
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
      {overview.length > 0 && (
        <dl className="overview">
          {overview.map(([key, value]) => (
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
