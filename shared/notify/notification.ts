/**
 * What operators receive, and how it reaches them. Failover and failback each build their own messages; both send
 * them through a {@link Notifier} (SNS in production) and phrase the parts they share the same way, so an operator
 * subscribed to the topic reads one language whichever function spoke.
 */

export interface Notification {
  subject: string;
  text: string;
  /** SNS message attributes, for subscription filters (`event`, `deployment`). */
  attributes: Record<string, string>;
}

/** Publishes a notification (SNS in production). */
export interface Notifier {
  publish(notification: Notification): Promise<{ messageId?: string }>;
}

/** What happened to the active configuration in one extra region. */
export interface RegionOutcome {
  region: string;
  ok: boolean;
  error?: string;
}

/** How a notification says what happened in an extra region (failover's and failback's alike). */
export function regionOutcomeText(r: Pick<RegionOutcome, 'ok' | 'error'>): string {
  return r.ok ? 'written' : `NOT written (${r.error ?? 'error'})`;
}

/** SNS subjects: at most 100 printable ASCII characters, no newlines. */
export function subjectLine(text: string): string {
  const ascii = text.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= 100 ? ascii : `${ascii.slice(0, 97)}...`;
}
