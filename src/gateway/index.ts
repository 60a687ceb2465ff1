// The OTP logon check through a gateway (nFactor or classic), for the CLI and the playbook step.
export { logonCheck, LOGOFF_PATH } from './logon.js';
export { chooseCanary, type CanaryChoice, type Claims } from './canary-pool.js';
export { newAcceptedSteps, processAcceptedSteps, systemClock, acceptedStepKey, STEP_SECONDS } from './passcode.js';
export type { LogonCheckOptions, LogonResult, LogonOutcome, LogonFlow, FlowChoice, PasscodeSource, GatewayTlsOptions, Clock, AcceptedSteps } from './types.js';
