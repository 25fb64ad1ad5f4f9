/** A failed join or reset step; the phase names where it failed, as kubeadm's messages do. */
export class JoinError extends Error {
  override readonly name = 'StandIn.JoinError';
  constructor(
    readonly phase: 'preflight' | 'discovery' | 'kubelet-start' | 'reset',
    message: string,
  ) {
    super(message);
  }
}
