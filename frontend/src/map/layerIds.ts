// Stable deck.gl layer ids (deck.gl matches layers across renders by id), shared with picking code
// that must not import deck.gl itself.

export const LAYER_IDS = {
  tiles: 'base-tiles',
  districts: 'base-districts',
  surge: 'zones-surge',
  density: 'density-h3',
  routes: 'trip-routes',
  riders: 'riders-waiting',
  drivers: 'drivers',
} as const;
