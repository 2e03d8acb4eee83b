import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertPrerequisites } from '#harness/prerequisites.ts';

type Probe = NonNullable<Parameters<typeof assertPrerequisites>[1]>;

/** A machine where each command answers as given; a command not listed is not on PATH. */
function machine(answers: Record<string, { ok: boolean; output: string }>): {
  probe: Probe;
  asked: string[];
} {
  const asked: string[] = [];
  const probe: Probe = async (command, args) => {
    const key = [command, ...args].join(' ');
    asked.push(key);
    return answers[key] ?? { ok: false, output: 'ENOENT' };
  };
  return { probe, asked };
}

const everything = {
  'java -version': { ok: true, output: 'openjdk version "21.0.5" 2024-10-15\nOpenJDK Runtime Environment' },
  'mvn --version': { ok: true, output: 'Apache Maven 3.9.9' },
  'python3 --version': { ok: true, output: 'Python 3.13.1' },
  'python3 -c import venv, ensurepip': { ok: true, output: '' },
  'openssl version': { ok: true, output: 'OpenSSL 3.5.1' },
};
const firstStart = { downloadKafka: true, installMoto: true, tls: true };

async function refusal(promise: Promise<void>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return (error as Error).message;
}

describe('harness prerequisites', () => {
  it('passes when every program the first start needs is there', async () => {
    const { probe, asked } = machine(everything);

    await expect(assertPrerequisites(firstStart, probe)).resolves.toBeUndefined();
    expect(asked).toEqual([
      'java -version',
      'mvn --version',
      'python3 --version',
      'openssl version',
      'python3 -c import venv, ensurepip',
    ]);
  });

  it('names every missing program at once, why it is needed, and the Debian packages that bring them', async () => {
    const { probe } = machine({ 'python3 --version': everything['python3 --version'] });

    const message = await refusal(assertPrerequisites(firstStart, probe));

    expect(message).toContain(
      "java (17 or newer), for the Kafka brokers and MirrorMaker 2: 'java' not found on PATH",
    );
    expect(message).toContain(
      "mvn (Apache Maven), for the one-time download of Kafka's jars from Maven Central",
    );
    expect(message).toContain("openssl, for the clusters' mTLS certificates: 'openssl' not found on PATH");
    expect(message).toContain('python3 venv (with ensurepip)');
    expect(message).not.toContain('  - python3,');
    expect(message).toContain(
      'sudo apt-get update && sudo apt-get install -y default-jre-headless maven openssl python3-venv',
    );
  });

  it('says python3 cannot make a venv when ensurepip is missing, as on a bare Debian', async () => {
    const { probe } = machine({
      ...everything,
      'python3 -c import venv, ensurepip': {
        ok: false,
        output: "Traceback (most recent call last):\nModuleNotFoundError: No module named 'ensurepip'",
      },
    });

    const message = await refusal(assertPrerequisites(firstStart, probe));

    expect(message).toContain('python3 cannot create a venv: Traceback (most recent call last):');
    expect(message).toContain('apt-get install -y python3-venv');
  });

  it('refuses a Java older than 17, reading both version styles', async () => {
    const java8 = machine({
      ...everything,
      'java -version': { ok: true, output: 'java version "1.8.0_412"' },
    });
    const java11 = machine({
      ...everything,
      'java -version': { ok: true, output: 'openjdk version "11.0.2"' },
    });

    expect(await refusal(assertPrerequisites(firstStart, java8.probe))).toContain('java 8 found');
    expect(await refusal(assertPrerequisites(firstStart, java11.probe))).toContain('java 11 found');
  });

  it('asks only for what this start needs once the downloads are cached and TLS is off', async () => {
    const { probe, asked } = machine({ 'java -version': everything['java -version'] });

    await assertPrerequisites({ downloadKafka: false, installMoto: false, tls: false }, probe);

    expect(asked).toEqual(['java -version']);
  });

  describe('against real commands', () => {
    let emptyDir: string | undefined;
    const savedPath = process.env.PATH;
    afterEach(() => {
      process.env.PATH = savedPath;
      if (emptyDir) rmSync(emptyDir, { recursive: true, force: true });
    });

    it('finds nothing on a PATH with nothing on it', async () => {
      emptyDir = mkdtempSync(path.join(tmpdir(), 'empty-path-'));
      process.env.PATH = emptyDir;

      const message = await refusal(assertPrerequisites(firstStart));

      for (const program of ['java', 'mvn', 'python3', 'openssl']) {
        expect(message).toContain(`'${program}' not found on PATH`);
      }
    });
  });
});
