import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { inflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { runReportHtml } from '#drill/run-report.ts';
import type { DrillSummary } from '#drill/summary.ts';
import { repoRoot } from '#harness/paths.ts';

/**
 * The drill's HTML report as a person sees it: drawn by headless Chromium (Debian's `chromium`, installed by
 * scripts/install-chromium.sh before the integration tests) from a recorded run of the kill scenario, so no drill
 * runs here. The page measures itself in the browser (every label's box, the ticks, the legend) and the test
 * judges the geometry; the screenshot stays in `.out/drill-report-browser/` (git-ignored) for a person to look at.
 * It lives in the integration project because the unit project runs before chromium is installed; it needs no
 * harness.
 */
const run = JSON.parse(
  readFileSync(path.join(import.meta.dirname, 'fixtures', 'drill-kill-run.json'), 'utf8'),
) as { summary: DrillSummary; timeline: Parameters<typeof runReportHtml>[1] };
const outDir = path.join(repoRoot, '.out', 'drill-report-browser');
const viewportWidth = 1280;

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
  text: string;
}

interface Geometry {
  viewportWidth: number;
  scrollWidth: number;
  scrollHeight: number;
  svg: Box;
  texts: Box[];
  momentLabels: Box[];
  momentDots: Box[];
  timeTicks: Box[];
  lagTicks: Box[];
  axisTitles: Box[];
  legendItems: Box[];
  bandLabels: Box[];
  figureRows: string[][];
}

/** Runs in the page: writes the boxes of what the report draws into the DOM, base64 so that no escaping bites. */
const measure = `<script>
const box = (e) => { const r = e.getBoundingClientRect(); return { x: r.left + scrollX, y: r.top + scrollY, w: r.width, h: r.height, text: e.textContent }; };
const all = (selector) => [...document.querySelectorAll(selector)].map(box);
const geometry = {
  viewportWidth: innerWidth,
  scrollWidth: document.documentElement.scrollWidth,
  scrollHeight: document.documentElement.scrollHeight,
  svg: box(document.querySelector('svg[data-role=timeline]')),
  texts: all('svg[data-role=timeline] text'),
  momentLabels: all('[data-role=moment-label]'),
  momentDots: all('svg[data-role=timeline] circle'),
  timeTicks: all('[data-role=time-tick]'),
  lagTicks: all('[data-role=lag-tick]'),
  axisTitles: all('[data-role=axis-title]'),
  legendItems: all('[data-role=legend-item]'),
  bandLabels: all('[data-role=band-label]'),
  figureRows: [...document.querySelectorAll('[data-role=figures] tr')].map((tr) => [...tr.children].map((c) => c.textContent)),
};
const out = document.createElement('pre');
out.id = 'geometry';
out.textContent = btoa(unescape(encodeURIComponent(JSON.stringify(geometry))));
document.body.append(out);
</script>`;

const chromium = (args: string[]) =>
  promisify(execFile)(
    'chromium',
    ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', '--no-first-run', ...args],
    { timeout: 90_000, maxBuffer: 32 * 1024 * 1024 },
  );

const overlap = (a: Box, b: Box): boolean =>
  a.x < b.x + b.w - 0.5 && b.x < a.x + a.w - 0.5 && a.y < b.y + b.h - 0.5 && b.y < a.y + a.h - 0.5;

function overlappingPairs(boxes: readonly Box[]): string[] {
  const pairs: string[] = [];
  boxes.forEach((a, i) => {
    for (const b of boxes.slice(i + 1)) if (overlap(a, b)) pairs.push(`'${a.text}' / '${b.text}'`);
  });
  return pairs;
}

/** A PNG's pixels (8-bit RGB or RGBA, not interlaced: what Chromium writes), as RGB triples per pixel. */
function decodePng(png: Buffer): { width: number; height: number; rgbAt: (x: number, y: number) => string } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.subarray(offset + 4, offset + 8).toString('latin1');
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      expect({ bitDepth: body[8], interlace: body[12] }).toEqual({ bitDepth: 8, interlace: 0 });
      channels = body[9] === 6 ? 4 : body[9] === 2 ? 3 : 0;
      expect(channels, `colour type ${body[9]}`).toBeGreaterThan(0);
    }
    if (type === 'IDAT') data.push(body);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const at = y * stride + i;
      const value = raw[y * (stride + 1) + 1 + i] ?? 0;
      const a = i >= channels ? (pixels[at - channels] ?? 0) : 0;
      const b = y > 0 ? (pixels[at - stride] ?? 0) : 0;
      const c = i >= channels && y > 0 ? (pixels[at - stride - channels] ?? 0) : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predicted = [0, a, b, (a + b) >> 1, paeth][filter ?? 0] ?? 0;
      pixels[at] = (value + predicted) & 0xff;
    }
  }
  const rgbAt = (x: number, y: number): string =>
    `#${pixels.subarray(y * stride + x * channels, y * stride + x * channels + 3).toString('hex')}`;
  return { width, height, rgbAt };
}

