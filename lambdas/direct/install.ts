/**
 * Direct mode (`spec.mode: direct`): the workflow reaches the targets itself. Start install runs the
 * whole install synchronously, over SSH from the Lambda, with the same remote part as the Job
 * (installer/remote.sh) and the same failure lines, and records the outcome in the node's record
 * (a Lease, lambdas/direct/record.ts); Check install reads that record where proxy mode reads
 * the Job. The credential and the join token come from the task's credential Secret, the join
 * parameters and remote.sh from its script ConfigMap — exactly what the Job would mount — so no
 * secret ever travels in the workflow's state.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, constants, mkdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { TASK_NAMESPACE, type AttemptRef, type NodeWork } from '../domain/contracts';
import { shortHash } from '../domain/job-names';
import {
  directAttemptLease,
  directRecordName,
  expiredReason,
  finishedLease,
  nextDirectStep,
  readDirectAttempt,
} from './record';
import {
  InstallExit,
  SshFailure,
  failure,
  failureLine,
  isFailure,
  packageFileName,
  packageFor,
  readArch,
  readCredentialSecret,
  readJoin,
  readParams,
  readTmpdir,
  redact,
  remoteInput,
  type Arch,
  type DirectCredential,
  type DirectParams,
  type InstallFailure,
  type InstallStep,
  type RemoteCall,
} from './remote';
import type { PackageSource } from '../domain/install-package';
import type { ConfigMapObject, LeaseObject, SecretObject } from '../domain/kube-types';
import type { PreparedTask } from '../domain/prepared-task';
import { ScriptKeys } from '../domain/script-config-map';
import { attemptFailedError, AttemptsExhaustedError, InstallFailedError, TransientError } from '../errors';
import { finalFailureOf } from '../domain/final-failures';
import { expectedSha256, packageMismatchReason } from '../domain/package-checksum';
import { parseHostKey, pinnedKnownHostsLine, type HostKey } from '../domain/host-key-pin';
import type { Dependencies, Kube, SshConnector, SshSession } from '../ports';
import { now } from '../use-cases/common';
import { machinePin } from '../use-cases/host-key-pin';

/**
 * Seconds kept back from the Lambda's remaining time: the install stops this long before the
 * platform would stop the Lambda, leaving time to record the outcome.
 */
export const DIRECT_MARGIN_SECONDS = 30;
/** Below this an install cannot reasonably finish: the Lambda's timeout is too short for direct mode. */
export const DIRECT_MIN_BUDGET_SECONDS = 60;
/** As install.sh's PENETRATOR_SSH_CONNECT_TIMEOUT default. */
const CONNECT_TIMEOUT_MS = 15_000;
/** A failed step leaves its directory behind unless this quick cleanup gets through. */
const CLEANUP_TIMEOUT_MS = 10_000;
const MAX_ROUNDS = 3;

// ---------------------------------------------------------------------------------------------------
// The budget

/**
 * How long this attempt may take: the task's attempt deadline, and never longer than the Lambda's
 * remaining time minus DIRECT_MARGIN_SECONDS.
 */
export function attemptBudgetSeconds(attemptTimeoutSeconds: number, remainingMs?: number): number {
  if (remainingMs === undefined) return attemptTimeoutSeconds;
  return Math.min(attemptTimeoutSeconds, Math.floor(remainingMs / 1000) - DIRECT_MARGIN_SECONDS);
}

// ---------------------------------------------------------------------------------------------------
// The install, step by step (what install.sh does, from here)

export interface DirectInstallPlan {
  node: Pick<NodeWork, 'name' | 'ip'>;
  user: string;
  port: number;
  installer: string;
  credential: DirectCredential;
  params: DirectParams;
  remoteScript: string;
  /** The package on this machine ({arch} not yet replaced), or a URL to fetch it from once. */
  packageSource: PackageSource;
  budgetSeconds: number;
  /** The machine's pinned host key, accepted beside the credential's known hosts. */
  pinnedHostKey?: HostKey;
}

/** Reports progress and the trusted host key; no secret ever reaches it. */
export type DirectLog = (message: string, extra?: Record<string, unknown>) => void;

/** A step ended the install; carries install.sh's failure. Caught within this module. */
class StepFailed extends Error {
  override readonly name = 'DirectStepFailed';
  constructor(readonly failure: InstallFailure) {
    super(failure.reason);
  }
}

