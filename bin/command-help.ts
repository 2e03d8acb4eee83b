/**
 * The CLI's help: the overview (`mm2-failover --help`) and one text per command (`mm2-failover <command> --help`),
 * each with the flags it takes and the exit codes it gives.
 */
import { scenarios } from '#drill/scenarios.ts';
import { exitCodes } from './exit-code.ts';

const target = '(--deployment <name> | --function <name|arn> | --local)';

const exitCodeLines = `exit codes:
  ${exitCodes.done}  done: the function answered (a dry run, a failback that waits or stops at its deadline included)
  ${exitCodes.refusedOrFailed}  refused ("status": "refused"), invalid input ("status": "invalid"), or failed
  ${exitCodes.usage}  usage error: unknown command or flag, a required flag missing, a bad value
  ${exitCodes.waitingForApproval}  failback --wait (AWS): the failback waits for 'failback approve' before its purge`;

const targets = `targets (status, failover, failback, repair, refresh-credentials):
  --deployment <name>    the deployment's functions, table and failback state machine, from the parameter
                         /mm2-failover/<name>/functions that its stack writes
  --function <name|arn>  one deployed function (for failback --wait and approve, give --state-machine and --table)
  --region r             where the deployment runs (default: the AWS SDK's; AWS_ENDPOINT_URL honoured)
  --local                the same handlers in this process, against the deployment 'mm2-failover local up' runs
  --config f             a deployment config whose "aws" section bounds the CLI's AWS calls (timeouts, attempts)`;

const usage = `usage: mm2-failover <command> [flags]     ('mm2-failover <command> --help': its flags and exit codes)

  mm2-failover status   ${target} [--json]
  mm2-failover failover ${target} (--dry-run | --reason "...") [--planned | --unplanned] [--force] [--requested-by who]
  mm2-failover failback ${target} --reason "..." [--phase p] [--confirm] [--mirror-confirmed step] [--abandon]
  mm2-failover failback (--deployment <name> | --state-machine <arn> | --local) --wait --reason "..."
  mm2-failover failback progress (--deployment <name> | --state-machine <arn>) [--wait]
  mm2-failover failback approve (--deployment <name> | --table <name> [--config f] | --local) --reason "..."
  mm2-failover repair   ${target} --reason "..." [--requested-by who]
  mm2-failover refresh-credentials ${target} --reason "..." [--force] [--requested-by who]
  mm2-failover init     [--config failover.config.json] [--region r] [--table <the stack's table>]
  mm2-failover audit    ([--config failover.config.json] [--region r] | --local) [--json] [--fix [--apply]]
  mm2-failover client-config (--deployment <name> [--region r] | --local) [--format properties|librdkafka|json]
                             [--out-dir dir] [--inline-secrets] [--role producers|consumers]
  mm2-failover local up
  mm2-failover drill [--scenario ${scenarios.join('|')}] [--mode active-passive|active-active] [--policy identity|default]
                     [--mirror-timing best|production] [--json] [--verbose]

${targets}

${exitCodeLines}
  repair: ${exitCodes.done} the configuration at rest is the epoch authority's (consistent or repaired), ${exitCodes.refusedOrFailed} it could not be
          (nothing was ever claimed, the lock is held, or it failed)
  audit: ${exitCodes.done} the standby is ready (after the fixes, with --apply), ${exitCodes.refusedOrFailed} it is not or the audit failed`;

const requestedBy = '  --requested-by who     who asks, for the journal and the lock (default: $USER)';

