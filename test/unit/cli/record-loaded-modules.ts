import { appendFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

/**
 * Preloaded with `node --import` by the CLI tests: appends the URL of every module the process loads (ES modules
 * and require() alike) to the file named by LOADED_MODULES_FILE, one per line.
 */
const file = process.env.LOADED_MODULES_FILE;
if (!file)
  throw new Error('LOADED_MODULES_FILE: expected the file to record loaded modules in, found nothing');
registerHooks({
  load(url, context, nextLoad) {
    appendFileSync(file, `${url}\n`);
    return nextLoad(url, context);
  },
});
