/**
 * `mm2-failover audit`: the standby readiness audit on demand, run in this process with the operator's own AWS
 * credentials (like `init`): the cluster definitions are read from SSM and Secrets Manager, the clusters,
 * Kafka Connect or Aiven and the registries are reached from here. With `--fix` it prints the calls that would
 * fix each finding; with `--apply` it makes them, then audits again. `--local` runs against the deployment
 * `mm2-failover local up` started.
 *
 * Exit code 0 when the standby is ready (after the fixes, with --apply), 1 when it is not.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { DeploymentConfig } from '#shared/config/schema.ts';
import type { AppliedCall } from '#shared/readiness/apply-fixes.ts';
import type { ReadinessReport } from '#shared/readiness/audit.ts';
import type { Finding } from '#shared/readiness/finding.ts';
import type { FixPlan } from '#shared/readiness/fix-plan.ts';
import { exitCodes } from './exit-code.ts';

export interface AuditOptions {
  local: boolean;
  /** The deployment config file (without --local). */
  config: string;
  region: string | undefined;
  json: boolean;
  fix: boolean;
  apply: boolean;
}

export interface AuditIo {
  /** The local deployment `local up` describes. */
  localFile: string;
  out(text: string): void;
  /** A usage error: the dispatcher prints it with the usage text and exits 2. */
  usage(message: string): never;
}

export async function auditCommand(options: AuditOptions, io: AuditIo): Promise<number> {
  if (options.apply && !options.fix) io.usage('audit: --apply makes the fixes --fix lists; give both');
  const { config, stores } = await deployment(options, io);
  const { ClusterConnections } = await import('#shared/health/cluster-connections.ts');
  const { readinessDependencies } = await import('#shared/readiness/dependencies.ts');
  const { planFixes } = await import('#shared/readiness/fix-plan.ts');
  const { applyFixes } = await import('#shared/readiness/apply-fixes.ts');

  const connections = new ClusterConnections({
    config,
    stores,
    clientId: `mm2-failover-${config.name}-audit`,
  });
  const wiring = readinessDependencies({
    config,
    kafkaConfig: (role) => connections.kafkaConfig(role),
    secrets: stores.secrets,
  });
  try {
    const report = await wiring.audit();
    const answer: Record<string, unknown> = { ready: report.ready, findings: report.findings };
    const text: string[] = [summary(config, report), ...report.findings.map(line)];
    let final = report;
    if (options.fix) {
      const plan = planFixes(report.findings);
      answer.fixes = { calls: plan.calls, manual: plan.manual.map(({ action: _a, ...f }) => f) };
      text.push('', ...describePlan(plan, options.apply));
      if (options.apply && plan.calls.length > 0) {
        const applied = await applyFixes(plan, wiring.fixes);
        final = await wiring.audit();
        answer.applied = applied;
        answer.after = { ready: final.ready, findings: final.findings };
        text.push('', ...applied.map(appliedLine), '', `after the fixes: ${summary(config, final)}`);
        text.push(...final.findings.map(line));
      }
    }
    io.out(options.json ? JSON.stringify(answer, null, 2) : text.join('\n'));
    return final.ready ? exitCodes.done : exitCodes.refusedOrFailed;
  } finally {
    await Promise.all([wiring.close(), connections.closeAll()]);
  }
}

async function deployment(options: AuditOptions, io: AuditIo) {
  const { createAwsStores } = await import('#shared/store/aws-stores.ts');
  if (options.local) {
    if (!existsSync(io.localFile)) {
      io.usage(`no local deployment: start one with 'mm2-failover local up' (${io.localFile} is missing)`);
    }
    const { loadDeploymentConfigFromEnv } = await import('#shared/config/load.ts');
    const env = (JSON.parse(readFileSync(io.localFile, 'utf8')) as { functionEnv: Record<string, string> })
      .functionEnv;
    Object.assign(process.env, env);
    return { config: loadDeploymentConfigFromEnv(env), stores: createAwsStores() };
  }
  const { loadDeploymentConfigFile } = await import('#shared/config/load.ts');
  return {
    config: loadDeploymentConfigFile(options.config),
    stores: createAwsStores(options.region ? { region: options.region } : {}),
  };
}

function summary(config: DeploymentConfig, report: ReadinessReport): string {
  const count = (s: Finding['severity']) => report.findings.filter((f) => f.severity === s).length;
  return (
    `standby readiness of ${config.name}: ${report.ready ? 'READY' : 'NOT READY'} ` +
    `(${count('error')} errors, ${count('warning')} warnings, ${count('info')} notes; audited in ${report.durationMs} ms)`
  );
}

function line(f: Finding): string {
  return (
    `  ${f.severity.padEnd(7)} ${f.code}${f.topic ? ` [${f.topic}]` : ''}: expected ${f.expected}; found ${f.found}\n` +
    `          fix: ${f.fix}`
  );
}

function describePlan(plan: FixPlan, applying: boolean): string[] {
  const out = [
    plan.calls.length === 0
      ? 'no fix can be made by a call'
      : `fixes (${plan.calls.length} call${plan.calls.length === 1 ? '' : 's'}${applying ? ', applying' : '; --apply makes them'}):`,
    ...plan.calls.map((c, i) => `  ${i + 1}. ${c.request}\n     fixes ${c.fixes.join(', ')}`),
  ];
  if (plan.manual.length > 0) {
    out.push(
      'for a person:',
      ...plan.manual.map((f) => `  - ${f.code}${f.topic ? ` [${f.topic}]` : ''}: ${f.fix}`),
    );
  }
  return out;
}

function appliedLine(a: AppliedCall): string {
  return a.outcome === 'applied' ? `  applied: ${a.request}` : `  FAILED:  ${a.request}: ${a.error ?? ''}`;
}
