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
