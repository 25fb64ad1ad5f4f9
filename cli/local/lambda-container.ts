/**
 * Lambda's execution model for local runs: each function's bundle runs in its own Node.js process
 * (the runtime the stack deploys), kept warm between invocations as Lambda keeps a container, one
 * invocation at a time per process, a few processes per function when calls overlap (the Map's
 * iterations). The invocation follows Lambda's handler contract: the event, a context whose
 * getRemainingTimeInMillis counts down the function's timeout, the function's environment.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { LambdaErrorEnvelope } from './run-workflow';

/** The host each process runs: plain JavaScript, loads the bundle as Lambda's runtime does. */
export const LAMBDA_HOST = fileURLToPath(new URL('./lambda-host.mjs', import.meta.url));

export interface ContainerSpec {
  /** For messages: which function this is. */
  name: string;
  /** The unzipped asset (LAMBDA_TASK_ROOT). */
  assetDir: string;
  /** `file.export`, as the template's Handler. */
  handler: string;
  /** The process's whole environment (the runner composes it; nothing is inherited). */
  environment: Record<string, string>;
  timeoutSeconds: number;
  /** The Node.js binary of the deployed runtime. */
  nodeBinary: string;
  /** Up to this many warm processes serve overlapping calls. Default 2. */
  maxProcesses?: number;
  /** Receives the handler's stdout and stderr lines (its logs). Default: dropped. */
  onLog?: (line: string) => void;
  /** Receives each invocation's duration in a process (what Lambda bills), queueing excluded. */
  onDuration?: (ms: number) => void;
}

/** Thrown when the function fails as Lambda would report it; `name` is the envelope's errorType. */
export class LambdaInvokeError extends Error {
  constructor(readonly envelope: LambdaErrorEnvelope) {
    super(envelope.errorMessage);
    this.name = envelope.errorType;
  }
}

type HostMessage =
  | { type: 'ready'; node: string }
  | { type: 'init-error'; error: LambdaErrorEnvelope }
  | { type: 'result'; id: string; ok: true; value: unknown }
  | { type: 'result'; id: string; ok: false; error: LambdaErrorEnvelope };

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

/** Lines of a stream, to the log sink; the last ones kept for a crash's message. */
function collectLines(stream: NodeJS.ReadableStream | null, tail: string[], onLog?: (line: string) => void) {
  let rest = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      onLog?.(line);
      tail.push(line);
      if (tail.length > 20) tail.shift();
    }
  });
}

/** One warm process: one bundle loaded once, one invocation at a time. */
class Container {
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private pending: Pending | undefined;
  private readonly tail: string[] = [];
  dead = false;

  constructor(private readonly spec: ContainerSpec) {
    this.child = fork(LAMBDA_HOST, [], {
      execPath: spec.nodeBinary,
      // Not the parent's loader flags (tsx): the bundle runs on the plain runtime.
      execArgv: [],
      cwd: spec.assetDir,
      env: spec.environment,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
    });
    collectLines(this.child.stdout, this.tail, spec.onLog);
    collectLines(this.child.stderr, this.tail, spec.onLog);
    this.ready = new Promise<void>((resolve, reject) => {
      this.child.on('message', (message: HostMessage) => {
        if (message.type === 'ready') resolve();
        else if (message.type === 'init-error') reject(new LambdaInvokeError(message.error));
        else this.settle(message);
      });
      this.child.on('exit', (code, signal) => {
        this.dead = true;
        const error = this.exitError(code, signal);
        reject(error);
        this.pending?.reject(error);
        this.pending = undefined;
      });
    });
    // An init failure is reported by the first invocation; never an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  private exitError(code: number | null, signal: NodeJS.Signals | null): LambdaInvokeError {
    const last = this.tail
      .filter((l) => l.trim() !== '')
      .slice(-5)
      .join('\n');
    return new LambdaInvokeError({
      errorType: 'Runtime.ExitError',
      errorMessage: `${this.spec.name}: the runtime exited (${signal ?? `code ${code}`})${last ? `:\n${last}` : ''}`,
      trace: [],
    });
  }

  private settle(message: Extract<HostMessage, { type: 'result' }>): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    if (message.ok) pending.resolve(message.value);
    else pending.reject(new LambdaInvokeError(message.error));
  }

  async invoke(event: unknown): Promise<unknown> {
    // The timeout counts from the call, as Lambda's does; a cold start spends some of it.
    const deadline = Date.now() + this.spec.timeoutSeconds * 1000;
    await this.ready;
    const result = new Promise<unknown>((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    this.child.send({ type: 'invoke', id: randomUUID(), requestId: randomUUID(), event, deadline });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          // Lambda ends a call that outlives its timeout and starts a fresh container next time.
          this.stop();
          reject(
            new LambdaInvokeError({
              errorType: 'Sandbox.Timedout',
              errorMessage: `Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
              trace: [],
            }),
          );
        },
        Math.max(0, deadline - Date.now()),
      );
    });
    try {
      return await Promise.race([result, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): void {
    this.dead = true;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/**
 * The warm processes of one function. A call takes an idle process, else starts one (up to the
 * limit), else waits for one to be free — a small pool, not Lambda's unbounded scaling, on purpose:
 * a local machine has a few cores.
 */
export class LambdaFunctionPool {
  private readonly idle: Container[] = [];
  private readonly busy = new Set<Container>();
  private readonly waiting: Array<() => void> = [];
  private closed = false;
  /** Processes started so far (cold starts). */
  coldStarts = 0;

  constructor(readonly spec: ContainerSpec) {}

  async invoke(event: unknown): Promise<unknown> {
    const container = await this.take();
    const started = performance.now();
    try {
      return await container.invoke(event);
    } finally {
      this.spec.onDuration?.(performance.now() - started);
      this.release(container);
    }
  }

  private async take(): Promise<Container> {
    for (;;) {
      if (this.closed) throw new Error(`${this.spec.name}: the local runtime is closed`);
      const warm = this.idle.pop();
      if (warm && !warm.dead) {
        this.busy.add(warm);
        return warm;
      }
      if (!warm && this.busy.size < (this.spec.maxProcesses ?? 2)) {
        const container = new Container(this.spec);
        this.coldStarts += 1;
        this.busy.add(container);
        return container;
      }
      if (!warm) await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(container: Container): void {
    this.busy.delete(container);
    if (!container.dead && !this.closed) this.idle.push(container);
    else container.stop();
    this.waiting.shift()?.();
  }

  /** Stops every process; calls still waiting fail. */
  close(): void {
    this.closed = true;
    for (const container of [...this.idle, ...this.busy]) container.stop();
    this.idle.length = 0;
    for (const wake of this.waiting.splice(0)) wake();
  }
}
