// The accepted-step memory every command on this machine shares (src/gateway/totp-replay-store.ts).
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STEP_SECONDS } from '../../src/gateway/index.js';
import { FileAcceptedSteps, machineStepsDir } from '../../src/gateway/totp-replay-store.js';

const dir = mkdtempSync(join(tmpdir(), 'adc-steps-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const now = () => Math.floor(Date.now() / 1000 / STEP_SECONDS);

describe('FileAcceptedSteps', () => {
  it('one command sets, another (a new instance, as a new process) sees it; other keys are kept', () => {
    const a = new FileAcceptedSteps(dir);
    a.set('https://gw1|canary', now());
    new FileAcceptedSteps(dir).set('https://gw2|canary', now());
    const b = new FileAcceptedSteps(dir);
    expect(b.get('https://gw1|canary')).toBe(now());
    expect(b.get('https://gw2|canary')).toBe(now());
    expect(b.get('https://gw3|canary')).toBeUndefined();
    // Never goes back.
    b.set('https://gw1|canary', now() - 1);
    expect(a.get('https://gw1|canary')).toBe(now());
  });

  it('a step far ahead of the clock is not trusted (it would make every check wait), nor a file that is not a map of steps', () => {
    writeFileSync(join(dir, 'gateway-accepted-steps.json'), JSON.stringify({ ahead: now() + 100, next: now() + 1, text: 'x' }));
    const s = new FileAcceptedSteps(dir);
    expect(s.get('ahead')).toBeUndefined();
    expect(s.get('next')).toBe(now() + 1);
    expect(s.get('text')).toBeUndefined();
    writeFileSync(join(dir, 'gateway-accepted-steps.json'), '[1,2');
    expect(s.get('next')).toBeUndefined();
  });

  it("by default it lives in this user's own 0700 directory under the temp directory, whatever the state directory", () => {
    const machine = machineStepsDir();
    expect(machine).toBe(join(tmpdir(), `adc-cutover-${process.getuid?.() ?? ''}`));
    const st = statSync(machine!);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(process.getuid?.());
  });
});
