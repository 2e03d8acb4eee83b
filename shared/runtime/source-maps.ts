import { readFileSync } from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Stack traces of a bundled function, mapped to the source files and lines when a trace is formatted rather
 * than when the bundle loads.
 *
 * `--enable-source-maps` reads and parses the bundle's source map and scans the whole bundle for line breaks
 * while the bundle is being imported, on every cold start (30-60 ms of CPU for these 0.5-1 MB bundles on the
 * bench machine), whether or not a stack trace is ever formatted. This maps every stack trace Node formats
 * (the Lambda runtime's report of a thrown error, `error.stack` anywhere) the way `--enable-source-maps`
 * does: a frame of the bundle becomes `name (source path:line:column)` in the original file, named as Node
 * names it from the map; the map is read for the first trace that has a frame in the bundle, then kept.
 * Frames of other files, and every frame when the map cannot be read, stay as V8 wrote them, and the
 * header line (`TypeError [ERR_X]: message`) is still Node's.
 *
 * One difference: the source excerpt Node prints above an uncaught exception before exiting stays unmapped
 * (the Lambda runtime catches every error itself and reports the mapped trace).
 */
export interface LazySourceMapOptions {
  /** `import.meta.url` of the bundle: its map is `<bundle>.map`. */
  bundleUrl: string;
  /** Reads the map file (a test counts the reads). */
  readMap?: (path: string) => string;
}

type Format = (error: Error, sites: NodeJS.CallSite[]) => unknown;

/** What `SourceMap.findEntry` returns at run time (`@types/node` leaves out `name`). */
interface Entry {
  originalSource?: string;
  originalLine?: number;
  originalColumn?: number;
  name?: string;
}

/**
 * Install the mapping formatter in front of the current `Error.prepareStackTrace` (Node's default). Returns
 * false and changes nothing when Node maps stack traces itself (`--enable-source-maps`).
 */
export function installLazySourceMaps(options: LazySourceMapOptions): boolean {
  if (process.sourceMapsEnabled) return false;
  const { bundleUrl } = options;
  const mapUrl = `${bundleUrl}.map`;
  const readMap = options.readMap ?? ((path: string) => readFileSync(path, 'utf8'));
  // undefined: not read yet; null: unreadable, so frames stay as they are.
  let map: SourceMap | null | undefined;
  const sourceMap = (): SourceMap | null => {
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readMap(fileURLToPath(mapUrl))) as SourceMapPayload);
      } catch {
        map = null;
      }
    }
    return map;
  };
  const paths = new Map<string, string>();
  const sourcePath = (source: string): string => {
    let resolved = paths.get(source);
    if (resolved === undefined) {
      // Relative to the map, as Node resolves them; printed as a path, as Node prints them.
      const url = new URL(source, mapUrl);
      resolved = url.protocol === 'file:' ? fileURLToPath(url) : url.href;
      paths.set(source, resolved);
    }
    return resolved;
  };
  const entry = (line: number | null, column: number | null): Entry =>
    line === null || column === null ? {} : ((sourceMap()?.findEntry(line - 1, column - 1) ?? {}) as Entry);

  /** Node's `getOriginalSymbolName`: the enclosing function's name in the map, else the caller's call site's. */
  const originalName = (sites: NodeJS.CallSite[], i: number): string | undefined => {
    const site = sites[i] as NodeJS.CallSite;
    const enclosing = entry(site.getEnclosingLineNumber(), site.getEnclosingColumnNumber());
    if (enclosing.name) return enclosing.name;
    const next = sites[i + 1];
    if (next && next.getFileName() === site.getFileName()) {
      return entry(next.getLineNumber(), next.getColumnNumber()).name;
    }
    return undefined;
  };

  /** The frame as `--enable-source-maps` writes it (Node's `serializeJSStackFrame`), or undefined to leave it. */
  const mappedFrame = (sites: NodeJS.CallSite[], i: number): string | undefined => {
    const site = sites[i] as NodeJS.CallSite;
    if (site.getFileName() !== bundleUrl) return undefined;
    const found = entry(site.getLineNumber(), site.getColumnNumber());
    const { originalSource, originalLine, originalColumn } = found;
    if (!originalSource || originalLine === undefined || originalColumn === undefined) return undefined;
    const name = originalName(sites, i);
    const fnName = site.getFunctionName() ?? site.getMethodName();
    const prefix = site.isAsync() ? 'async ' : site.isConstructor() ? 'new ' : '';
    const typeName = site.getTypeName();
    const generatedName = `${typeName !== null && typeName !== 'global' ? `${typeName}.` : ''}${fnName || '<anonymous>'}`;
    const shownName = name && name !== generatedName ? name : generatedName;
    return `${prefix}${shownName} (${sourcePath(originalSource)}:${originalLine + 1}:${originalColumn + 1})`;
  };

  const format: Format | undefined = Error.prepareStackTrace;
  Error.prepareStackTrace = (error: Error, sites: NodeJS.CallSite[]): unknown => {
    let frames: NodeJS.CallSite[] = sites;
    try {
      frames = sites.map((site, i) => {
        const text = mappedFrame(sites, i);
        return text === undefined ? site : withText(site, text);
      });
    } catch {
      frames = sites;
    }
    return format ? format(error, frames) : defaultFormat(error, frames);
  };
  return true;
}

/** The call site, printing as `text`; every other method still answers for the bundle's frame. */
function withText(site: NodeJS.CallSite, text: string): NodeJS.CallSite {
  const copy: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(Object.getPrototypeOf(site))) {
    const value: unknown = Reflect.get(site, key);
    if (key !== 'constructor' && typeof value === 'function') copy[key] = value.bind(site);
  }
  copy.toString = () => text;
  return copy as unknown as NodeJS.CallSite;
}

/** V8's format, for a Node without a default `Error.prepareStackTrace` to hand the frames to. */
function defaultFormat(error: Error, sites: NodeJS.CallSite[]): string {
  let header: string;
  try {
    header = Error.prototype.toString.call(error);
  } catch {
    header = '<error>';
  }
  return sites.length === 0 ? header : `${header}\n    at ${sites.join('\n    at ')}`;
}
