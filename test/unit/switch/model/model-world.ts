import { ActiveConfigWatcher } from '#shared/client/active-config-watcher.ts';
import { roleView } from '#shared/client/role-view.ts';
import type { Clock } from '#shared/clock.ts';
import { activeConfigSchema, activeCredentialsSchema } from '#shared/config/contract.ts';
import { Mm2FailoverError } from '#shared/errors.ts';
import { type FailoverDeps, runFailover } from '#shared/failover/failover.ts';
import { initialiseActiveConfig } from '#shared/failover/initialise-active.ts';
import { ActiveWatch } from '#shared/health/active-watch.ts';
import { activeParameterText, type Stores } from '#shared/store/active-config.ts';
import type { RunJournal } from '#shared/store/dynamo-journal.ts';
import type { DeploymentLock } from '#shared/store/dynamo-lock.ts';
import { Redacted } from '#shared/store/redacted.ts';
import type { SecretVersions } from '#shared/store/stores.ts';
import type { EpochAuthority } from '#shared/switch/epoch-authority.ts';
import { type MaintenanceRequest, runMaintenance } from '#shared/switch/maintenance.ts';
import { MemoryRunJournal } from '../../failback/fakes.ts';
import { failoverHarness, type Harness } from '../../failover/fakes.ts';
import { type FailbackSwitchRun, invokeFailbackSwitch } from './model-failback.ts';
import { type CallKind, type Choice, HungCallError, Scheduler, ThrottledError } from './model-scheduler.ts';

/**
 * The model's world: one deployment's fakes (stores, lock, journal, epoch authority, clock) shared by concurrent
 * actors that run the real code (runFailover, runMaintenance for repair and refresh, the probe's ActiveWatch, the
 * client's ActiveConfigWatcher) through gated views of those fakes, plus hand edits of the stores. Invariants are
 * checked as the schedule runs and once it is over.
 */

/**
 * A writer is invoked `attempts` times (Lambda's retries of an async invocation, the probe's next cycles), a
 * minute apart on the fake clock (a retry of a crashed invocation too). Each attempt keeps the holder id
 * (an async retry keeps its request id).
 */
export type Actor =
  | { kind: 'failover' | 'refresh' | 'repair' | 'probe'; attempts: number }
  /**
   * Failback's switch phase (two fenced stages, the first with a holdback), invoked `attempts` times a minute
   * apart, each with its own request id as holder; it begins its run once the secondary is active.
   */
  | { kind: 'failback'; attempts: number }
  | { kind: 'reader'; polls: number }
  | {
      kind: 'hand-edit';
      half: 'parameter' | 'secret';
      edit: 'older' | 'other-cluster' | 'garbage';
    };

export interface Scenario {
  /** Which cluster is active (and written, epoch 0 or 1) before the actors start. */
  start: 'primary' | 'secondary';
  actors: Actor[];
  choices: Choice[];
  /**
   * After the schedule, with every writer stopped and every lease expired: `probe`: one probe cycle (it must see
   * anything wrong and have it repaired); `failover`: one failover first (it must leave the secondary active
   * whatever is at rest), then the probe cycle.
   */
  ending: 'probe' | 'failover';
}

export interface Outcome {
  violations: string[];
  trace: string[];
  steps: number;
  /** Failback's stages the authority saw claimed: the held-back first stage, the second (the actor's coverage). */
  failbackStages: { holdback: boolean; final: boolean };
}

const MAX_STEPS = 2_000;

