// What every step that works appliance by appliance shares: its targets are the inventory's
// appliances (one task-list line and one JUnit case each), and it has nothing to verify after
// apply, because each of its writes is read back where it is made.
import type { StepDeps } from './facts.js';

export abstract class ApplianceStep {
  constructor(
    readonly id: string,
    protected readonly deps: StepDeps,
  ) {}

  targets(): string[] {
    return this.deps.estate.appliances.map((a) => a.name);
  }
}