describe('drill report in a browser', () => {
  let g: Geometry;
  const screenshot = path.join(outDir, 'report.png');

  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    const html = runReportHtml(run.summary, run.timeline);
    const reportFile = path.join(outDir, 'report.html');
    const measuredFile = path.join(outDir, 'report-measured.html');
    writeFileSync(reportFile, html);
    writeFileSync(measuredFile, html.replace('</body>', `${measure}</body>`));
    const { stdout } = await chromium([
      `--window-size=${viewportWidth},1000`,
      '--dump-dom',
      `file://${measuredFile}`,
    ]);
    const encoded = /<pre id="geometry">([A-Za-z0-9+/=]+)<\/pre>/.exec(stdout)?.[1];
    if (encoded === undefined) throw new Error(`chromium's DOM has no measurements: ${stdout.slice(0, 500)}`);
    g = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as Geometry;
    await chromium([
      `--window-size=${viewportWidth},${Math.ceil(g.scrollHeight)}`,
      `--screenshot=${screenshot}`,
      `file://${reportFile}`,
    ]);
  }, 240_000);

  it('draws a time axis in seconds, from 0 past the last moment, ticks left to right', () => {
    const ticks = g.timeTicks.map((t) => t.text);
    const seconds = ticks.map((t) => Number(/^(\d+(?:\.\d+)?) s$/.exec(t)?.[1]));
    const lastMoment = Math.max(...run.timeline.moments.map((m) => m.t));

    expect(ticks.length).toBeGreaterThanOrEqual(4);
    expect(seconds.every(Number.isFinite), ticks.join(', ')).toBe(true);
    expect(seconds[0]).toBe(0);
    expect(seconds.at(-1)).toBeGreaterThanOrEqual(lastMoment);
    expect(g.timeTicks.map((t) => t.x)).toEqual([...g.timeTicks.map((t) => t.x)].sort((a, b) => a - b));
    expect(g.axisTitles.map((t) => t.text)).toEqual([
      'replication lag (s)',
      'time since the drill started (s)',
    ]);
    expect(g.lagTicks.map((t) => t.text).every((t) => /^\d+(\.\d+)? s$/.test(t))).toBe(true);
  });

  it('has a legend for the health colours, the lag line and the moments', () => {
    expect(g.legendItems.map((l) => l.text)).toEqual([
      'cluster up',
      'cluster down',
      'not probed yet',
      'replication lag',
      'moment (labelled below the axis)',
    ]);
    expect(overlappingPairs(g.legendItems)).toEqual([]);
  });

  it('labels every moment, and no two pieces of text in the drawing overlap', () => {
    expect(g.momentLabels).toHaveLength(run.timeline.moments.length);
    expect(g.momentLabels.every((l) => l.w > 0 && l.h > 0)).toBe(true);
    expect(overlappingPairs(g.texts)).toEqual([]);
  });

  it("puts each moment's label beside its dot, not over it", () => {
    const covered = g.momentLabels.filter((label, i) => {
      const dot = g.momentDots[i];
      return dot !== undefined && overlap(label, dot);
    });

    expect(g.momentDots).toHaveLength(g.momentLabels.length);
    expect(covered.map((l) => l.text)).toEqual([]);
  });

  it('keeps every label inside the drawing and the page: nothing runs off to the right', () => {
    const outside = g.texts.filter(
      (t) => t.x < g.svg.x - 0.5 || t.x + t.w > g.svg.x + g.svg.w + 0.5 || t.x + t.w > g.viewportWidth,
    );

    expect(outside.map((t) => t.text)).toEqual([]);
    expect(g.scrollWidth).toBeLessThanOrEqual(g.viewportWidth);
  });

  it('shows nested figures as rows of their own, never as JSON', () => {
    const labels = g.figureRows.map(([label]) => label);

    expect(labels).toEqual(
      expect.arrayContaining(['failback › ok', 'failback › lost', 'duplicates by epoch › 1']),
    );
    expect(g.figureRows.flat().filter((cell) => /[{}"]/.test(cell))).toEqual([]);
  });

  it('draws the health bands in the screenshot: the primary red while it was down, the secondary green', () => {
    const png = decodePng(readFileSync(screenshot));
    const killed = run.timeline.moments.find((m) => m.label.startsWith('primary killed'))?.t ?? Number.NaN;
    const restarted =
      run.timeline.moments.find((m) => m.label.startsWith('primary restarted'))?.t ?? Number.NaN;
    const [primary, secondary] = g.bandLabels;
    const [start, end] = [g.timeTicks[0], g.timeTicks.at(-1)];
    if (!primary || !secondary || !start || !end) throw new Error('the page has no bands or no time axis');
    // The pixel column at time t, from the axis's own ticks (their centres are 0 s and the last tick's seconds).
    const lastTick = Number.parseFloat(end.text);
    const column = (t: number) =>
      Math.round(start.x + start.w / 2 + (t / lastTick) * (end.x + end.w / 2 - (start.x + start.w / 2)));
    const row = (label: Box) => Math.round(label.y + label.h / 2);
    // In the widest gap between moments while the primary was down: away from the moments' dashed lines.
    const times = [
      killed,
      ...run.timeline.moments.map((m) => m.t).filter((t) => t > killed && t < restarted),
      restarted,
    ];
    const gaps = times
      .slice(1)
      .map((t, i) => ({ mid: (t + (times[i] ?? t)) / 2, width: t - (times[i] ?? t) }));
    const widest = gaps.reduce((a, b) => (b.width > a.width ? b : a));
    const whileDown = column(widest.mid);

    expect({ width: png.width, height: png.height }).toEqual({
      width: viewportWidth,
      height: Math.ceil(g.scrollHeight),
    });
    expect(png.rgbAt(whileDown, row(primary))).toBe('#d23b3b');
    expect(png.rgbAt(whileDown, row(secondary))).toBe('#2e9e44');
  });
});