const commandHelp: Record<string, string> = {
  status: `usage: mm2-failover status ${target} [--region r] [--json]

What the status function reads: the active cluster and its epoch (and whether the configuration at rest is
torn), the automation switch, the last probe (health of both clusters, replication lag), the standby readiness
audit, and the latest failover and failback runs (in progress or finished). Read-only.

  --json                 the function's answer as JSON, for scripts (default: a summary for a person)

${targets}

exit codes: ${exitCodes.done} answered, ${exitCodes.refusedOrFailed} the function could not be invoked or failed, ${exitCodes.usage} usage error`,

  failover: `usage: mm2-failover failover ${target} (--dry-run | --reason "...") [--planned | --unplanned] [--force] [--requested-by who]

Switches clients to the secondary: checks the preflight (the primary really down, the secondary healthy, the
mirror's lag within the safety limits, the standby ready, no cooldown), claims the next epoch, translates the
consumer groups' offsets and writes the active configuration and credentials.

  --dry-run              what it would do and what it would refuse; writes nothing
  --reason "..."         why (journaled with the switch)
  --force                switch although the preflight refuses (a healthy primary, lag over the limit)
  --planned              a planned switchover with zero RPO while both clusters are up: fence the primary's watched
                         topics (max.message.bytes 0: every producer is refused), wait until MM2 has copied and
                         checkpointed everything, switch, lift the fence; refused, with the fence lifted, if the
                         backlog does not drain in safety.plannedDrainTimeoutSeconds. The default for a manual
                         failover when the primary answers and --force is not given
  --unplanned            the failover with its preflight only (refused while the primary is up, unless --force)
${requestedBy}

${targets}

exit codes: ${exitCodes.done} switched (or the dry run answered, a refusal it shows included), ${exitCodes.refusedOrFailed} refused, invalid or failed,
            ${exitCodes.usage} usage error`,

  failback: `usage: mm2-failover failback ${target} --reason "..." [--phase p] [--confirm] [--mirror-confirmed step]
       mm2-failover failback ${target} --reason "..." --abandon
       mm2-failover failback (--deployment <name> | --state-machine <arn> | --local) --wait --reason "..."
       mm2-failover failback progress (--deployment <name> | --state-machine <arn>) [--wait]
       mm2-failover failback approve (--deployment <name> | --table <name> [--config f] | --local) --reason "..."

Brings clients back to the primary after a failover, in resumable phases (docs/failback.md):
  plan      dry run: measures and describes, writes nothing
  prepare   the primary has answered for failback.stableSeconds
  salvage   stops the forward mirror, copies what never reached the secondary to the quarantine topic
  reverse   starts the mirror secondary -> primary
  purge     deletes the primary's stale records (needs --confirm; driven: 'failback approve')
  catch-up  waits until the reverse lag is small enough
  switch    clients back to the primary in two fenced stages, offsets translated back
  restore   reverse mirror removed, forward mirror on again
Active-active deployments skip salvage, reverse and purge.

One invocation advances as far as it can and says what it waits for; invoke again to continue. With --wait it
is driven to the end: in AWS by the failback state machine (started once, followed here until it ends or waits
for the purge approval), with --local by the same loop in this process.

  --reason "..."         why (journaled)
  --phase p              run up to this phase only (plan: the dry run)
  --confirm              allow the purge (deleting records on the primary cannot be undone)
  --mirror-confirmed s   mirror.kind "manual": you have done this mirror step by hand (stop-forward,
                         start-reverse, stop-reverse, start-forward); failback waits for each
  --abandon              give up the failback in progress (journaled with what it leaves behind)
  --wait                 drive it to the end (AWS: the state machine of --deployment or --state-machine);
                         progress --wait: follow the latest execution, e.g. after the approval
  --state-machine <arn>  the failback state machine (the stack's FailbackStateMachineArn output)
  --table <name>         approve: the stack's table (TableName output), with --config for the deployment's name
${requestedBy}

${targets}

exit codes: ${exitCodes.done} answered (a failback that waits for the next invocation included), driven to the end, or approved;
            ${exitCodes.refusedOrFailed} refused, invalid, failed, or the execution failed, timed out or was aborted;
            ${exitCodes.usage} usage error; ${exitCodes.waitingForApproval} --wait in AWS: the execution waits for 'failback approve' before the purge
            (approve it, then follow the rest with 'failback progress --wait')`,

  repair: `usage: mm2-failover repair ${target} --reason "..." [--requested-by who]

Rolls a torn active configuration (the parameter and the credentials secret at different epochs, or not what the
epoch authority holds) forward to the authority's epoch. The probe asks for this by itself; this is the manual way.

${targets}

exit codes: ${exitCodes.done} the configuration at rest is the authority's (consistent or repaired), ${exitCodes.refusedOrFailed} it could not be (nothing
            was ever claimed, the lock is held, or it failed), ${exitCodes.usage} usage error`,

  'refresh-credentials': `usage: mm2-failover refresh-credentials ${target} --reason "..." [--force] [--requested-by who]

Republishes the active cluster's credentials under a new epoch after its secret was rotated, so clients reconnect
with the new ones.

  --force                republish although no secret version moved

${targets}

exit codes: ${exitCodes.done} refreshed or nothing to refresh, ${exitCodes.refusedOrFailed} refused or failed, ${exitCodes.usage} usage error`,

  init: `usage: mm2-failover init [--config failover.config.json] [--region r] [--table <the stack's table>]

The first activation, once after 'cdk deploy': the active configuration points at the primary with epoch 0. The
stack creates the active credentials secret empty and never writes the active configuration (a stack update must
not roll a switch back); init writes both, with your AWS credentials. It never overwrites an existing activation
(it answers "exists"). The cluster parameters and secrets (/mm2-failover/<name>/clusters/<role>) must be written
first.

  --config f             the deployment config (default failover.config.json); its "name" is the deployment
  --table <name>         the stack's table (TableName output): epoch 0 is claimed from the epoch authority under
                         the lock. Without it, the table is found from /mm2-failover/<name>/functions when the stack
                         wrote it; with neither, the activation is written unclaimed (the first switch claims)

exit codes: ${exitCodes.done} initialised, adopted or already there, ${exitCodes.refusedOrFailed} failed (a bad config file, a missing cluster definition),
            ${exitCodes.usage} usage error`,

  local: `usage: mm2-failover local up

Starts the local harness (Kafka clusters, MirrorMaker 2, the moto AWS emulator) and the drill's deployment in it,
initialised (primary, epoch 0), and serves in the foreground until Ctrl-C. Every command then takes --local.

exit codes: ${exitCodes.done} stopped by Ctrl-C, ${exitCodes.refusedOrFailed} the harness failed to start, ${exitCodes.usage} usage error`,

  audit: `usage: mm2-failover audit ([--config failover.config.json] [--region r] | --local) [--json] [--fix [--apply]]

Audits whether the standby can take over: every mirrored topic on the secondary with the partitions, settings and
ACLs the config asks for. --fix lists what would make it ready; --apply does it.

exit codes: ${exitCodes.done} the standby is ready (after the fixes, with --apply), ${exitCodes.refusedOrFailed} it is not or the audit failed, ${exitCodes.usage} usage error`,

  drill: `usage: mm2-failover drill [--scenario ${scenarios.join('|')}] [--mode active-passive|active-active]
                          [--policy identity|default] [--mirror-timing best|production] [--json] [--verbose]

Runs a failover story on local clusters, end to end, and prints its phases, live counters and figures (RTO, data
lost, duplicates); writes a report, summary.json, functions.log and client.log to .out/drill/<time>-<scenario>/.

  --mode     active-passive (default) or active-active: MM2 both ways, an application on each cluster, the
             primary's clients moving to the secondary and draining the primary's copy first (always the default
             policy)
  --policy   MM2's replication policy on the harness and in the deployment (default identity; default prefixes
             topics, and failback copies back what was written on the secondary)
  --mirror-timing
             MM2's timing on the harness: best (default: every interval 1 s, offset.lag.max 0, exact offset
             translation) or production (MM2's own defaults: offset.lag.max 100, checkpoints and group-offset syncs
             every 60 s, so consumers resume from a checkpoint up to a minute old and read more twice)
  --json     the last line of standard output is the JSON summary
  --verbose  also stream functions.log and client.log to the console

exit codes: ${exitCodes.done} every check passed, ${exitCodes.refusedOrFailed} a check failed, ${exitCodes.usage} usage error`,
};

/** The help of one command, or the overview for a command it does not know. */
export function helpFor(command: string | undefined): string {
  return (command && commandHelp[command]) || usage;
}
