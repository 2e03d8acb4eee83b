import { describe, expect, it } from 'vitest';
import { reportHtml, timelineSvg } from '#drill/report.ts';

describe('drill report', () => {
  it('draws a down band for the primary and labels each moment', () => {
    const svg = timelineSvg(
      [
        { t: 0, primaryUp: true, secondaryUp: true, replicationLagSeconds: 0.5 },
        { t: 10, primaryUp: false, secondaryUp: true, replicationLagSeconds: 3 },
      ],
      [{ t: 10, label: 'primary killed' }],
    );

    expect(svg).toContain('fill="#d23b3b"');
    expect(svg).toContain('10.0 s  primary killed');
    expect(svg).toContain('<polyline');
  });

  it('draws a time axis with units, a legend, and a label that ends before a moment near the right edge', () => {
    const svg = timelineSvg(
      [{ t: 0, primaryUp: true, secondaryUp: true, replicationLagSeconds: 0 }],
      [
        { t: 1, label: 'early' },
        {
          t: 240,
          label: 'failback: completed (done: prepare, salvage, reverse, purge, catch-up, switch, restore)',
        },
      ],
    );

    expect(svg.match(/data-role="time-tick">[^<]+ s</g)?.length).toBeGreaterThanOrEqual(4);
    expect(svg).toContain('time since the drill started (s)');
    expect(svg.match(/data-role="legend-item"/g)).toHaveLength(5);
    expect(svg).toMatch(/text-anchor="start" data-role="moment-label">1\.0 s {2}early</);
    expect(svg).toMatch(/text-anchor="end" data-role="moment-label">240\.0 s {2}failback: completed/);
  });

  it('cuts a label too long for either side of its moment, keeping it whole in a tooltip', () => {
    const label = 'x'.repeat(200);

    const svg = timelineSvg(
      [],
      [
        { t: 50, label },
        { t: 100, label: 'end' },
      ],
    );

    expect(svg).toContain(`<title>50.0 s  ${label}</title>`);
    expect(svg).toMatch(/>50\.0 s {2}x+…</);
  });

  it('escapes text so a topic name cannot inject markup', () => {
    const html = reportHtml({
      title: 'drill <x>',
      samples: [],
      moments: [],
      summary: { scenario: '<script>' },
    });

    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
  });
});