/** An SSH failure at a step, as install.sh's check_ssh reports it (exit 3 for the connection). */
function sshStepFailure(step: InstallStep, error: SshFailure, budgetSeconds: number): InstallFailure {
  if (error.kind === 'deadline')
    return failure(step, `the attempt exceeded its deadline of ${budgetSeconds} s`);
  if (error.kind === 'credential') return failure('credential', error.reason, InstallExit.invalidInput);
  const connection = ['auth', 'unreachable', 'host-key', 'lost'].includes(error.kind);
  return failure(step, error.reason, connection ? InstallExit.unreachable : InstallExit.installFailed);
}

class DirectRun {
  private readonly deadline: number;
  private session: SshSession | undefined;
  private remoteDir = '';
  private joined = false;
  /** The key trusted on first use (no known hosts, no pin), for Check install to pin. */
  firstUseHostKey: HostKey | undefined;

  constructor(
    private readonly plan: DirectInstallPlan,
    private readonly ssh: SshConnector,
    private readonly log: DirectLog,
  ) {
    this.deadline = Date.now() + plan.budgetSeconds * 1000;
  }

  /** Time left for the next wait; once none is left, that wait fails at once with its step's deadline. */
  private left(): number {
    return Math.max(1, this.deadline - Date.now());
  }

