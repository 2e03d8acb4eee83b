/**
 * The drill's report: a self-contained HTML page with an inline SVG timeline of cluster health,
 * replication lag and the moments that matter (kill, detection, switch, clients following, failback).
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

export interface ReportInput {
  title: string;
  samples: readonly Sample[];
  moments: readonly Moment[];
  summary: Record<string, unknown>;
}

const escapeHtml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The timeline as SVG: two health bands (green up, red down, grey unknown), a lag line, labelled moments. */
export function timelineSvg(samples: readonly Sample[], moments: readonly Moment[], width = 960): string {
  const left = 110;
  const right = 20;
  const plotW = width - left - right;
  const tMax = Math.max(1, ...samples.map((s) => s.t), ...moments.map((m) => m.t));
  const x = (t: number): number => left + (t / tMax) * plotW;
  const bandH = 22;
  const lagTop = 90;
  const lagH = 120;
  const lagMax = Math.max(1, ...samples.map((s) => s.replicationLagSeconds ?? 0));
  const y = (lag: number): number => lagTop + lagH - (lag / lagMax) * lagH;
  const height = lagTop + lagH + 40 + moments.length * 16;
  const parts: string[] = [];
  const band = (row: number, label: string, pick: (s: Sample) => boolean | undefined): void => {
    const top = 20 + row * (bandH + 8);
    parts.push(`<text x="4" y="${top + 15}" font-size="12">${label}</text>`);
    samples.forEach((s, i) => {
      const next = samples[i + 1]?.t ?? s.t + 1;
      const v = pick(s);
      const fill = v === undefined ? '#bbb' : v ? '#2e9e44' : '#d23b3b';
      parts.push(
        `<rect x="${x(s.t).toFixed(1)}" y="${top}" width="${Math.max(1, x(next) - x(s.t)).toFixed(1)}" height="${bandH}" fill="${fill}"/>`,
      );
    });
  };
  band(0, 'primary', (s) => s.primaryUp);
  band(1, 'secondary', (s) => s.secondaryUp);
  parts.push(`<text x="4" y="${lagTop + 12}" font-size="12">lag (s), max ${lagMax.toFixed(1)}</text>`);
  parts.push(
    `<line x1="${left}" y1="${lagTop + lagH}" x2="${width - right}" y2="${lagTop + lagH}" stroke="#999"/>`,
  );
  const lagPoints = samples
    .filter((s) => s.replicationLagSeconds !== undefined)
    .map((s) => `${x(s.t).toFixed(1)},${y(s.replicationLagSeconds ?? 0).toFixed(1)}`);
  if (lagPoints.length > 1) {
    parts.push(`<polyline fill="none" stroke="#2563eb" stroke-width="2" points="${lagPoints.join(' ')}"/>`);
  }
  moments.forEach((m, i) => {
    const mx = x(m.t).toFixed(1);
    const ly = lagTop + lagH + 28 + i * 16;
    parts.push(`<line x1="${mx}" y1="16" x2="${mx}" y2="${ly - 10}" stroke="#444" stroke-dasharray="3,3"/>`);
    parts.push(
      `<text x="${mx}" y="${ly}" font-size="11">${escapeHtml(`${m.t.toFixed(1)}s ${m.label}`)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">${parts.join('')}</svg>`;
}

export function reportHtml(input: ReportInput): string {
  const rows = Object.entries(input.summary)
    .map(
      ([k, v]) =>
        `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))}</td></tr>`,
    )
    .join('');
  const moments = input.moments.map((m) => `<li>${m.t.toFixed(1)} s: ${escapeHtml(m.label)}</li>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title>
<style>body{font-family:sans-serif;margin:24px}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left}</style>
</head><body><h1>${escapeHtml(input.title)}</h1>
${timelineSvg(input.samples, input.moments)}
<h2>Figures</h2><table>${rows}</table>
<h2>Timeline</h2><ol>${moments}</ol>
</body></html>
`;
}
