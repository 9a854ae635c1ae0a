import { useState } from 'react';

import { ApiError, type ApiClient } from '../api/client';
import { SPAWN_PER_REQUEST_MAX, SPEED_AUTO, SPEED_MAX } from '../api/limits';
import type { SimStatus } from '../api/protocol';
import { formatSpeed } from '../format';
import { type ControlAction, availableActions, parseSpeedInput } from '../state/controls';

interface Props {
  client: ApiClient;
  status: SimStatus | null;
  onStatus: (status: SimStatus) => void;
}

type LifecycleAction = Extract<ControlAction, 'start' | 'pause' | 'resume' | 'stop' | 'reset'>;

const LIFECYCLE: ReadonlyArray<[LifecycleAction, string]> = [
  ['start', 'Start'],
  ['pause', 'Pause'],
  ['resume', 'Resume'],
  ['stop', 'Stop'],
  ['reset', 'Reset'],
];

export function Controls({ client, status, onStatus }: Props) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const [speedText, setSpeedText] = useState('');
  const [spawnCount, setSpawnCount] = useState(10);
  const allowed = availableActions(status?.state);

  const run = async (label: string, call: () => Promise<void>) => {
    setBusy(true);
    setMessage(null);
    try {
      await call();
    } catch (error) {
      const text = error instanceof ApiError && error.status === 403 ? 'this key may only watch: use an admin key to control the simulation' : String((error as Error).message);
      setMessage({ error: true, text: `${label} failed: ${text}` });
    } finally {
      setBusy(false);
    }
  };
  const spawn = (kind: 'drivers' | 'riders') =>
    run(kind, async () => {
      const spawned = await client.post(`/api/sim/${kind}`, { count: spawnCount });
      setMessage({ error: false, text: `${kind}: ${spawned.count} added` });
    });

  const applySpeed = () => {
    const parsed = parseSpeedInput(speedText);
    if (!parsed.ok) {
      setMessage({ error: true, text: parsed.error });
      return;
    }
    void run('speed', async () => onStatus(await client.put('/api/sim/speed', { speed: parsed.speed })));
  };

  return (
    <section className="panel controls">
      <h2>Simulation</h2>
      <div className="buttons">
        {LIFECYCLE.map(([action, label]) => (
          <button
            key={action}
            data-testid={`control-${action}`}
            disabled={busy || !allowed.has(action)}
            onClick={() => void run(label, async () => onStatus(await client.post(`/api/sim/${action}`)))}
          >
            {label}
          </button>
        ))}
      </div>
      <div className="row">
        <label>
          Speed <small>(now {formatSpeed(status?.speed)})</small>
          <input
            data-testid="speed-input"
            value={speedText}
            placeholder={`30, ${SPEED_MAX} or ${SPEED_AUTO}`}
            title={`${SPEED_AUTO}: as fast as the stream workers keep up`}
            onChange={(e) => setSpeedText(e.target.value)}
            size={8}
          />
        </label>
        <button data-testid="control-speed" disabled={busy || !allowed.has('speed')} onClick={applySpeed}>
          Set
        </button>
      </div>
      <div className="row">
        <label>
          Add
          <input
            data-testid="spawn-count"
            type="number"
            min={1}
            max={SPAWN_PER_REQUEST_MAX}
            value={spawnCount}
            onChange={(e) => setSpawnCount(Number(e.target.value))}
            style={{ width: '5em' }}
          />
        </label>
        <button data-testid="spawn-drivers" disabled={busy || !allowed.has('spawn')} onClick={() => void spawn('drivers')}>
          drivers
        </button>
        <button data-testid="spawn-riders" disabled={busy || !allowed.has('spawn')} onClick={() => void spawn('riders')}>
          riders
        </button>
      </div>
      {message && <p className={message.error ? 'error' : 'ok'}>{message.text}</p>}
    </section>
  );
}
