/**
 * The setup the drill runs: `active-passive` (identity policy, one application on the primary) or
 * `active-active` (default policy, MM2 both ways, one application per cluster sharing the consumer group).
 * A module of its own so that the CLI can check `--mode` without loading the drill.
 */
export const drillModes = ['active-passive', 'active-active'] as const;
export type DrillMode = (typeof drillModes)[number];