  /** Runs one step; an SSH failure becomes that step's failure line. */
  private async step<T>(step: InstallStep, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof SshFailure)
        throw new StepFailed(sshStepFailure(step, error, this.plan.budgetSeconds));
      throw error;
    }
  }

  private call(call: RemoteCall, token?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdin = remoteInput(this.plan.remoteScript, call, token);
    return this.session!.exec('sh -s', { stdin, timeoutMs: this.left() });
  }

  private async connect(): Promise<void> {
    const { plan } = this;
    const { credential } = plan;
    const pin = plan.pinnedHostKey && pinnedKnownHostsLine(plan.pinnedHostKey, plan.node.ip, plan.port);
    const knownHosts = [credential.knownHosts, pin].filter((t) => t !== undefined).join('\n');
    this.session = await this.step('arch', () =>
      this.ssh({
        host: plan.node.ip,
        port: plan.port,
        user: plan.user,
        ...(credential.sshkey !== undefined
          ? { privateKey: credential.sshkey }
          : { password: credential.passwd ?? '' }),
        ...(knownHosts !== '' ? { knownHosts } : {}),
        readyTimeoutMs: Math.min(CONNECT_TIMEOUT_MS, this.left()),
      }),
    );
    if (knownHosts === '') {
      this.firstUseHostKey = parseHostKey(this.session.hostKey);
      this.log('ssh: no known_hosts given; trusting the host key the target presents', {
        hostKeyFingerprint: this.session.hostKeyFingerprint,
      });
    }
  }

  private async arch(): Promise<Arch> {
    const result = await this.step('arch', () => this.call({ action: 'arch' }));
    const read = readArch(result.code, result.stdout);
    if (isFailure(read)) throw new StepFailed(read);
    this.log(`architecture ${read.machine} (${read.arch})`);
    return read.arch;
  }

  private async copy(localPath: string): Promise<string> {
    const result = await this.step('copy', () => this.call({ action: 'tmpdir' }));
    const dir = readTmpdir(result.code, result.stdout);
    if (isFailure(dir)) throw new StepFailed(dir);
    this.remoteDir = dir;
    const remotePath = `${dir}/${packageFileName(localPath)}`;
    await this.step('copy', () => this.session!.upload(localPath, remotePath, { timeoutMs: this.left() }));
    this.log('copied the install package', { bytes: (await stat(localPath)).size });
    return remotePath;
  }

  private async join(remotePackage: string, packageSha256: string): Promise<void> {
    const { plan } = this;
    this.log(`running ${plan.installer} reset and join…`);
    const call: RemoteCall = {
      action: 'join',
      installer: plan.installer,
      server: plan.params.server,
      caHash: plan.params.caHash,
      nodeName: plan.node.name,
      packagePath: remotePackage,
      dir: this.remoteDir,
      packageSha256,
    };
    const result = await this.step('join', () => this.call(call, plan.credential.token));
    this.joined = true; // the remote part removed its directory, whatever happened
    const output = `${result.stdout}\n${result.stderr}`;
    this.log('install output', {
      tail: redact(output, plan.credential.token).split('\n').slice(-20).join('\n'),
    });
    const failed = readJoin(result.code, output, plan.installer, plan.credential.token, remotePackage);
    if (failed) throw new StepFailed(failed);
  }

  /** A directory left by a failed step is removed, best effort, as install.sh's cleanup trap does. */
  private async cleanup(): Promise<void> {
    if (this.session && this.remoteDir !== '' && !this.joined) {
      const stdin = remoteInput(this.plan.remoteScript, { action: 'cleanup', dir: this.remoteDir });
      await this.session.exec('sh -s', { stdin, timeoutMs: CLEANUP_TIMEOUT_MS }).catch(() => undefined);
    }
    this.session?.close();
  }

  /** No failure when the machine joined; else the failure install.sh would have ended with. */
  async run(localPackage: (arch: Arch, timeoutMs: number) => Promise<string>): Promise<DirectInstallOutcome> {
    try {
      await this.connect();
      const arch = await this.arch();
      const local = await this.step('package', () => localPackage(arch, this.left()));
      await this.join(await this.copy(local), expectedSha256(this.plan.packageSource, arch));
      return this.firstUseHostKey === undefined ? {} : { firstUseHostKey: this.firstUseHostKey };
    } catch (error) {
      if (error instanceof StepFailed) return { failure: error.failure };
      throw error;
    } finally {
      await this.cleanup();
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// The package, on the machine running the workflow

async function readableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.R_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Where a URL package is kept between attempts: fetched once per warm Lambda or local run. */
function downloadPath(url: string): string {
  const name = new URL(url).pathname.split('/').pop() ?? '';
  return join(
    tmpdir(),
    'penetrator-packages',
    `${shortHash(url)}-${/^[A-Za-z0-9._-]+$/.test(name) ? name : 'package.tar.gz'}`,
  );
}

async function download(url: string, timeoutMs: number): Promise<string> {
  const path = downloadPath(url);
  if (await readableFile(path)) return path;
  await mkdir(join(tmpdir(), 'penetrator-packages'), { recursive: true, mode: 0o700 });
  const part = `${path}.part.${process.pid}`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok || response.body === null) throw new Error(`HTTP ${response.status}`);
    await pipeline(Readable.fromWeb(response.body), createWriteStream(part, { mode: 0o600 }));
    await rename(part, path);
    return path;
  } catch {
    await rm(part, { force: true });
    throw new StepFailed(failure('package', `cannot download ${url}`));
  }
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** As install.sh's check_package: bytes that differ stop the install before the target sees them. */
async function checkPackage(path: string, source: PackageSource, arch: Arch): Promise<void> {
  const expected = expectedSha256(source, arch);
  if (expected === '') {
    if (source.kind !== 'none' && typeof source.sha256 === 'object') {
      throw new StepFailed(
        failure(
          'package',
          packageMismatchReason(path, `none given for ${arch}`, ''),
          InstallExit.packageMismatch,
        ),
      );
    }
    return;
  }
  const found = await sha256Of(path);
  if (found === expected) return;
  if (source.kind === 'url') await rm(path, { force: true });
  throw new StepFailed(
    failure('package', packageMismatchReason(path, expected, found), InstallExit.packageMismatch),
  );
}

/** The package for this architecture as a local file: image and hostPath name one here, url is fetched. */
export function localPackage(source: PackageSource): (arch: Arch, timeoutMs: number) => Promise<string> {
  return async (arch, timeoutMs) => {
    if (source.kind === 'none') {
      throw new StepFailed(
        failure('package', 'no install package given (package source none)', InstallExit.invalidInput),
      );
    }
    const path =
      source.kind === 'url' ? await download(source.url, timeoutMs) : packageFor(source.path, arch);
    if (!(await readableFile(path))) {
      throw new StepFailed(
        failure('package', `install package ${path} is not a readable file`, InstallExit.invalidInput),
      );
    }
    await checkPackage(path, source, arch);
    return path;
  };
}

/** How an install ended: its failure, or the host key it trusted on first use (to be pinned). */
export interface DirectInstallOutcome {
  failure?: InstallFailure;
  firstUseHostKey?: HostKey;
}

/** Runs the install; never throws for a failed install, only for a bug. */
export function runDirectInstall(
  plan: DirectInstallPlan,
  ssh: SshConnector,
  log: DirectLog,
): Promise<DirectInstallOutcome> {
  return new DirectRun(plan, ssh, log).run(localPackage(plan.packageSource));
}

// ---------------------------------------------------------------------------------------------------
// What the Job would mount

async function loadInputs(
  kube: Kube,
  task: PreparedTask,
): Promise<{ credential: DirectCredential; params: DirectParams; remote?: string } | InstallFailure> {
  const secret = await kube.get<SecretObject>({
    kind: 'Secret',
    namespace: TASK_NAMESPACE,
    name: task.credentialSecret,
  });
  if (secret === undefined) {
    return failure(
      'credential',
      `the credential Secret ${task.credentialSecret} is gone (the task was cleaned up)`,
      InstallExit.invalidInput,
    );
  }
  const credential = readCredentialSecret(secret);
  if (isFailure(credential)) return credential;
  const scripts = await kube.get<ConfigMapObject>({
    kind: 'ConfigMap',
    namespace: TASK_NAMESPACE,
    name: task.scriptConfigMap,
  });
  const params = readParams(scripts?.data?.[ScriptKeys.params] ?? '');
  if (isFailure(params)) return params;
  const remote = scripts?.data?.[ScriptKeys.remote];
  return { credential, params, ...(remote !== undefined ? { remote } : {}) };
}

async function installOnce(
  deps: Dependencies,
  kube: Kube,
  task: PreparedTask,
  node: NodeWork,
  budgetSeconds: number,
): Promise<DirectInstallOutcome> {
  const inputs = await loadInputs(kube, task);
  if (isFailure(inputs)) return { failure: inputs };
  const pin = await machinePin(kube, node);
  if (!deps.ssh)
    throw new Error('direct mode needs an SSH connector (Dependencies.ssh), and none is wired here');
  const plan: DirectInstallPlan = {
    node,
    user: task.sshUser,
    port: task.sshPort,
    installer: task.installer,
    credential: inputs.credential,
    params: inputs.params,
    // The task's own copy, as the Job gets it; the deployed one for a task prepared without it.
    remoteScript: inputs.remote ?? (await deps.installScript()).remote,
    packageSource: deps.settings.packageSource,
    budgetSeconds,
    ...(pin === undefined ? {} : { pinnedHostKey: pin }),
  };
  deps.log.info(`installing ${node.name} at ${node.ip} with ${task.installer}, directly`, { budgetSeconds });
  return runDirectInstall(plan, deps.ssh, (message, extra) => deps.log.info(message, extra));
}

// ---------------------------------------------------------------------------------------------------
// Start install and Check install

async function getRecord(kube: Kube, name: string): Promise<LeaseObject | undefined> {
  return kube.get<LeaseObject>({ kind: 'Lease', namespace: TASK_NAMESPACE, name });
}

/** Takes the record for a new attempt; false when another call got there first. */
async function claim(kube: Kube, lease: LeaseObject, previous: LeaseObject | undefined): Promise<boolean> {
  if (previous === undefined) return (await kube.create(lease)).outcome === 'created';
  const replaced = await kube.replace(lease);
  return replaced !== 'conflict' && replaced !== 'absent';
}

/** Writes the outcome, unless the record was taken over meanwhile (then the newer attempt owns it). */
async function finish(
  deps: Dependencies,
  kube: Kube,
  claimed: LeaseObject,
  outcome: InstallFailure | undefined,
  firstUseHostKey: HostKey | undefined,
): Promise<void> {
  // Worded as proxy mode's reason for a failed Job: the exit code, then install.sh's last line.
  const reason = outcome && `exit code ${outcome.exitCode}: ${failureLine(outcome)}`;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const current = await getRecord(kube, claimed.metadata.name);
    if (current === undefined || current.spec.holderIdentity !== claimed.spec.holderIdentity) {
      deps.log.warn('the install record was taken over or deleted before the outcome was written', {
        record: claimed.metadata.name,
      });
      return;
    }
    const written = await kube.replace(
      finishedLease(current, {
        outcome: outcome ? 'failed' : 'succeeded',
        reason,
        at: now(deps),
        ...(firstUseHostKey === undefined ? {} : { hostKey: firstUseHostKey }),
      }),
    );
    if (written !== 'conflict' && written !== 'absent') return;
  }
  throw new TransientError(
    `the install record ${claimed.metadata.name} kept changing while its outcome was written`,
  );
}

