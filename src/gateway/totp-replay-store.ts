// The machine-wide TOTP replay store: the TOTP steps gateways have accepted for a canary, kept
// on disk for every command on this machine. A gateway refuses a code it has already accepted, whoever sent it: a `logon-check` by
// hand, a run, its resume, a second run from another directory. When one of them sent this
// step's code, the next must wait for a fresh step, not fail the check ("code already used").
// Holds step numbers only, never a code.
//
// Where: one file per OS user under the system temp directory (os.tmpdir()/adc-cutover-<uid>/).
// Not under the state directory (.adc-cutover or ADC_CUTOVER_HOME): that differs with the working
// directory, and a logon-check run from the home directory then taught the run nothing. The temp
// directory is the one place every command of this user finds whatever its working directory or
// HOME; an entry matters for 30 seconds, so losing the file at reboot loses nothing. Per user,
// in a 0700 directory this user owns: a file other users could write would let them make runs
// wait. Limit: a canary logon sent by another OS user (e.g. a check by hand, then the run under
// sudo) is not seen; the run then fails its check as before and says the code was used.
import { lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { stateHome } from '../state-home.js';
import { STEP_SECONDS } from './passcode.js';
import type { AcceptedSteps } from './types.js';

const FILE = 'gateway-accepted-steps.json';
/** A write lost to another process's write at the same moment is detected and repeated. */
const WRITE_ATTEMPTS = 5;

/** This user's directory under the temp directory, or undefined when it is not safely ours. */
export function machineStepsDir(): string | undefined {
  const uid = process.getuid?.();
  const who = uid !== undefined ? String(uid) : userInfo().username.replace(/[^A-Za-z0-9_.-]/g, '_');
  const dir = join(tmpdir(), `adc-cutover-${who}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Someone else's directory (or a link to one) planted under that name is not used.
    const st = lstatSync(dir);
    if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
}

export class FileAcceptedSteps implements AcceptedSteps {
  private readonly dir: string;
  private readonly file: string;

  /** `dir` for tests; by default this user's machine-wide directory (the state directory if that is unusable). */
  constructor(dir?: string) {
    this.dir = dir ?? machineStepsDir() ?? stateHome();
    this.file = join(this.dir, FILE);
  }

  get(key: string): number | undefined {
    const step = this.read()[key];
    // A step ahead of this clock (the clock was set back, or a bad file) would make every check
    // wait until then: it is not trusted beyond the next step.
    return step !== undefined && step <= currentStep() + 1 ? step : undefined;
  }

  set(key: string, step: number): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
      const all = this.read();
      if ((all[key] ?? -1) >= step) return;
      all[key] = step;
      // Only the last few steps can still matter: older entries are dropped as the file is written.
      const keep = Object.fromEntries(Object.entries(all).filter(([k, s]) => k === key || s >= currentStep() - 2));
      const tmp = `${this.file}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify(keep), { mode: 0o600 });
      renameSync(tmp, this.file);
      // Another command may have renamed its own copy over this one a moment later.
      if ((this.read()[key] ?? -1) >= step) return;
    }
  }

  private read(): Record<string, number> {
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
      return Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => Number.isInteger(e[1])));
    } catch {
      return {};
    }
  }
}

function currentStep(): number {
  return Math.floor(Date.now() / 1000 / STEP_SECONDS);
}
