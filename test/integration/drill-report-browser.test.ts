import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
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

/** Width and height from a PNG's IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
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

  it('takes a screenshot of the whole page', () => {
    const png = readFileSync(screenshot);

    expect(pngSize(png)).toEqual({ width: viewportWidth, height: Math.ceil(g.scrollHeight) });
    // A page of text, bands and a plot: an empty or failed render compresses to a few kilobytes.
    expect(png.length).toBeGreaterThan(50_000);
  });
});
