import RequestQueue from 'kafkajs/src/network/requestQueue/index.js';

/** Marks the replacement, so that a second call (or a second copy of this module) leaves it in place. */
const fixed = Symbol.for('mm2-failover.requestQueueTimerFix');

/** kafkajs' CHECK_PENDING_REQUESTS_INTERVAL. */
const checkPendingRequestsIntervalMs = 10;

/**
 * kafkajs 2.2.4's request queue, after every response, schedules its next look at the pending requests at
 * `throttledUntil - Date.now()` even when nothing is pending and no throttle is in force; `throttledUntil` starts
 * at -1, so the delay is about minus the epoch in ms. Node turns it into 1 ms, and the callback schedules the next
 * one: every idle connection runs a 1 ms timer loop, and Node 24 prints `TimeoutNegativeWarning: -1796294615516
 * is a negative number` once per process (kafkajs issues #1704 and #1751, unfixed in the last release).
 *
 * This replaces that one method with the schedule it means: a pending request is looked at when the throttle ends,
 * or after kafkajs' own 10 ms when there is none; with nothing pending there is nothing to schedule (`push` and
 * every response look at the queue again). The replacement is made only while the method still holds the faulty
 * subtraction, so a kafkajs that fixes it is left alone. It patches the class every connection of this kafkajs
 * copy uses (Node and esbuild load one module per file), which is why a process needs it once, before connecting.
 */
export function fixRequestQueueTimer(): void {
  const proto = RequestQueue.prototype;
  const current = proto.scheduleCheckPendingRequests;
  if (fixed in current || !/throttledUntil\s*-\s*Date\.now\(\)/.test(String(current))) return;
  proto.scheduleCheckPendingRequests = Object.assign(
    function scheduleCheckPendingRequests(this: typeof proto) {
      if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
      const untilThrottleEnds = this.throttledUntil - Date.now();
      this.throttleCheckTimeoutId = setTimeout(
        () => {
          this.throttleCheckTimeoutId = null;
          this.checkPendingRequests();
        },
        untilThrottleEnds > 0 ? untilThrottleEnds : checkPendingRequestsIntervalMs,
      );
    },
    { [fixed]: true },
  );
}
