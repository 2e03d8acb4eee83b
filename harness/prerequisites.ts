import { execFile } from 'node:child_process';

/**
 * The programs the local runtime needs from the machine, checked before anything is downloaded or started, so
 * that a newcomer learns everything that is missing at once, with the Debian package that brings it, instead of
 * a Maven or pip stack trace halfway through a fifteen-minute download.
 */

/** Runs `command args` and says whether it exited 0, with what it printed (stdout and stderr). */
type CommandProbe = (command: string, args: readonly string[]) => Promise<CommandOutcome>;

interface CommandOutcome {
  ok: boolean;
  output: string;
}

/** What this start of the harness will do, hence what it needs. */
interface PrerequisiteNeeds {
  /** Kafka's jars are not cached yet: Maven fetches them. */
  downloadKafka: boolean;
  /** moto is wanted and not installed yet: a Python venv and pip install it. */
  installMoto: boolean;
  /** The mTLS listener: openssl generates its certificates. */
  tls: boolean;
}

interface Prerequisite {
  name: string;
  /** Why the harness needs it, said with what is missing. */
  neededFor: string;
  debianPackage: string;
  /** Undefined when present and usable; otherwise what was found. */
  check(probe: CommandProbe): Promise<string | undefined>;
}

/** Kafka 4 brokers and Connect run on Java 17 or newer. */
const MIN_JAVA = 17;

const java: Prerequisite = {
  name: `java (${MIN_JAVA} or newer)`,
  neededFor: 'the Kafka brokers and MirrorMaker 2',
  debianPackage: 'default-jre-headless',
  async check(probe) {
    const r = await probe('java', ['-version']);
    if (!r.ok) return notRunnable('java', r);
    const major = javaMajor(r.output);
    if (major === undefined) return `could not read a version in 'java -version': ${firstLine(r.output)}`;
    return major >= MIN_JAVA ? undefined : `java ${major} found`;
  },
};

const maven: Prerequisite = {
  name: 'mvn (Apache Maven)',
  neededFor: "the one-time download of Kafka's jars from Maven Central",
  debianPackage: 'maven',
  async check(probe) {
    const r = await probe('mvn', ['--version']);
    return r.ok ? undefined : notRunnable('mvn', r);
  },
};

const python: Prerequisite = {
  name: 'python3',
  neededFor: 'the one-time install of the moto AWS emulator',
  debianPackage: 'python3',
  async check(probe) {
    const r = await probe('python3', ['--version']);
    return r.ok ? undefined : notRunnable('python3', r);
  },
};

const venv: Prerequisite = {
  name: 'python3 venv (with ensurepip)',
  neededFor: "moto's project-local virtual environment",
  debianPackage: 'python3-venv',
  async check(probe) {
    // Debian's python3 has the venv module but not ensurepip, without which `python3 -m venv` fails.
    const r = await probe('python3', ['-c', 'import venv, ensurepip']);
    return r.ok ? undefined : `python3 cannot create a venv: ${firstLine(r.output)}`;
  },
};

const openssl: Prerequisite = {
  name: 'openssl',
  neededFor: "the clusters' mTLS certificates",
  debianPackage: 'openssl',
  async check(probe) {
    const r = await probe('openssl', ['version']);
    return r.ok ? undefined : notRunnable('openssl', r);
  },
};

interface MissingPrerequisite {
  name: string;
  neededFor: string;
  found: string;
  debianPackage: string;
}

/** Every prerequisite this start needs that the machine lacks (empty when all are there). */
async function missingPrerequisites(
  needs: PrerequisiteNeeds,
  probe: CommandProbe = runCommand,
): Promise<MissingPrerequisite[]> {
  const wanted = [
    java,
    ...(needs.downloadKafka ? [maven] : []),
    ...(needs.installMoto ? [python] : []),
    ...(needs.tls ? [openssl] : []),
  ];
  const missing: MissingPrerequisite[] = [];
  for (const p of wanted) {
    const found = await p.check(probe);
    if (found !== undefined) missing.push(describe(p, found));
  }
  // Without python3 there is no point asking it for venv: python3-venv is named once python3 is there.
  if (needs.installMoto && !missing.some((m) => m.name === python.name)) {
    const found = await venv.check(probe);
    if (found !== undefined) missing.push(describe(venv, found));
  }
  return missing;
}

/** The error text for what is missing: each program, why it is needed, what was found, and the install line. */
function missingPrerequisitesMessage(missing: readonly MissingPrerequisite[]): string {
  const lines = missing.map((m) => `  - ${m.name}, for ${m.neededFor}: ${m.found}`);
  const packages = [...new Set(missing.map((m) => m.debianPackage))].join(' ');
  return [
    `the local runtime needs ${missing.length === 1 ? 'a program' : 'programs'} this machine lacks:`,
    ...lines,
    `on Debian or Ubuntu: sudo apt-get update && sudo apt-get install -y ${packages}`,
  ].join('\n');
}

/** Throws, naming everything missing at once, unless every prerequisite this start needs is there. */
export async function assertPrerequisites(
  needs: PrerequisiteNeeds,
  probe: CommandProbe = runCommand,
): Promise<void> {
  const missing = await missingPrerequisites(needs, probe);
  if (missing.length > 0) throw new Error(missingPrerequisitesMessage(missing));
}

function describe(p: Prerequisite, found: string): MissingPrerequisite {
  return { name: p.name, neededFor: p.neededFor, found, debianPackage: p.debianPackage };
}

/** `java -version` prints `openjdk version "17.0.12"` (or `"1.8.0_412"` for Java 8) on stderr. */
function javaMajor(output: string): number | undefined {
  const v = /version "(\d+)(?:\.(\d+))?/.exec(output);
  if (!v) return undefined;
  const first = Number(v[1]);
  return first === 1 && v[2] !== undefined ? Number(v[2]) : first;
}

function notRunnable(command: string, r: CommandOutcome): string {
  return r.output.includes('ENOENT')
    ? `'${command}' not found on PATH`
    : `'${command}' failed: ${firstLine(r.output)}`;
}

const firstLine = (s: string): string => s.trim().split('\n')[0] ?? '';

function runCommand(command: string, args: readonly string[]): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 30_000 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error === null) resolve({ ok: true, output });
      else {
        const code = (error as NodeJS.ErrnoException).code;
        resolve({ ok: false, output: code === 'ENOENT' ? 'ENOENT' : output || error.message });
      }
    });
  });
}