export async function runScenario(scenario: Scenario): Promise<Outcome> {
  const h = failoverHarness();
  const { clock, lock, stores, authority, config } = h;
  const paths = h.deps.paths;
  const violations: string[] = [];
  const violate = (what: string) => violations.push(what);
  /** Every cluster ever claimed for an epoch: one per epoch. */
  const claimed = new Map<number, 'primary' | 'secondary'>();
  /** What each epoch's claim holds back (`role@cluster`, or `none`). */
  const heldBack = new Map<number, string>();
  const failbackStages = { holdback: false, final: false };
  /** Texts of the active parameter and secret that writers (not hands) wrote, oldest first: what "older" restores. */
  const history = { parameter: [] as string[], secret: [] as string[] };
  const writerActors = new Set<string>();
  /** Scheduler actor (one attempt) -> the holder id it writes as. */
  const holders = new Map<string, string>();
  let highestAuthority = -1;

  const recordClaims = () => {
    const r = authority.record;
    if (r === undefined) return;
    const before = claimed.get(r.epoch);
    if (before !== undefined && before !== r.cluster) {
      violate(`one cluster per epoch: epoch ${r.epoch} claimed for ${before} and for ${r.cluster}`);
    }
    claimed.set(r.epoch, r.cluster);
    if (r.writer.kind === 'failback') {
      if (r.config.holdback !== undefined) failbackStages.holdback = true;
      else failbackStages.final = true;
    }
    const hb = r.config.holdback;
    heldBack.set(r.epoch, hb === undefined ? 'none' : `${hb.role}@${hb.cluster}`);
    if (r.epoch < highestAuthority) {
      violate(`the authority went back from epoch ${highestAuthority} to ${r.epoch}`);
    }
    highestAuthority = Math.max(highestAuthority, r.epoch);
  };

  h.deps.readLag = async () => ({
    measuredAt: new Date(clock.now() - 1_000).toISOString(),
    backlogRecords: 0,
    lagSeconds: 0,
    topics: [],
  });
  const quietLogger = { info: () => {}, warn: () => {}, error: () => {} };
  h.deps.logger = quietLogger;

  // The deployment before the actors: epoch 0 on the primary, and for `secondary` a completed failover (epoch 1).
  const init = await initialiseActiveConfig(
    { requestedBy: 'model' },
    {
      config,
      stores,
      paths,
      fencing: { lock, authority, versions: stores.versions },
      holder: 'init',
      now: clock.now,
    },
  );
  if (init.status !== 'initialised') violate(`setup: initialise answered ${init.status}`);
  recordClaims();
  const remember = () => {
    const p = stores.params.get(paths.activeParameter)?.value;
    const s = stores.secretValues.get(paths.activeCredentialsSecret);
    if (p !== undefined && history.parameter.at(-1) !== p) history.parameter.push(p);
    if (s !== undefined && history.secret.at(-1) !== s) history.secret.push(s);
  };
  remember();
  if (scenario.start === 'secondary') {
    const r = await runFailover(
      {
        trigger: 'manual',
        reason: 'setup',
        requestedBy: 'model',
        dryRun: false,
        force: false,
        invocationId: 'setup',
      },
      h.deps,
    );
    if (r.status !== 'switched') violate(`setup: failover answered ${r.status}`);
    recordClaims();
    remember();
  }

  const sched = new Scheduler(clock, scenario.choices, lock.leaseMs);
  /** Per actor: the active parameter, secret and plain parameter as it last read them. */
  const lastRead = new Map<string, Map<string, string | undefined>>();
  const gated = gatedWorld(h, sched, {
    afterRead: (actor, name, value) => {
      const seen = lastRead.get(actor) ?? new Map<string, string | undefined>();
      seen.set(name, value);
      lastRead.set(actor, seen);
    },
    beforeClaim: (actor, request) => {
      // Failback claims a stage only from its starting point read consistent (never over a torn or regressed read).
      if (request.writer.kind !== 'failback' || !writerActors.has(actor)) return;
      const seen = lastRead.get(actor);
      const p = seen?.get(paths.activeParameter);
      const s = seen?.get(paths.activeCredentialsSecret);
      const parameter = p === undefined ? undefined : parseHalf(p);
      const secret = s === undefined ? undefined : parseHalf(s, true);
      const from = request.epoch - 1;
      const consistent =
        parameter !== undefined &&
        secret !== undefined &&
        parameter.epoch === from &&
        secret.epoch === from &&
        parameter.cluster === secret.cluster &&
        parameter.holdback === secret.holdback &&
        p !== undefined &&
        seen?.get(paths.activeBootstrapParameter) === parseBootstrap(p);
      if (!consistent) {
        const half = (x: typeof parameter) =>
          x === undefined ? 'absent/garbage' : `${x.epoch} (${x.cluster}, holdback ${x.holdback})`;
        violate(
          `${actor} claimed failback epoch ${request.epoch} after reading parameter ${half(parameter)}, secret ${half(secret)}: not a consistent epoch ${from}`,
        );
      }
    },
    beforeWrite: (actor, name, value) => {
      if (!writerActors.has(actor)) return;
      fenceAtIssue(actor, name, value);
    },
    afterWrite: (actor, name, value) => {
      if (!writerActors.has(actor)) return;
      if (name === paths.activeParameter) history.parameter.push(value);
      if (name === paths.activeCredentialsSecret) history.secret.push(value);
    },
  });

  /** A writer starts a store write only while it holds the authority's current claim and a live lease. */
  function fenceAtIssue(sub: string, name: string, value: string): void {
    const actor = holders.get(sub) ?? sub;
    const r = authority.record;
    const where = `${sub} wrote ${name === paths.activeParameter ? 'the parameter' : name === paths.activeCredentialsSecret ? 'the secret' : name}`;
    if (r === undefined || r.holder !== actor || r.state !== 'claimed') {
      violate(`fencing: ${where} without holding the authority's claim (held by ${r?.holder}, ${r?.state})`);
      return;
    }
    if (lock.holder !== actor || lock.leaseUntil < clock.now()) {
      violate(`fencing: ${where} without a live lease (lock held by ${lock.holder})`);
      return;
    }
    if (name === paths.activeParameter || name === paths.activeCredentialsSecret) {
      const half = parseHalf(value, name === paths.activeCredentialsSecret);
      if (
        half === undefined ||
        half.epoch !== r.epoch ||
        half.cluster !== r.cluster ||
        half.holdback !== r.config.holdback?.cluster
      ) {
        violate(
          `fencing: ${where} of epoch ${half?.epoch} (${half?.cluster}, holdback ${half?.holdback}); the claim is ${r.epoch} (${r.cluster}, holdback ${r.config.holdback?.cluster})`,
        );
      }
    }
  }

  function secondaryActive(): boolean {
    const r = authority.record;
    return r?.cluster === 'secondary' && r.state === 'written';
  }

  const noCrash = new Set<string>();
  const running: Array<{ name: string; done: boolean; run: Promise<void> }> = [];
  scenario.actors.forEach((actor, i) => {
    const name = `${actor.kind}#${i}`;
    if (actor.kind === 'reader') noCrash.add(name);
    const entry = { name, done: false, run: Promise.resolve() };
    entry.run = runActor(name, actor)
      .catch((e: unknown) => {
        if (!expectedFailure(e)) violate(`${name} failed unexpectedly: ${describe(e)}`);
      })
      .finally(() => {
        entry.done = true;
      });
    running.push(entry);
  });

  async function runActor(name: string, actor: Actor): Promise<void> {
    if (actor.kind === 'failback') {
      const run: FailbackSwitchRun = { durable: undefined };
      // The operator starts failback once a failover made the secondary active: looks a minute apart, a few times.
      for (let look = 0; look < 10 && !secondaryActive(); look++)
        await sched.wait(name, clock.now() + 60_000);
      const start = clock.now();
      for (let attempt = 1; attempt <= actor.attempts; attempt++) {
        if (attempt > 1) await sched.wait(name, start + (attempt - 1) * 60_000);
        const sub = `${name}.${attempt}`;
        writerActors.add(sub);
        holders.set(sub, sub);
        const invocation = invokeFailbackSwitch({
          run,
          suffix: name.replace('#', ''),
          holder: sub,
          deps: gated.deps(sub),
          journal: gated.failbackJournal(sub),
          sched,
          clock,
        }).catch((e: unknown) => {
          if (!expectedFailure(e)) violate(`${sub} failed unexpectedly: ${describe(e)}`);
        });
        await Promise.race([invocation, sched.crash(sub)]);
      }
      return;
    }
    if (
      actor.kind === 'failover' ||
      actor.kind === 'refresh' ||
      actor.kind === 'repair' ||
      actor.kind === 'probe'
    ) {
      const start = clock.now();
      for (let attempt = 1; attempt <= actor.attempts; attempt++) {
        if (attempt > 1) await sched.wait(name, start + (attempt - 1) * 60_000);
        const sub = `${name}.${attempt}`;
        writerActors.add(sub);
        holders.set(sub, name);
        const invocation = invoke(sub, name, actor.kind).catch((e: unknown) => {
          if (!expectedFailure(e)) violate(`${sub} failed unexpectedly: ${describe(e)}`);
        });
        await Promise.race([invocation, sched.crash(sub)]);
      }
      return;
    }
    const deps = gated.deps(name);
    switch (actor.kind) {
      case 'hand-edit':
        await handEdit(name, deps.stores, actor);
        return;
      case 'reader':
        await read(name, deps.stores, actor.polls);
        return;
    }
  }

  function maintenance(name: string, deps: FailoverDeps, operation: MaintenanceRequest['operation']) {
    return runMaintenance({ operation, reason: 'model', requestedBy: 'model', force: true }, name, {
      paths,
      stores: deps.stores,
      versions: deps.versions,
      lock: deps.lock,
      authority: deps.authority,
      clock,
      logger: quietLogger,
    });
  }

  /** One cycle of the probe's watch of the active configuration; its ask runs the repair (as the failover function). */
  function invoke(sub: string, holder: string, kind: 'failover' | 'refresh' | 'repair' | 'probe') {
    const deps = gated.deps(sub);
    switch (kind) {
      case 'failover':
        return runFailover(
          {
            trigger: 'manual',
            reason: 'model',
            requestedBy: 'model',
            dryRun: false,
            force: false,
            invocationId: holder,
          },
          deps,
        );
      case 'refresh':
      case 'repair':
        return maintenance(holder, deps, kind === 'repair' ? 'repair' : 'refresh-credentials');
      case 'probe':
        return probeCycle(holder, deps);
    }
  }

  async function probeCycle(name: string, deps: FailoverDeps) {
    const watch = new ActiveWatch({
      stores: deps.stores,
      versions: deps.versions,
      authority: deps.authority,
      paths,
      logger: quietLogger,
      ask: async (request) => {
        await maintenance(name, deps, request.action);
      },
    });
    return watch.observe(clock.now());
  }

  async function handEdit(name: string, target: Stores, actor: Extract<Actor, { kind: 'hand-edit' }>) {
    const isParameter = actor.half === 'parameter';
    const texts = isParameter ? history.parameter : history.secret;
    const nowText = isParameter
      ? stores.params.get(paths.activeParameter)?.value
      : stores.secretValues.get(paths.activeCredentialsSecret);
    let text: string;
    if (actor.edit === 'garbage') text = isParameter ? '{"epoch": 3, "cluster": "prim' : 'not json at all';
    else if (actor.edit === 'older') text = texts.find((t) => t !== nowText) ?? 'null';
    else {
      const parsed = nowText === undefined ? undefined : (JSON.parse(nowText) as Record<string, unknown>);
      const other = parsed?.cluster === 'primary' ? 'secondary' : 'primary';
      text = JSON.stringify({ ...parsed, cluster: other, ...(isParameter ? { alias: other } : {}) });
    }
    if (isParameter) await target.parameters.put(paths.activeParameter, text);
    else await target.secrets.put(paths.activeCredentialsSecret, new Redacted(text));
    void name;
  }

  /** The client library's watcher: never a torn pair, never an epoch below one it accepted, never another cluster. */
  async function read(name: string, target: Stores, polls: number) {
    const readerClock: Clock = {
      now: clock.now,
      sleep: async (ms, signal) => {
        // The background loop's interval (huge here) waits for stop(); torn-read backoffs pass on the fake clock.
        if (ms >= 1e8) {
          if (signal === undefined || signal.aborted) return;
          await new Promise<void>((resolve) =>
            signal.addEventListener('abort', () => resolve(), { once: true }),
          );
          return;
        }
        clock.t += ms;
      },
      random: () => 0.5,
    };
    const watcher = new ActiveConfigWatcher({
      deployment: config.name,
      stores: target,
      kafka: { clientId: 'model' },
      intervalMs: 1e9,
      jitter: 0,
      clock: readerClock,
      logger: quietLogger,
      onError: () => {},
    });
    let accepted = -1;
    const check = () => {
      const c = watcher.current();
      if (c.epoch < accepted) violate(`${name} accepted epoch ${c.epoch} after epoch ${accepted}`);
      accepted = Math.max(accepted, c.epoch);
      const owner = claimed.get(c.epoch);
      if (owner !== c.cluster)
        violate(`${name} accepted epoch ${c.epoch} on ${c.cluster}; that epoch was claimed for ${owner}`);
      // Each role connects where its view says with that cluster's credentials: with a holdback, a parameter and a
      // secret that disagree on it would give the held-back role the active cluster's credentials (or none).
      for (const role of ['producers', 'consumers'] as const) {
        const view = roleView(c, role);
        const ssl = view.kafka.reveal().ssl;
        const cert = typeof ssl === 'object' && ssl !== null ? String((ssl as { cert?: unknown }).cert) : '';
        if (!cert.includes(`${view.cluster.toUpperCase()}-CERT`)) {
          violate(
            `${name} accepted epoch ${c.epoch}: its ${role} go to ${view.cluster} with another cluster's credentials (torn)`,
          );
        }
      }
      const held = heldBack.get(c.epoch);
      const sees = c.holdback === undefined ? 'none' : `${c.holdback.role}@${c.holdback.cluster}`;
      if (held !== undefined && held !== sees) {
        violate(
          `${name} accepted epoch ${c.epoch} holding back ${sees}; that epoch was claimed holding back ${held}`,
        );
      }
    };
    try {
      await watcher.start();
    } catch {
      return; // nothing consistent to start from (torn past the deadline, garbage): it accepted nothing
    }
    check();
    for (let i = 0; i < polls; i++) {
      await watcher.poll();
      check();
    }
    await watcher.stop();
  }

  let steps = 0;
  for (; steps < MAX_STEPS; steps++) {
    await sched.settle();
    recordClaims();
    if (!sched.step(noCrash)) break;
  }
  await sched.settle();
  await sched.drain();
  await sched.settle();
  recordClaims();

  // Every writer stopped or crashed, whatever was on the wire landed; every lease and switch deadline passes.
  clock.t += lock.leaseMs + 61_000;
  const ungated = gated.deps('final');
  if (scenario.ending === 'failover') {
    try {
      const r = await runFailover(
        {
          trigger: 'manual',
          reason: 'final',
          requestedBy: 'model',
          dryRun: false,
          force: false,
          invocationId: 'final-failover',
        },
        ungated,
      );
      recordClaims();
      const atRest = rawAtRest();
      if (r.status !== 'switched' && r.status !== 'already-active') {
        violate(
          `final failover answered ${r.status}${r.status === 'refused' ? `: ${r.reasons.map((x) => x.code).join(', ')}` : ''}`,
        );
      } else if (atRest.parameter?.cluster !== 'secondary' || !agrees(atRest)) {
        violate(`final failover left ${describeRaw(atRest)}, not the secondary consistently`);
      }
    } catch (e: unknown) {
      violate(`final failover failed: ${describe(e)}`);
    }
    clock.t += lock.leaseMs + 61_000;
  }
  const before = rawAtRest();
  const wrong = !agrees(before);
  const observation = await probeCycle('final-probe', ungated).catch((e: unknown) => {
    violate(`final probe failed: ${describe(e)}`);
    return undefined;
  });
  recordClaims();
  if (observation !== undefined) {
    if (wrong && observation.state !== 'needs-repair') {
      violate(`the probe judged ${observation.state} what is torn or regressed: ${describeRaw(before)}`);
    }
    if (!wrong && observation.state !== 'ok')
      violate(`the probe judged ${observation.state} a consistent ${describeRaw(before)}`);
  }
  const after = rawAtRest();
  if (!agrees(after)) violate(`after the probe's repair: ${describeRaw(after)}`);

  return { violations, trace: sched.trace, steps, failbackStages };

  /** What is at rest, read without the product's code. */
  function rawAtRest() {
    const p = stores.params.get(paths.activeParameter)?.value;
    const s = stores.secretValues.get(paths.activeCredentialsSecret);
    return {
      parameter: p === undefined ? undefined : parseHalf(p),
      /** The parameter is exactly the authority's configuration (a hand edit may restore an older text of its epoch). */
      exact:
        p !== undefined &&
        authority.record !== undefined &&
        p === activeParameterText(authority.record.config),
      secret: s === undefined ? undefined : parseHalf(s, true),
      plain: stores.params.get(paths.activeBootstrapParameter)?.value,
      bootstrap: p === undefined ? undefined : parseBootstrap(p),
    };
  }

  /** Parameter, secret and plain parameter agree with each other and with the authority's epoch and cluster. */
  function agrees(a: ReturnType<typeof rawAtRest>): boolean {
    const r = authority.record;
    return (
      r !== undefined &&
      a.parameter !== undefined &&
      a.secret !== undefined &&
      a.parameter.epoch === r.epoch &&
      a.secret.epoch === r.epoch &&
      a.parameter.cluster === r.cluster &&
      a.secret.cluster === r.cluster &&
      a.parameter.holdback === r.config.holdback?.cluster &&
      a.secret.holdback === r.config.holdback?.cluster &&
      a.plain === a.bootstrap &&
      a.exact
    );
  }

  function describeRaw(a: ReturnType<typeof rawAtRest>): string {
    const half = (h: { epoch: number; cluster: string; holdback: string | undefined } | undefined) =>
      h ? `${h.epoch} (${h.cluster}${h.holdback ? `, holdback ${h.holdback}` : ''})` : 'absent/garbage';
    const r = authority.record;
    return `parameter ${half(a.parameter)}${a.exact ? '' : " (not the authority's text)"}, secret ${half(a.secret)}, plain ${a.plain === a.bootstrap ? 'matching' : 'differing'}; authority ${r?.epoch} (${r?.cluster}, ${r?.state})`;
  }
}

