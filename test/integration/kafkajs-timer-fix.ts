import { fixRequestQueueTimer } from '#shared/kafka/request-queue-timer-fix.ts';

// Each test file runs in a worker of its own, whose kafkajs clients (the harness's helpers, the tests' admins)
// do not go through the product's client factory: without the fix there, the run's log carries kafkajs'
// TimeoutNegativeWarning once per file that opens a connection. The global setup fixes only its own process.
fixRequestQueueTimer();
