import { figureRows } from './figure-rows.ts';

/**
 * The drill's report: a self-contained HTML page with an inline SVG timeline of cluster health, replication lag
 * and the moments that matter (kill, detection, switch, clients following, failback), its figures as rows and
 * its verdicts. The elements a reader (and the browser test) looks for carry a `data-role`.
 */

export interface Sample {
  /** Seconds since the drill started. */
  t: number;
  primaryUp: boolean | undefined;
  secondaryUp: boolean | undefined;
  replicationLagSeconds: number | undefined;
}

export interface Moment {
  t: number;
  label: string;
}

interface Verdict {
  name: string;
  detail: string;
}

export interface ReportInput {
  title: string;
  samples: readonly Sample[];
  moments: readonly Moment[];
  /** The run's figures; nested ones become rows of their own. */
  summary: Record<string, unknown>;
  checks?: ReadonlyArray<Verdict & { ok: boolean }>;
  targets?: ReadonlyArray<Verdict & { met: boolean }>;
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const COLOURS = { up: '#2e9e44', down: '#d23b3b', unknown: '#bbb', lag: '#2563eb', moment: '#444' };
const FONT_PX = 11;
/**
 * What one character of an 11 px sans-serif label takes at most on average: DejaVu Sans, Chromium's font on
 * Debian and among the widest, measured 5.2 to 6.0 px over a kill run's labels. Over-estimating only moves a
 * label to the other side of its moment.
 */
const CHAR_PX = 6.3;
const ROW_PX = 16;

/** A step for about `most` ticks over `span`: 1, 2 or 5 times a power of ten. */
function tickStep(span: number, most: number): number {
  const rough = span / most;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough) ?? 10 * power;
}

const ticks = (max: number, step: number): number[] =>
  Array.from({ length: Math.floor(max / step + 1e-9) + 1 }, (_, i) => Number((i * step).toFixed(6)));

/**
 * Where the label of a moment at `x` goes: after its dot when it fits before the right edge, else ending before
 * the dot; a label that fits on neither side goes on the roomier one, cut to fit with an ellipsis (the timeline
 * list under the figures has it in full). Never beyond `[minX, maxX]`, never over the dot.
 */
function placeLabel(
  x: number,
  label: string,
  minX: number,
  maxX: number,
): { x: number; anchor: 'start' | 'end'; text: string } {
  const roomAfter = maxX - (x + 6);
  const roomBefore = x - 6 - minX;
  const w = label.length * CHAR_PX;
  if (w <= roomAfter) return { x: x + 6, anchor: 'start', text: label };
  if (w <= roomBefore) return { x: x - 6, anchor: 'end', text: label };
  const room = Math.max(roomAfter, roomBefore);
  const text = `${label.slice(0, Math.max(1, Math.floor(room / CHAR_PX) - 1))}…`;
  return roomAfter >= roomBefore ? { x: x + 6, anchor: 'start', text } : { x: x - 6, anchor: 'end', text };
}

/**
 * The timeline as SVG: a legend; two health bands (green up, red down, grey not known); replication lag in
 * seconds on its own axis; a time axis in seconds since the start; each moment a dashed line across the plot
 * and, below the axis, a label on a row of its own (so labels never overlap) that stays inside the drawing.
 */