function parseHalf(
  text: string,
  secret = false,
): { epoch: number; cluster: 'primary' | 'secondary'; holdback: string | undefined } | undefined {
  try {
    const parsed = (secret ? activeCredentialsSchema : activeConfigSchema).safeParse(JSON.parse(text));
    // Both halves name the held-back cluster: the parameter routes a role there, the secret holds its credentials.
    return parsed.success
      ? { epoch: parsed.data.epoch, cluster: parsed.data.cluster, holdback: parsed.data.holdback?.cluster }
      : undefined;
  } catch {
    return undefined;
  }
}

function parseBootstrap(text: string): string | undefined {
  try {
    const parsed = activeConfigSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.bootstrapServers.join(',') : undefined;
  } catch {
    return undefined;
  }
}

/** Failures an actor may end with: refusals, lost claims or leases, the injected faults. */
function expectedFailure(e: unknown): boolean {
  if (e instanceof Mm2FailoverError || e instanceof ThrottledError || e instanceof HungCallError) return true;
  // The fake journal's conditional failures (DynamoDB's ConditionalCheckFailed), raised as plain errors.
  return e instanceof Error && /is not in progress|was already started|run \S+ exists/.test(e.message);
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

interface WriteHooks {
  afterRead(actor: string, name: string, value: string | undefined): void;
  beforeClaim(actor: string, request: Parameters<EpochAuthority['claim']>[0]): void;
  beforeWrite(actor: string, name: string, value: string): void;
  afterWrite(actor: string, name: string, value: string): void;
}

/** Per actor: the harness's failover deps with every store, authority, lock and journal call gated. */
function gatedWorld(h: Harness, sched: Scheduler, hooks: WriteHooks) {
  const runs = new MemoryRunJournal(h.lock);
  const deps = (actor: string): FailoverDeps => {
    const g = <T>(label: string, kind: CallKind, apply: () => Promise<T>) =>
      sched.gate(actor, label, kind, apply);
    const stores: Stores = {
      parameters: {
        get: (name) =>
          g(`get ${short(name)}`, 'read', async () => {
            const r = await h.stores.parameters.get(name);
            hooks.afterRead(actor, name, r?.value);
            return r;
          }),
        put: (name, value, options) => {
          hooks.beforeWrite(actor, name, value);
          return g(`put ${short(name)}`, 'write', async () => {
            const r = await h.stores.parameters.put(name, value, options);
            hooks.afterWrite(actor, name, value);
            return r;
          });
        },
      },
      secrets: {
        get: (name) =>
          g(`get secret ${short(name)}`, 'read', async () => {
            const r = await h.stores.secrets.get(name);
            hooks.afterRead(actor, name, r?.reveal());
            return r;
          }),
        put: (name, value, options) => {
          hooks.beforeWrite(actor, name, value.reveal());
          return g(`put secret ${short(name)}`, 'write', async () => {
            await h.stores.secrets.put(name, value, options);
            hooks.afterWrite(actor, name, value.reveal());
          });
        },
      },
    };
    const versions: SecretVersions = {
      version: (name) => g(`version ${short(name)}`, 'read', () => h.stores.versions.version(name)),
    };
    const a = h.authority;
    const authority: EpochAuthority = {
      read: () => g('authority read', 'read', () => a.read()),
      claim: (r) => {
        hooks.beforeClaim(actor, r);
        return g(`authority claim ${r.epoch}`, 'transaction', () => a.claim(r));
      },
      takeOver: (c, holder) => g(`authority takeOver ${c.epoch}`, 'transaction', () => a.takeOver(c, holder)),
      check: (c) => g(`authority check ${c.record.epoch}`, 'transaction', () => a.check(c)),
      restamp: (c, at) => g(`authority restamp ${c.record.epoch}`, 'transaction', () => a.restamp(c, at)),
      complete: (c, at) => g(`authority complete ${c.record.epoch}`, 'transaction', () => a.complete(c, at)),
    };
    const lock: DeploymentLock = {
      acquire: (holder) => g('lock acquire', 'transaction', () => h.lock.acquire(holder)),
      release: (holder) => g('lock release', 'transaction', () => h.lock.release(holder)),
    };
    const j = h.journal;
    const journal: RunJournal = {
      latest: () => g('journal latest', 'read', () => j.latest()),
      begin: (runId, plan, holder) => g('journal begin', 'transaction', () => j.begin(runId, plan, holder)),
      recordStep: (runId, step, result, holder) =>
        g(`journal ${step}`, 'transaction', () => j.recordStep(runId, step, result, holder)),
      finish: (runId, status, outcome, holder) =>
        g('journal finish', 'transaction', () => j.finish(runId, status, outcome, holder)),
    };
    return { ...h.deps, stores, versions, authority, lock, journal };
  };
  /** Failback's run journal (one per deployment, fenced by the same lock), gated for `actor`. */
  const failbackJournal = (actor: string): RunJournal => {
    const g = <T>(label: string, apply: () => Promise<T>) => sched.gate(actor, label, 'transaction', apply);
    const j = runs;
    return {
      latest: () => sched.gate(actor, 'failback journal latest', 'read', () => j.latest()),
      begin: (runId, plan, holder) => g('failback journal begin', () => j.begin(runId, plan, holder)),
      recordStep: (runId, step, result, holder) =>
        g(`failback journal ${step}`, () => j.recordStep(runId, step, result, holder)),
      finish: (runId, status, outcome, holder) =>
        g('failback journal finish', () => j.finish(runId, status, outcome, holder)),
    };
  };
  return { deps, failbackJournal };
}

function short(name: string): string {
  return name.replace(/^\/mm2-failover\/[^/]+\//, '');
}
