/**
 * Runs one Pod the way a kubelet would, without images: each container's command + args runs as a
 * local process, inside the node's network namespace (when it has one), in a private mount namespace
 * where the pod's volumes and the termination-message file are bind-mounted at their paths, and in a
 * private PID namespace so that killing the pod kills everything it started. Status goes to the
 * apiserver through the status subresource.
 *
 * restartPolicy: containers are never restarted; OnFailure is treated like Never (the Job controller
 * then creates a new Pod, which is what the tests rely on).
 */
import { constants as osConstants } from 'node:os';
import { mkdirSync, openSync, readSync, closeSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import {
  PatchStrategy,
  setHeaderOptions,
  type CoreV1Api,
  type V1Container,
  type V1Pod,
} from '@kubernetes/client-node';
import { spawnManaged, sleep, tailFile, type ManagedProcess } from '../process';
import { expandVars, resolveEnv } from './env';
import type { MountPointLease, MountPoints } from './mount-points';
import {
  nodeInternalIp,
  podStatus,
  rfc3339,
  type ContainerReport,
  type PodReport,
  type TestNodeSpec,
} from './objects';
import { installTarget, simulateInstall, type SimulatedInstallOptions } from './simulated-install';
import { prepareVolume } from './volumes';

export interface RunnerDeps {
  core: CoreV1Api;
  node: TestNodeSpec;
  /** Per-pod files go to `<workDir>/pods/...`, container output to `<logsDir>/...`. */
  workDir: string;
  logsDir: string;
  mountPoints: MountPoints;
  /** Where in-cluster clients find the apiserver (KUBERNETES_SERVICE_HOST/PORT). */
  apiserver: { host: string; port: string };
  log(message: string): void;
  /** Called with each container's image; the kubelet logs the first one. */
  noteImage(image: string): void;
  /** Install containers are simulated instead of run (the benchmark's mode). */
  simulateInstall?: SimulatedInstallOptions;
}

const MAX_TERMINATION_MESSAGE = 4096;
const FALLBACK_LOG_LINES = 80;
const FALLBACK_LOG_BYTES = 2048;
const VOLUME_RETRY_MS = 2_000;
const MAX_GRACE_MS = 2_000;

/**
 * Runs inside the new namespaces: bind-mounts each (source, target, ro|rw) triple, changes to the
 * working directory, then execs the container's argv. Everything variable arrives as positional
 * arguments, never as script text.
 */
const LAUNCH_SCRIPT = [
  'set -e',
  'wd=$1; n=$2; shift 2',
  'while [ "$n" -gt 0 ]; do',
  '  mount --bind "$1" "$2"',
  '  if [ "$3" = ro ]; then mount -o remount,bind,ro "$2"; fi',
  '  shift 3; n=$((n - 1))',
  'done',
  'if [ -n "$wd" ]; then cd "$wd"; fi',
  'exec "$@"',
].join('\n');

export function logFileName(namespace: string, pod: string, container: string): string {
  return `${namespace}_${pod}_${container}.log`;
}

function exitCodeOf(result: number | string): number {
  if (typeof result === 'number') return result;
  const signal = (osConstants.signals as Record<string, number | undefined>)[result];
  return signal === undefined ? 255 : 128 + signal;
}

function readHead(path: string, max: number): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(max);
    const n = readSync(fd, buf, 0, max, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The file, or for FallbackToLogsOnError and a failure with an empty file, the end of the output. */
function terminationMessage(c: V1Container, file: string, logPath: string, exitCode: number): string {
  const message = readHead(file, MAX_TERMINATION_MESSAGE);
  if (message !== '' || exitCode === 0 || c.terminationMessagePolicy !== 'FallbackToLogsOnError')
    return message;
  return tailFile(logPath, FALLBACK_LOG_LINES).slice(-FALLBACK_LOG_BYTES);
}

interface Refusal {
  reason: string;
  message: string;
}

interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

export class PodRunner {
  readonly uid: string;
  readonly done: Promise<void>;
  private readonly processes = new Set<ManagedProcess>();
  private cancelled = false;
  private cancelGraceMs = 0;
  private patchChain: Promise<void> = Promise.resolve();
  private readonly report: PodReport;
  private readonly podDir: string;
  private readonly mountLeases: MountPointLease[] = [];
  private volumes = new Map<string, string>();
  private readonly cancelSignal = new AbortController();

  constructor(
    private readonly deps: RunnerDeps,
    private readonly pod: V1Pod,
  ) {
    const meta = pod.metadata ?? {};
    this.uid = meta.uid ?? '';
    this.podDir = join(deps.workDir, 'pods', `${meta.namespace}_${meta.name}_${this.uid.slice(0, 8)}`);
    const ip = nodeInternalIp(deps.node);
    const image = (c: V1Container): string => c.image ?? '';
    const id = (c: V1Container): string => `test://${this.uid}/${c.name}`;
    const init = pod.spec?.initContainers ?? [];
    this.report = {
      phase: 'Pending',
      startTime: rfc3339(),
      hostIP: ip,
      podIP: ip,
      init: init.map((c) => ({
        name: c.name,
        image: image(c),
        containerID: id(c),
        phase: { kind: 'waiting', reason: 'PodInitializing' },
      })),
      main: (pod.spec?.containers ?? []).map((c) => ({
        name: c.name,
        image: image(c),
        containerID: id(c),
        phase: { kind: 'waiting', reason: init.length > 0 ? 'PodInitializing' : 'ContainerCreating' },
      })),
    };
    // The downward API (status.podIP) reads the pod as this kubelet sees it.
    this.pod.status = { ...pod.status, podIP: ip, hostIP: ip };
    this.done = this.run().catch((err: unknown) => {
      deps.log(`pod ${this.describe()}: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  describe(): string {
    return `${this.pod.metadata?.namespace}/${this.pod.metadata?.name}`;
  }

  /** Stops the pod's processes (SIGTERM, SIGKILL after the grace period, capped for tests). */
  async cancel(graceMs = 0): Promise<void> {
    this.cancelled = true;
    this.cancelGraceMs = Math.min(graceMs, MAX_GRACE_MS);
    this.cancelSignal.abort();
    await Promise.all([...this.processes].map((p) => p.stop(this.cancelGraceMs)));
    await this.done;
  }

  private async run(): Promise<void> {
    mkdirSync(join(this.podDir, 'termination'), { recursive: true, mode: 0o755 });
    try {
      await this.patch();
      // A simulated install reads none of its volumes: preparing them would only add load.
      if (!this.deps.simulateInstall && !(await this.prepareVolumes())) return this.finish();
      const inits = this.pod.spec?.initContainers ?? [];
      for (const [i, c] of inits.entries()) {
        const code = await this.runContainer(c, this.report.init[i]!);
        if (code !== 0 || this.cancelled) return this.finish();
      }
      this.report.phase = 'Running';
      const mains = this.pod.spec?.containers ?? [];
      await Promise.all(mains.map((c, i) => this.runContainer(c, this.report.main[i]!)));
      return this.finish();
    } finally {
      this.deps.mountPoints.release(this.mountLeases);
    }
  }

  /** Succeeded when every container exited 0; anything else (a failure, a kill, no start) is Failed. */
  private async finish(): Promise<void> {
    const all = [...this.report.init, ...this.report.main];
    const ok = all.every((c) => c.phase.kind === 'terminated' && c.phase.exitCode === 0);
    this.report.phase = ok ? 'Succeeded' : 'Failed';
    await this.patch();
  }

  /** Volumes that cannot be prepared (a missing Secret) keep the pod waiting, as the real kubelet does. */
  private async prepareVolumes(): Promise<boolean> {
    for (;;) {
      if (this.cancelled) return false;
      try {
        for (const v of this.pod.spec?.volumes ?? []) {
          const prepared = await prepareVolume(this.deps.core, this.pod, this.podDir, v);
          this.volumes.set(prepared.name, prepared.source);
        }
        return true;
      } catch (err: unknown) {
        const message = err instanceof Error ? err.message : String(err);
        for (const c of [...this.report.init, ...this.report.main]) {
          c.phase = { kind: 'waiting', reason: 'CreateContainerConfigError', message };
        }
        await this.patch();
        await sleep(VOLUME_RETRY_MS);
      }
    }
  }

  private mountsFor(c: V1Container, terminationFile: string): Mount[] {
    const mounts: Mount[] = (c.volumeMounts ?? []).map((vm) => {
      const source = this.volumes.get(vm.name);
      if (source === undefined) throw new Error(`volumeMount ${vm.name}: no such volume in the pod`);
      return {
        source: vm.subPath ? join(source, vm.subPath) : source,
        target: vm.mountPath,
        readOnly: vm.readOnly === true,
      };
    });
    mounts.push({
      source: terminationFile,
      target: c.terminationMessagePath ?? '/dev/termination-log',
      readOnly: false,
    });
    return mounts;
  }

  /** The container's argv and environment, or why it cannot start. */
  private async launchSpec(c: V1Container): Promise<{ argv: string[]; env: Map<string, string> } | Refusal> {
    let env: Map<string, string>;
    try {
      env = await resolveEnv(this.deps.core, this.pod, c);
    } catch (err: unknown) {
      return {
        reason: 'CreateContainerConfigError',
        message: err instanceof Error ? err.message : String(err),
      };
    }
    const argv = [...(c.command ?? []), ...(c.args ?? [])].map((a) => expandVars(a, env));
    if (argv.length === 0) {
      return {
        reason: 'ContainerCannotRun',
        message: 'the test kubelet ignores images: the container needs command or args',
      };
    }
    return { argv, env };
  }

  /** Bind mounts for the container, with their mount points made to exist. */
  private prepareMounts(c: V1Container, terminationFile: string): Mount[] | Refusal {
    try {
      const mounts = this.mountsFor(c, terminationFile);
      for (const m of mounts) {
        const kind = statSync(m.source).isDirectory() ? 'dir' : 'file';
        this.mountLeases.push(this.deps.mountPoints.acquire(m.target, kind));
      }
      return mounts;
    } catch (err: unknown) {
      return { reason: 'CreateContainerError', message: err instanceof Error ? err.message : String(err) };
    }
  }

  private spawnContainer(
    c: V1Container,
    argv: string[],
    env: Map<string, string>,
    mounts: Mount[],
    logPath: string,
  ): ManagedProcess {
    const inner = [
      ...['unshare', '--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child', '--'],
      ...['sh', '-c', LAUNCH_SCRIPT, 'launch', c.workingDir ?? '', String(mounts.length)],
      ...mounts.flatMap((m) => [m.source, m.target, m.readOnly ? 'ro' : 'rw']),
      ...argv,
    ];
    const netns = this.deps.node.netns;
    const [command, ...args] = netns ? ['ip', 'netns', 'exec', netns, ...inner] : inner;
    return spawnManaged({
      name: `${this.describe()}/${c.name}`,
      command: command!,
      args,
      logPath,
      cwd: this.podDir,
      processGroup: true,
      // A fresh environment: nothing of the test process (credentials included) leaks into pods.
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: '/root',
        HOSTNAME: this.pod.metadata?.name ?? '',
        KUBERNETES_SERVICE_HOST: this.deps.apiserver.host,
        KUBERNETES_SERVICE_PORT: this.deps.apiserver.port,
        ...Object.fromEntries(env),
      },
    });
  }

  private async runContainer(c: V1Container, entry: ContainerReport): Promise<number> {
    this.deps.noteImage(c.image ?? '');
    const startedAt = rfc3339();
    const fail = async ({ reason, message }: Refusal): Promise<number> => {
      entry.phase = { kind: 'terminated', exitCode: 128, reason, message, startedAt, finishedAt: rfc3339() };
      await this.patch();
      return 128;
    };
    if (this.cancelled) return fail({ reason: 'Error', message: 'pod deleted before the container started' });
    const spec = await this.launchSpec(c);
    if ('reason' in spec) return fail(spec);
    const simulated = this.simulation(spec.env);
    if (simulated) return this.runSimulated(entry, simulated.options, simulated.target);
    const terminationFile = join(this.podDir, 'termination', c.name);
    writeFileSync(terminationFile, '');
    chmodSync(terminationFile, 0o666);
    const mounts = this.prepareMounts(c, terminationFile);
    if ('reason' in mounts) return fail(mounts);

    const { namespace = '', name = '' } = this.pod.metadata ?? {};
    const logPath = join(this.deps.logsDir, logFileName(namespace, name, c.name));
    const proc = this.spawnContainer(c, spec.argv, spec.env, mounts, logPath);
    this.processes.add(proc);
    entry.phase = { kind: 'running', startedAt };
    await this.patch();
    const exitCode = exitCodeOf(await proc.exited);
    this.processes.delete(proc);

    const message = terminationMessage(c, terminationFile, logPath, exitCode);
    entry.phase = {
      kind: 'terminated',
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      ...(message !== '' ? { message } : {}),
      startedAt,
      finishedAt: rfc3339(),
    };
    await this.patch();
    return exitCode;
  }

  /** In the simulated install mode, an install container's simulation. */
  private simulation(env: Map<string, string>) {
    const options = this.deps.simulateInstall;
    const target = options ? installTarget(env) : undefined;
    return options && target ? { options, target } : undefined;
  }

  private async runSimulated(
    entry: ContainerReport,
    options: SimulatedInstallOptions,
    target: { name: string; ip: string },
  ): Promise<number> {
    const startedAt = rfc3339();
    entry.phase = { kind: 'running', startedAt };
    await this.patch();
    const name = this.pod.metadata?.name ?? '';
    const { exitCode, message } = await simulateInstall(
      this.deps.core,
      options,
      name,
      target,
      this.cancelSignal.signal,
    );
    entry.phase = {
      kind: 'terminated',
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      ...(message !== '' ? { message } : {}),
      startedAt,
      finishedAt: rfc3339(),
    };
    await this.patch();
    return exitCode;
  }

  /** Sends the whole current status; patches run one after another so the last one wins. */
  private patch(): Promise<void> {
    const send = async (): Promise<void> => {
      const { name, namespace } = this.pod.metadata ?? {};
      try {
        await this.deps.core.patchNamespacedPodStatus(
          {
            name: name ?? '',
            namespace: namespace ?? '',
            body: { status: podStatus(this.report, rfc3339()) },
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        );
      } catch (err: unknown) {
        // A pod deleted under us has nobody left to report to.
        if ((err as { code?: number }).code !== 404) {
          this.deps.log(
            `pod ${this.describe()}: status update failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
    };
    this.patchChain = this.patchChain.then(send);
    return this.patchChain;
  }
}
