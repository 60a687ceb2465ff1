// Playbook step names → step objects. The only place that knows every step.
import type { PlaybookParams, PlaybookStep } from '../playbook/playbook.js';
import type { Step } from '../runner/step.js';
import { OtpEncryptionOnStep, SaveConfigStep } from '../steps/appliance-config.js';
import { BindNewKeyStep } from '../steps/bind-new-key.js';
import { UnbindOldKeyStep } from '../steps/unbind-old-key.js';
import type { Estate } from '../steps/estate.js';
import { newFacts, type RunFacts, type StepDeps } from '../steps/facts.js';
import { ImportCertkeyStep } from '../steps/import-certkey.js';
import { LogonCheckStep } from '../steps/logon-check-step.js';
import { PreflightStep } from '../steps/preflight.js';
import { RekeyDirectoryStep } from '../steps/rekey-directory.js';

export function buildSteps(steps: PlaybookStep[], estate: Estate, params: PlaybookParams, facts: RunFacts = newFacts()): Step[] {
  return steps.map((s) => {
    const deps: StepDeps = { estate, params, facts, with: s.with };
    // Narrowed by kind, so each step gets its own typed options.
    switch (s.uses) {
      case 'preflight':
        return new PreflightStep(s.id, { ...deps, with: s.with });
      case 'import-certkey':
        return new ImportCertkeyStep(s.id, deps);
      case 'bind-new-key':
        return new BindNewKeyStep(s.id, { ...deps, with: s.with });
      case 'rekey-directory':
        return new RekeyDirectoryStep(s.id, { ...deps, with: s.with });
      case 'logon-check':
        return new LogonCheckStep(s.id, { ...deps, with: s.with });
      case 'unbind-old-key':
        return new UnbindOldKeyStep(s.id, deps);
      case 'save-config':
        return new SaveConfigStep(s.id, deps);
      case 'otp-encryption-on':
        return new OtpEncryptionOnStep(s.id, deps);
    }
  });
}
