/**
 * The run's figures as rows a person reads: one row per number, nested figures (the failback's books, the
 * duplicates by epoch) as rows of their own under their parent's name, never a JSON string. The console's table
 * and the HTML report show the same rows.
 */
export interface FigureRow {
  label: string;
  value: string;
}

/** Names the generic wording would get wrong. */
const LABELS: Record<string, string> = {
  rtoSeconds: 'RTO (s)',
  ok: 'ok',
  reportFile: 'report',
  logFile: 'functions log',
  tornAtRest: 'torn at rest',
  failback: 'failback',
};

export function figureRows(figures: Record<string, unknown>, parent = ''): FigureRow[] {
  return Object.entries(figures).flatMap(([key, value]) => {
    const label = parent ? `${parent} › ${labelOf(key)}` : labelOf(key);
    if (isRecord(value)) {
      const nested = figureRows(value, label);
      return nested.length > 0 ? nested : [{ label, value: 'none' }];
    }
    return [{ label, value: shown(value) }];
  });
}

/** `detectionWindowSeconds` -> `detection window (s)`; `duplicatesByEpoch` -> `duplicates by epoch`. */
function labelOf(key: string): string {
  const known = LABELS[key];
  if (known !== undefined) return known;
  if (/^\d+$/.test(key)) return key;
  const words = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.endsWith(' seconds') ? `${words.slice(0, -' seconds'.length)} (s)` : words;
}

function shown(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map(shown).join(', ');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => `${labelOf(k)} ${shown(v)}`)
      .join(', ');
  }
  return String(value);
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
