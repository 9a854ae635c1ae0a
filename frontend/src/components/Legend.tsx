import { formatLabel } from '../format';
import { DRIVER_STATUS_COLORS, RIDER_COLOR, ROUTE_COLOR, SURGE_STOPS, cssColor } from '../map/colors';
import type { LayerVisibility, ToggleableLayer } from '../map/layers';

interface Props {
  visibility: LayerVisibility;
  onToggle: (layer: ToggleableLayer, visible: boolean) => void;
}

const LABELS: Record<ToggleableLayer, string> = {
  drivers: 'Drivers',
  riders: 'Waiting riders',
  routes: 'Trip routes',
  surge: 'Surge by zone',
  density: 'H3 density',
};

export function Legend({ visibility, onToggle }: Props) {
  return (
    <div className="legend panel">
      {(Object.keys(LABELS) as ToggleableLayer[]).map((layer) => (
        <label key={layer} className="toggle">
          <input type="checkbox" data-testid={`layer-${layer}`} checked={visibility[layer]} onChange={(e) => onToggle(layer, e.target.checked)} />
          {LABELS[layer]}
        </label>
      ))}
      <div className="legend-scale">
        {Object.entries(DRIVER_STATUS_COLORS).map(([status, color]) => (
          <span key={status}>
            <span className="swatch" style={{ background: cssColor(color) }} />
            {formatLabel(status)}
          </span>
        ))}
        <span>
          <span className="swatch" style={{ background: cssColor(RIDER_COLOR) }} />
          rider waiting
        </span>
        <span>
          <span className="swatch" style={{ background: cssColor(ROUTE_COLOR) }} />
          route
        </span>
      </div>
      <div className="legend-scale">
        {SURGE_STOPS.map(([value, color]) => (
          <span key={value}>
            <span className="swatch" style={{ background: cssColor([color[0], color[1], color[2], 255]) }} />
            {value.toFixed(2)}×
          </span>
        ))}
      </div>
    </div>
  );
}
