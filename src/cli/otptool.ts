// `adc-cutover otptool -Host … -operation 2 …`: the vendor tool's options as operators type them.
// yargs would read `-Host` as the short flags -H -o -s -t, so this command takes its arguments
// raw and src/otptool reads them; main.ts's strict parsing does not apply here.
import type { Argv } from 'yargs';
import { confirm, isInteractive, promptSecret } from './input.js';

export function registerOtptool(cli: Argv, setCode: (code: number) => void): void {
  cli.command(
    'otptool',
    "the vendor OTP encryption tool's command line (-Host -Port -username -search_base -operation 0|1|2 …); otptool -help",
    (y) => y.strict(false).help(false).parserConfiguration({ 'unknown-options-as-args': true, 'parse-positional-numbers': false, 'short-option-groups': false }),
    async (argv) => {
      // Everything after the command name, exactly as typed (yargs keeps unknown options as positionals).
      const tokens = argv._.slice(1).map(String);
      // Loaded now, not with the definition: the tool's LDAP client and crypto are for this command only.
      const { runOtptool } = await import('../otptool/index.js');
      const ac = new AbortController();
      process.once('SIGINT', () => {
        process.stderr.write('\nstopping: finishing in-flight writes (Ctrl-C again to exit now)\n');
        ac.abort();
      });
      setCode(
        await runOtptool(tokens, {
          stdout: (t) => process.stdout.write(t),
          stderr: (t) => process.stderr.write(t),
          env: process.env,
          interactive: isInteractive(),
          promptSecret,
          confirm,
          signal: ac.signal,
        }),
      );
    },
  );
}
