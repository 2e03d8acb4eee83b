import { type Moment, reportHtml, type Sample } from './report.ts';
import { type DrillSummary, reportFigures } from './summary.ts';

/** What a run's timeline is drawn from; the drill writes it beside the summary as `timeline.json`. */
export interface RunTimeline {
  samples: readonly Sample[];
  moments: readonly Moment[];
}

/**
 * A run's report page from its summary and timeline: the figures as rows, the checks and targets as verdicts.
 * The drill draws it at the end of a run; it can be drawn again from `summary.json` and `timeline.json`.
 */
export function runReportHtml(summary: DrillSummary, timeline: RunTimeline): string {
  const { targets: _targets, ...figures } = reportFigures(summary);
  return reportHtml({
    title: `mm2-failover drill: ${summary.scenario}`,
    samples: timeline.samples,
    moments: timeline.moments,
    summary: figures,
    checks: summary.checks,
    targets: summary.targets,
  });
}
