import { installLazySourceMaps } from './source-maps.ts';

// esbuild injects this module ahead of everything else in every function bundle (infra/bundling.ts), so the
// bundle formats its own stack traces, errors thrown while it initializes included. Never imported by code.
installLazySourceMaps({ bundleUrl: import.meta.url });
