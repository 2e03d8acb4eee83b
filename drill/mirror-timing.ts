/**
 * MirrorMaker 2's timing on the drill's harness: `best` (the harness's default: every interval 1 s and
 * `offset.lag.max` 0, so translated offsets are exact) or `production` (MM2's own defaults: `offset.lag.max` 100,
 * checkpoints and group-offset syncs every 60 s, topics and groups discovered every 10 minutes), as a deployment
 * that never tuned them runs. A module of its own so that the CLI can check `--mirror-timing` without loading the
 * drill.
 */
export const drillMirrorTimings = ['best', 'production'] as const;
export type DrillMirrorTiming = (typeof drillMirrorTimings)[number];
