// The single executable's entry (scripts/build-cli.ts): `version` answered before the rest of the
// bundle is evaluated, which is most of its start-up; everything else is main.ts.
import { VERSION_LINE } from './version.ts';

if (process.argv.length === 3 && process.argv[2] === 'version') process.stdout.write(VERSION_LINE);
else void import('./main.ts');
