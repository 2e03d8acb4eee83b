import type {
  MirrorController,
  MirrorOutcome,
  PartitionPosition,
  ReverseFlowSpec,
} from './mirror-controller.ts';
import type { MirrorStep } from './payload.ts';

/**
 * MirrorMaker 2 run by people: each change is reported as exact steps, and failback waits until an operator
 * invokes it with `mirrorConfirmed: '<step>'`. The steps say what to change, not which tool to use (dedicated
 * `connect-mirror-maker`, Strimzi, a vendor console), and give every number an operator needs.
 */
export interface ManualControllerOptions {
  primaryAlias: string;
  secondaryAlias: string;
  /** Steps confirmed so far (journal plus the current request). */
  confirmed: ReadonlySet<MirrorStep>;
}

export class ManualController implements MirrorController {
  readonly kind = 'manual' as const;
  readonly canSetForwardOffsets = true;
  readonly #o: ManualControllerOptions;

  constructor(options: ManualControllerOptions) {
    this.#o = options;
  }

  describeChanges(spec: ReverseFlowSpec): string[] {
    return [
      `salvage waits for an operator to stop the ${this.#fwd()} flow (confirm 'stop-forward')`,
      `reverse waits for an operator to start a ${this.#rev()} flow for ${spec.topics.join(', ')} from the earliest offsets (confirm 'start-reverse')`,
      `restore waits for an operator to remove the ${this.#rev()} flow (confirm 'stop-reverse') and to restart the ${this.#fwd()} flow at the offsets failback reports (confirm 'start-forward')`,
    ];
  }

  async stopForward(): Promise<MirrorOutcome> {
    return this.#step('stop-forward', [
      `Stop the MirrorMaker 2 flow ${this.#fwd()} (every MirrorSourceConnector, MirrorCheckpointConnector and MirrorHeartbeatConnector of it; in dedicated mode set '${this.#fwd().replace(' → ', '->')}.enabled = false' and restart MM2).`,
      'Keep its configuration and its stored offsets: failback reads how far it got.',
      `Then invoke failback with { "action": "failback", "mirrorConfirmed": "stop-forward", "requestedBy": "...", "reason": "..." }.`,
    ]);
  }

  async startReverse(spec: ReverseFlowSpec): Promise<MirrorOutcome> {
    const { primaryAlias: p, secondaryAlias: s } = this.#o;
    return this.#step('start-reverse', [
      `Create a MirrorMaker 2 flow ${this.#rev()} with replication.policy.class=org.apache.kafka.connect.mirror.IdentityReplicationPolicy, source.cluster.alias=${s}, target.cluster.alias=${p}.`,
      `topics=${spec.topics.join(',')}; topics.exclude must also exclude ${spec.excludeTopics.join(', ')}; groups=${spec.groups.join(',') || '.*'}; emit.checkpoints.enabled=true, sync.group.offsets.enabled=true.`,
      'It must start from the earliest offsets: if a flow of that name ran before, delete its stored source offsets first (Kafka Connect ≥ 3.6: PUT /connectors/<name>/stop, DELETE /connectors/<name>/offsets, PUT /connectors/<name>/resume). Purge deletes the primary’s stale data on the assumption that this flow copies everything back.',
      `Then invoke failback with "mirrorConfirmed": "start-reverse".`,
    ]);
  }

  async removeReverse(): Promise<MirrorOutcome> {
    return this.#step('stop-reverse', [
      `Stop and remove the MirrorMaker 2 flow ${this.#rev()}.`,
      `Then invoke failback with "mirrorConfirmed": "stop-reverse".`,
    ]);
  }

  async startForward(startAt?: readonly PartitionPosition[]): Promise<MirrorOutcome> {
    const positions = startAt ?? [];
    const patch = {
      offsets: positions.map((pos) => ({
        partition: { cluster: this.#o.primaryAlias, topic: pos.topic, partition: pos.partition },
        offset: pos.offset > 0 ? { offset: pos.offset - 1 } : null,
      })),
    };
    return this.#step('start-forward', [
      `Before starting the ${this.#fwd()} flow again, move its MirrorSourceConnector's offsets so that it copies only what the primary received after the switch (what the reverse flow wrote there is already on the secondary):`,
      ...positions.map((pos) => `  ${pos.topic}[${pos.partition}]: first offset to copy ${pos.offset}`),
      `With Kafka Connect ≥ 3.6 (connector stopped): PATCH /connectors/<forward source connector>/offsets with ${JSON.stringify(patch)}`,
      `Then start the flow (PUT /connectors/<name>/resume for its three connectors) and invoke failback with "mirrorConfirmed": "start-forward".`,
    ]);
  }

  async lastReplicated(): Promise<PartitionPosition[] | undefined> {
    return undefined;
  }

  #step(step: MirrorStep, instructions: string[]): MirrorOutcome {
    if (this.#o.confirmed.has(step)) return { done: true, detail: `operator confirmed '${step}'` };
    return { done: false, waitingFor: step, instructions };
  }

  #fwd(): string {
    return `${this.#o.primaryAlias} → ${this.#o.secondaryAlias}`;
  }

  #rev(): string {
    return `${this.#o.secondaryAlias} → ${this.#o.primaryAlias}`;
  }
}