export function timelineSvg(samples: readonly Sample[], moments: readonly Moment[], width = 1120): string {
  const left = 130;
  const right = 30;
  const plotW = width - left - right;
  const tMax = Math.max(1, ...samples.map((s) => s.t), ...moments.map((m) => m.t));
  const tStep = tickStep(tMax, 10);
  const tEnd = Math.ceil(tMax / tStep) * tStep;
  const x = (t: number): number => left + (t / tEnd) * plotW;
  const legendY = 14;
  const bandTop = 32;
  const bandH = 22;
  const lagTop = bandTop + 2 * (bandH + 8) + 28;
  const lagH = 120;
  const axisY = lagTop + lagH;
  const lagMaxSeen = Math.max(0, ...samples.map((s) => s.replicationLagSeconds ?? 0));
  const lagStep = tickStep(Math.max(lagMaxSeen, 1), 4);
  const lagEnd = Math.ceil(Math.max(lagMaxSeen, 1) / lagStep) * lagStep;
  const y = (lag: number): number => axisY - (lag / lagEnd) * lagH;
  const labelsTop = axisY + 56;
  const height = labelsTop + moments.length * ROW_PX + 8;
  const parts: string[] = [];
  const text = (tx: number, ty: number, body: string, attrs = ''): string =>
    `<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}" font-size="${FONT_PX}"${attrs}>${escapeHtml(body)}</text>`;

  parts.push(legend(left, legendY));

  const band = (row: number, label: string, pick: (s: Sample) => boolean | undefined): void => {
    const top = bandTop + row * (bandH + 8);
    parts.push(text(4, top + 15, label, ' data-role="band-label"'));
    parts.push(
      `<rect x="${left}" y="${top}" width="${plotW}" height="${bandH}" fill="${COLOURS.unknown}" opacity="0.35"/>`,
    );
    samples.forEach((s, i) => {
      const next = samples[i + 1]?.t ?? s.t + 1;
      const v = pick(s);
      const fill = v === undefined ? COLOURS.unknown : v ? COLOURS.up : COLOURS.down;
      const x0 = x(s.t);
      const x1 = Math.min(x(next), left + plotW);
      parts.push(
        `<rect x="${x0.toFixed(1)}" y="${top}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${bandH}" fill="${fill}"/>`,
      );
    });
  };
  band(0, 'primary', (s) => s.primaryUp);
  band(1, 'secondary', (s) => s.secondaryUp);

  // The lag axis: seconds, with a tick and a grid line per step.
  parts.push(text(4, lagTop - 12, 'replication lag (s)', ' data-role="axis-title"'));
  for (const v of ticks(lagEnd, lagStep)) {
    const ty = y(v);
    parts.push(
      `<line x1="${left}" y1="${ty.toFixed(1)}" x2="${left + plotW}" y2="${ty.toFixed(1)}" stroke="#eee"/>`,
    );
    parts.push(text(left - 6, ty + 4, `${v} s`, ' text-anchor="end" data-role="lag-tick"'));
  }
  parts.push(`<line x1="${left}" y1="${lagTop}" x2="${left}" y2="${axisY}" stroke="#999"/>`);
  const lagPoints = samples
    .filter((s) => s.replicationLagSeconds !== undefined)
    .map((s) => `${x(s.t).toFixed(1)},${y(s.replicationLagSeconds ?? 0).toFixed(1)}`);
  if (lagPoints.length > 1) {
    parts.push(
      `<polyline fill="none" stroke="${COLOURS.lag}" stroke-width="2" points="${lagPoints.join(' ')}"/>`,
    );
  }

  // The time axis: seconds since the drill started.
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${left + plotW}" y2="${axisY}" stroke="#333"/>`);
  for (const t of ticks(tEnd, tStep)) {
    const tx = x(t);
    parts.push(
      `<line x1="${tx.toFixed(1)}" y1="${axisY}" x2="${tx.toFixed(1)}" y2="${axisY + 5}" stroke="#333"/>`,
    );
    parts.push(text(tx, axisY + 17, `${t} s`, ' text-anchor="middle" data-role="time-tick"'));
  }
  parts.push(
    text(
      left + plotW / 2,
      axisY + 36,
      'time since the drill started (s)',
      ' text-anchor="middle" data-role="axis-title"',
    ),
  );

  moments.forEach((m, i) => {
    const mx = x(m.t);
    const rowY = labelsTop + i * ROW_PX;
    const full = `${m.t.toFixed(1)} s  ${m.label}`;
    const place = placeLabel(mx, full, 4, width - 4);
    parts.push(
      `<line x1="${mx.toFixed(1)}" y1="${bandTop - 4}" x2="${mx.toFixed(1)}" y2="${axisY}" stroke="${COLOURS.moment}" stroke-dasharray="3,3"/>`,
    );
    parts.push(`<circle cx="${mx.toFixed(1)}" cy="${rowY - 4}" r="3" fill="${COLOURS.moment}"/>`);
    parts.push(
      place.text === full
        ? text(place.x, rowY, full, ` text-anchor="${place.anchor}" data-role="moment-label"`)
        : `<text x="${place.x.toFixed(1)}" y="${rowY}" font-size="${FONT_PX}" text-anchor="${place.anchor}" data-role="moment-label"><title>${escapeHtml(full)}</title>${escapeHtml(place.text)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" data-role="timeline">${parts.join('')}</svg>`;
}

/** What each colour and line means, in a row above the plot. */
function legend(startX: number, y: number): string {
  const entries: Array<{ swatch: string; label: string }> = [
    { swatch: `<rect width="14" height="10" y="-9" fill="${COLOURS.up}"/>`, label: 'cluster up' },
    { swatch: `<rect width="14" height="10" y="-9" fill="${COLOURS.down}"/>`, label: 'cluster down' },
    { swatch: `<rect width="14" height="10" y="-9" fill="${COLOURS.unknown}"/>`, label: 'not probed yet' },
    {
      swatch: `<line x1="0" x2="14" y1="-4" y2="-4" stroke="${COLOURS.lag}" stroke-width="2"/>`,
      label: 'replication lag',
    },
    {
      swatch: `<line x1="7" x2="7" y1="-11" y2="2" stroke="${COLOURS.moment}" stroke-dasharray="3,3"/>`,
      label: 'moment (labelled below the axis)',
    },
  ];
  let at = startX;
  const items = entries.map(({ swatch, label }) => {
    const item = `<g transform="translate(${at},${y})" data-role="legend-item">${swatch}<text x="18" y="0" font-size="${FONT_PX}">${escapeHtml(label)}</text></g>`;
    at += 18 + label.length * CHAR_PX + 16;
    return item;
  });
  return `<g data-role="legend">${items.join('')}</g>`;
}

export function reportHtml(input: ReportInput): string {
  const rows = figureRows(input.summary)
    .map((r) => `<tr><th>${escapeHtml(r.label)}</th><td>${escapeHtml(r.value)}</td></tr>`)
    .join('');
  const verdict = (ok: boolean, word: string, v: Verdict): string =>
    `<tr class="${ok ? 'ok' : 'failed'}"><td>${word}</td><th>${escapeHtml(v.name)}</th><td>${escapeHtml(v.detail)}</td></tr>`;
  const verdicts = [
    ...(input.checks ?? []).map((c) => verdict(c.ok, c.ok ? 'ok' : 'FAILED', c)),
    ...(input.targets ?? []).map((t) => verdict(t.met, t.met ? 'target met' : 'target missed', t)),
  ].join('');
  const moments = input.moments.map((m) => `<li>${m.t.toFixed(1)} s: ${escapeHtml(m.label)}</li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<style>body{font-family:sans-serif;margin:24px}table{border-collapse:collapse;margin-bottom:16px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{font-weight:normal;color:#333}tr.ok td:first-child{color:#2e7d32}tr.failed td:first-child{color:#c62828;font-weight:bold}</style>
</head><body><h1>${escapeHtml(input.title)}</h1>
${timelineSvg(input.samples, input.moments)}
<h2>Figures</h2><table data-role="figures">${rows}</table>
${verdicts ? `<h2>Verdicts</h2><table data-role="verdicts">${verdicts}</table>` : ''}
<h2>Timeline</h2><ol>${moments}</ol>
</body></html>
`;
}
