import { randomBytes } from 'node:crypto';

/**
 * A topic or group name no other test (nor an earlier run against the same clusters) uses:
 * `orders` -> `orders-m3x7k2-9f3a1c`. Only characters legal in Kafka topic names.
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}
