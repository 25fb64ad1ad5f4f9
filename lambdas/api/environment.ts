/** The state machine the tasks routes start; set by the CDK stack on the tasks Lambda only. */
export const STATE_MACHINE_ARN_ENV = 'PENETRATOR_STATE_MACHINE_ARN';
