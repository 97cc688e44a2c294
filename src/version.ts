// The release, from package.json (its one place): bundled into dist/main.js at build time.
import pkg from '../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