interface AttemptContext {
  deps: Dependencies;
  kube: Kube;
  task: PreparedTask;
  node: NodeWork;
}

/** One claimed attempt: install, record the outcome. Old Nodes go in Check install, after the join. */
async function attempt(context: AttemptContext, claimed: LeaseObject, budgetSeconds: number): Promise<void> {
  const { deps, kube, task, node } = context;
  let result: DirectInstallOutcome;
  try {
    result = await installOnce(deps, kube, task, node, budgetSeconds);
  } catch (error) {
    // Recorded as the attempt's failure rather than left running until the record expires.
    const name = error instanceof Error ? error.name : 'Error';
    result = {
      failure: failure('join', `${name}: ${error instanceof Error ? error.message : String(error)}`),
    };
  }
  const outcome = result.failure;
  await finish(deps, kube, claimed, outcome, outcome === undefined ? result.firstUseHostKey : undefined);
  if (outcome)
    deps.log.warn('direct install failed', { reason: failureLine(outcome), exitCode: outcome.exitCode });
  else deps.log.info('direct install finished; the Node is checked next');
}

/**
 * Start install in direct mode: installs the machine now, unless an attempt for it is already under
 * way or done, which is followed instead. Returns the record as the attempt's "job".
 */
export async function startDirectInstall(
  deps: Dependencies,
  task: PreparedTask,
  node: NodeWork,
): Promise<AttemptRef> {
  const kube = await deps.kube(task.cluster);
  const name = directRecordName(task.name, node.name);
  const budgetSeconds = attemptBudgetSeconds(task.attemptTimeoutSeconds, deps.remainingTimeMs?.());
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const previous = await getRecord(kube, name);
    const next = nextDirectStep(previous, task.executionId, task.maxAttempts, now(deps));
    if (next.kind === 'follow') {
      deps.log.info('followed the direct install already under way or done', {
        record: name,
        attempt: next.attempt,
      });
      return { job: name, number: next.attempt };
    }
    if (next.kind === 'exhausted') {
      throw new AttemptsExhaustedError(
        `node ${node.name} (${node.ip}): ${next.attempts} of ${task.maxAttempts} attempts failed; last: ${next.lastReason}`,
      );
    }
    if (budgetSeconds < DIRECT_MIN_BUDGET_SECONDS) {
      throw new InstallFailedError(
        `node ${node.name} (${node.ip}): direct mode needs at least ${DIRECT_MIN_BUDGET_SECONDS} s per attempt and ` +
          `Start install has ${Math.max(0, budgetSeconds)} s; raise the Start install Lambda's timeout (see docs/direct-mode.md)`,
      );
    }
    const lease = directAttemptLease({
      task,
      node,
      attempt: next.attempt,
      budgetSeconds,
      now: now(deps),
      ...(previous ? { previous } : {}),
    });
    if (await claim(kube, lease, previous)) {
      await attempt({ deps, kube, task, node }, lease, budgetSeconds);
      return { job: name, number: next.attempt };
    }
  }
  throw new TransientError(`node ${node.name}: its install record ${name} kept changing; try again`);
}

