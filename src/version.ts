// The release, from package.json (its one place): bundled into dist/main.js at build time.
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;

/** What `version` and `--version` print. */
export const VERSION_LINE = `namespace-isolation-controller ${VERSION}\n`;

/** The image the shipped manifests and the chart pull, at this version. */
export const IMAGE = `ghcr.io/namespace-isolation-controller/namespace-isolation-controller:${VERSION}`;
