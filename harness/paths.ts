import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the harness lives in `harness/`. */
export const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/** Git-ignored folder for downloads (Kafka jars, the moto venv, Maven's repository) and harness runs. */
export const cacheDir = path.join(repoRoot, '.cache');