/**
 * Check install in direct mode: how the recorded attempt stands. A finished one means the install
 * ran to its end; the caller then checks the Node as in proxy mode.
 */
export async function directAttemptPhase(
  deps: Dependencies,
  kube: Kube,
  node: NodeWork,
  ref: AttemptRef,
): Promise<'Running' | { what: string; durationSeconds?: number; hostKey?: HostKey }> {
  const lease = await getRecord(kube, ref.job);
  if (lease === undefined) {
    throw new InstallFailedError(
      `node ${node.name} (${node.ip}): the record ${ref.job} of its direct install disappeared (deleted by someone, or its task object was deleted)`,
    );
  }
  const state = readDirectAttempt(lease, now(deps));
  switch (state.outcome) {
    case 'running':
      return 'Running';
    case 'succeeded':
      return {
        what: `direct install (record ${ref.job})`,
        ...(state.durationSeconds === undefined ? {} : { durationSeconds: state.durationSeconds }),
        ...(state.hostKey === undefined ? {} : { hostKey: state.hostKey }),
      };
    case 'expired':
      throw new InstallFailedError(
        `node ${node.name} (${node.ip}) attempt ${state.attempt}: ${expiredReason(state)}`,
      );
    case 'failed': {
      const reason = state.reason ?? 'no reason recorded';
      throw attemptFailedError(
        `node ${node.name} (${node.ip}) attempt ${state.attempt}: ${reason}`,
        finalFailureOf(reason),
      );
    }
  }
}
