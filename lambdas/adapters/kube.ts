/**
 * The Kube port on the apiserver's REST API (kube-http.ts). One generic client serves
 * every kind; vendor outcomes become domain results here: 404 → absent, 409 on create → exists (the
 * existing object is returned so the caller adopts it), 409 on a versioned write → conflict.
 * Transient failures throw TransientError; refused credentials throw ClusterNotFoundError naming the
 * verb and resource. Messages never carry request bodies, headers or object data.
 */
import { kubeconfigProblems } from '../domain/kubeconfig';
import { API_VERSIONS, type KubeObject, type ObjectKind } from '../domain/kube-types';
import { ClusterNotFoundError, TransientError } from '../errors';
import type { CreateResult, Kube, ListQuery, ObjectRef } from '../ports';
import { KubeHttp, KubeHttpError, resourceOf, resourcePath } from './kube-http';

/**
 * Longest wait for one apiserver call. The client has no deadline of its own, and a hung call would
 * otherwise run into the Lambda's timeout, which Step Functions does not retry as transient.
 */
export const CALL_TIMEOUT_MS = 20_000;

/**
 * Retries of one call that failed transiently (5xx, 429, a reset or refused connection, no answer in
 * time): every call here may be repeated safely. Reads and deletes are idempotent, a replace carries
 * its resourceVersion (a repeat meets `conflict` and the caller re-reads), and a create of a named
 * object that did land before its answer was lost meets 409 on the repeat, which returns the existing
 * object to adopt. The budget keeps a call, retries and waits included, well inside a Lambda's time.
 */
export const CALL_RETRIES = 4;
const RETRY_BASE_MS = 200;
const RETRY_MAX_DELAY_MS = 3_000;
const RETRY_BUDGET_MS = 30_000;

/** Page size of list calls, and a bound on pages, so a huge cluster cannot loop forever. */
const PAGE_SIZE = 500;
const MAX_PAGES = 1000;

/** Network failures worth retrying: the apiserver restarts, a load balancer drops a connection. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

type Verb = 'get' | 'list' | 'create' | 'replace' | 'patch' | 'delete';

/** What a call touched, for the right a 403 names. */
interface Target {
  kind: ObjectKind;
  namespace?: string;
  subresource?: string;
  /** Owner references the written object carries (a create or patch that sets them). */
  ownerReferences?: ReadonlyArray<{ kind: string; blockOwnerDeletion?: boolean }>;
}

/**
 * The right a 403 is about. OwnerReferencesPermissionEnforcement refuses an owner reference that
 * blocks its owner's deletion unless the writer may update the owner's finalizers: that right, not
 * the call's own, is then the missing one (the owner is in the object's namespace, or cluster-wide).
 */
function refusedRight(verb: Verb, target: Target, apiserverReason: string | undefined): string {
  const owner = target.ownerReferences?.find((o) => o.blockOwnerDeletion === true && o.kind in API_VERSIONS);
  if (owner !== undefined && /blockOwnerDeletion/.test(apiserverReason ?? '')) {
    const kind = owner.kind as ObjectKind;
    const namespaced = kind !== 'NodeTask' && kind !== 'Node' && kind !== 'CustomResourceDefinition';
    return missingRight('replace', {
      kind,
      subresource: 'finalizers',
      ...(namespaced && target.namespace !== undefined ? { namespace: target.namespace } : {}),
    });
  }
  return missingRight(verb, target);
}

/** The RBAC verb each call needs (a replace is an HTTP PUT, which RBAC calls `update`). */
const RBAC_VERBS: Record<Verb, string> = {
  get: 'get',
  list: 'list',
  create: 'create',
  replace: 'update',
  patch: 'patch',
  delete: 'delete',
};

/**
 * The right a refused call lacks, as an RBAC rule spells it: verb, resource (with its API group and
 * subresource) and namespace, so an admin can grant exactly that (`penetrator cluster rbac`).
 */
export function missingRight(verb: Verb, target: Target): string {
  const apiVersion = API_VERSIONS[target.kind];
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0]! : '';
  const resource = `${resourceOf(target.kind)}${target.subresource ? `/${target.subresource}` : ''}`;
  const where = target.namespace === undefined ? 'cluster-wide' : `in namespace ${target.namespace}`;
  return `verb "${RBAC_VERBS[verb]}" on resource "${resource}" (API group "${group}") ${where}`;
}

function describe(kind: ObjectKind, name?: string, namespace?: string): string {
  const where = namespace ? `${namespace}/` : '';
  return name === undefined ? `${kind}s${namespace ? ` in ${namespace}` : ''}` : `${kind} ${where}${name}`;
}

/** The apiserver's own one-line reason (a Status message), never the raw body or headers. */
function statusMessage(error: KubeHttpError): string | undefined {
  let body: unknown = error.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const message = (body as { message?: unknown } | null)?.message;
  if (typeof message !== 'string') return undefined;
  const line = message.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

class CallTimeout extends Error {
  override readonly name = 'CallTimeout';
  readonly code = 'ETIMEDOUT';
}

/** The call's result, or a CallTimeout (which kubeError turns into TransientError) after `ms`. */
function withDeadline<T>(call: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CallTimeout(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
}

/** Whether a failed call may succeed when repeated: the apiserver or the way to it failed for a moment. */
function retryable(error: unknown): boolean {
  const status = httpStatus(error);
  if (status !== undefined) return status === 429 || status >= 500;
  if (error instanceof CallTimeout) return true;
  const code = networkCode(error);
  if (code !== undefined) return TRANSIENT_NETWORK_CODES.has(code);
  return error instanceof TypeError && /fetch failed/i.test(error.message);
}

/** Exponential backoff with full jitter, unless the apiserver said when to come back (Retry-After). */
function retryDelayMs(error: unknown, retry: number): number {
  const after = error instanceof KubeHttpError ? error.retryAfterSeconds : undefined;
  if (after !== undefined) return Math.min(after * 1000, RETRY_MAX_DELAY_MS);
  return Math.floor(Math.random() * Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_MS * 2 ** retry));
}

/**
 * Runs `call` (each try bounded by `timeoutMs`), repeating it after a transient failure up to
 * CALL_RETRIES times within RETRY_BUDGET_MS; then the last error goes to the caller's mapping.
 */
async function withRetries<T>(call: () => Promise<T>, timeoutMs: number): Promise<T> {
  const started = Date.now();
  for (let retry = 0; ; retry++) {
    try {
      return await withDeadline(call(), timeoutMs);
    } catch (error) {
      const delay = retryDelayMs(error, retry);
      const spent = Date.now() - started;
      if (!retryable(error) || retry >= CALL_RETRIES || spent + delay + timeoutMs > RETRY_BUDGET_MS) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

/** Which HTTP status an error carries, for the callers that turn some of them into results. */
export function httpStatus(error: unknown): number | undefined {
  return error instanceof KubeHttpError ? error.code : undefined;
}

/** A call that got no HTTP answer: transient when the network failed, else a plain error. */
function networkError(prefix: string, error: unknown): Error {
  const code = networkCode(error);
  if (code !== undefined && TRANSIENT_NETWORK_CODES.has(code))
    return new TransientError(`${prefix}: ${code}`);
  if (error instanceof TypeError && /fetch failed/i.test(error.message)) {
    return new TransientError(`${prefix}: the apiserver did not answer (${code ?? 'fetch failed'})`);
  }
  const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
  return new Error(`${prefix}: ${message}`);
}

/**
 * Turns a failed call into the product's error. Only called for statuses the caller does not treat
 * as a result.
 */
export function kubeError(cluster: string, verb: Verb, what: string, error: unknown, target?: Target): Error {
  const status = httpStatus(error);
  const prefix = `cluster ${cluster}: cannot ${verb} ${what}`;
  if (status === undefined) return networkError(prefix, error);
  // A Secret's validation message may quote a value: only the status is reported for Secrets.
  const apiserverReason = statusMessage(error as KubeHttpError);
  const reason = target?.kind === 'Secret' ? undefined : apiserverReason;
  const detail = `HTTP ${status}${reason ? `: ${reason}` : ''}`;
  if (status === 401) {
    return new ClusterNotFoundError(
      `${prefix}: the apiserver rejected the kubeconfig's credentials (${detail}); update the stored kubeconfig`,
    );
  }
  if (status === 403) {
    const right = target === undefined ? 'this permission' : refusedRight(verb, target, apiserverReason);
    return new ClusterNotFoundError(
      `${prefix}: forbidden (HTTP 403): the kubeconfig's identity lacks the ${right}; grant it (penetrator cluster rbac prints the rights the product needs)`,
    );
  }
  if (status === 429 || status >= 500) return new TransientError(`${prefix}: ${detail}`);
  return new Error(`${prefix}: ${detail}`);
}

/** The object's URL path (`collection`: where it is created). */
function pathOf(ref: ObjectRef, collection = false): string {
  return resourcePath({
    apiVersion: API_VERSIONS[ref.kind],
    kind: ref.kind,
    ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }),
    ...(collection ? {} : { name: ref.name }),
  });
}

function refOf(object: KubeObject): ObjectRef {
  const ref: ObjectRef = { kind: object.kind as ObjectKind, name: object.metadata.name };
  if (object.metadata.namespace !== undefined) ref.namespace = object.metadata.namespace;
  return ref;
}

export class KubeClient implements Kube {
  constructor(
    private readonly api: KubeHttp,
    /** Registered name of the cluster, for messages. */
    readonly cluster: string,
    private readonly pageSize: number = PAGE_SIZE,
    private readonly timeoutMs: number = CALL_TIMEOUT_MS,
  ) {}

  async get<T extends KubeObject>(ref: ObjectRef): Promise<T | undefined> {
    try {
      return await withRetries(() => this.api.call<T>({ method: 'GET', path: pathOf(ref) }), this.timeoutMs);
    } catch (error) {
      if (httpStatus(error) === 404) return undefined;
      throw kubeError(this.cluster, 'get', describe(ref.kind, ref.name, ref.namespace), error, ref);
    }
  }

  async list<T extends KubeObject>(query: ListQuery): Promise<T[]> {
    const items: T[] = [];
    let token: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      let result;
      try {
        const path = resourcePath({
          apiVersion: API_VERSIONS[query.kind],
          kind: query.kind,
          ...(query.namespace === undefined ? {} : { namespace: query.namespace }),
        });
        result = await withRetries(
          () =>
            this.api.call<{ items: Array<Record<string, unknown>>; metadata?: { continue?: string } }>({
              method: 'GET',
              path,
              query: {
                fieldSelector: query.fieldSelector,
                labelSelector: query.labelSelector,
                limit: this.pageSize,
                continue: token,
              },
            }),
          this.timeoutMs,
        );
      } catch (error) {
        throw kubeError(this.cluster, 'list', describe(query.kind, undefined, query.namespace), error, query);
      }
      for (const item of result.items) {
        // List items carry no apiVersion/kind; the domain reads both.
        items.push({ ...item, apiVersion: API_VERSIONS[query.kind], kind: query.kind } as unknown as T);
      }
      token = result.metadata?.continue;
      if (token === undefined || token === '') return items;
    }
    throw new Error(
      `cluster ${this.cluster}: listing ${describe(query.kind, undefined, query.namespace)} did not end after ${MAX_PAGES} pages`,
    );
  }

  async create<T extends KubeObject>(object: T): Promise<CreateResult<T>> {
    const ref = refOf(object);
    try {
      return {
        outcome: 'created',
        object: await withRetries(
          () => this.api.call<T>({ method: 'POST', path: pathOf(ref, true), body: object }),
          this.timeoutMs,
        ),
      };
    } catch (error) {
      if (httpStatus(error) !== 409) {
        throw kubeError(this.cluster, 'create', describe(ref.kind, ref.name, ref.namespace), error, {
          ...ref,
          ownerReferences: object.metadata.ownerReferences ?? [],
        });
      }
    }
    const existing = await this.get<T>(ref);
    if (existing === undefined) {
      // Created and deleted between our two calls: the caller's retry settles it.
      throw new TransientError(
        `cluster ${this.cluster}: ${describe(ref.kind, ref.name, ref.namespace)} existed, then vanished`,
      );
    }
    return { outcome: 'exists', object: existing };
  }

  async replace<T extends KubeObject>(object: T): Promise<T | 'conflict' | 'absent'> {
    const ref = refOf(object);
    try {
      return await withRetries(
        () => this.api.call<T>({ method: 'PUT', path: pathOf(ref), body: object }),
        this.timeoutMs,
      );
    } catch (error) {
      const status = httpStatus(error);
      if (status === 409) return 'conflict';
      if (status === 404) return 'absent';
      throw kubeError(this.cluster, 'replace', describe(ref.kind, ref.name, ref.namespace), error, ref);
    }
  }

  async mergePatch<T extends KubeObject>(
    ref: ObjectRef,
    patch: Record<string, unknown>,
  ): Promise<T | 'absent'> {
    try {
      return await withRetries(
        () =>
          this.api.call<T>({
            method: 'PATCH',
            path: pathOf(ref),
            query: { fieldManager: 'penetrator' },
            body: patch,
            contentType: 'application/merge-patch+json',
          }),
        this.timeoutMs,
      );
    } catch (error) {
      if (httpStatus(error) === 404) return 'absent';
      const metadata = patch.metadata as { ownerReferences?: Target['ownerReferences'] } | undefined;
      throw kubeError(this.cluster, 'patch', describe(ref.kind, ref.name, ref.namespace), error, {
        ...ref,
        ownerReferences: metadata?.ownerReferences ?? [],
      });
    }
  }

  async serves(kind: ObjectKind): Promise<boolean> {
    const apiVersion = API_VERSIONS[kind];
    const group = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    try {
      const list = await withRetries(
        () =>
          this.api.call<{ resources?: Array<{ kind?: string; name?: string }> }>({
            method: 'GET',
            path: group,
          }),
        this.timeoutMs,
      );
      return (list.resources ?? []).some((r) => r.kind === kind && !(r.name ?? '').includes('/'));
    } catch (error) {
      // The group or version is not served at all: a custom resource whose definition is not installed.
      if (httpStatus(error) === 404) return false;
      throw kubeError(this.cluster, 'get', `the API of ${kind}s`, error);
    }
  }

  async patchStatus<T extends KubeObject>(
    ref: ObjectRef,
    status: Record<string, unknown>,
    options: { resourceVersion?: string } = {},
  ): Promise<T | 'absent' | 'conflict'> {
    const body = {
      ...(options.resourceVersion === undefined
        ? {}
        : { metadata: { resourceVersion: options.resourceVersion } }),
      status,
    };
    try {
      return await withRetries(
        () =>
          this.api.call<T>({
            method: 'PATCH',
            path: `${pathOf(ref)}/status`,
            query: { fieldManager: 'penetrator' },
            body,
            contentType: 'application/merge-patch+json',
          }),
        this.timeoutMs,
      );
    } catch (error) {
      const code = httpStatus(error);
      // 404: the object is gone, or its kind is not served (no CRD): either way there is no status to write.
      if (code === 404) return 'absent';
      if (code === 409) return 'conflict';
      throw kubeError(this.cluster, 'patch', `${describe(ref.kind, ref.name, ref.namespace)} status`, error, {
        ...ref,
        subresource: 'status',
      });
    }
  }

  async delete(
    ref: ObjectRef,
    options: { resourceVersion?: string } = {},
  ): Promise<'deleted' | 'absent' | 'conflict'> {
    const body = {
      propagationPolicy: 'Background',
      ...(options.resourceVersion === undefined
        ? {}
        : { preconditions: { resourceVersion: options.resourceVersion } }),
    };
    try {
      await withRetries(() => this.api.call({ method: 'DELETE', path: pathOf(ref), body }), this.timeoutMs);
      return 'deleted';
    } catch (error) {
      const status = httpStatus(error);
      if (status === 404) return 'absent';
      if (status === 409) return 'conflict';
      throw kubeError(this.cluster, 'delete', describe(ref.kind, ref.name, ref.namespace), error, ref);
    }
  }
}

/**
 * Refuses kubeconfigs the product must not use (see domain/kubeconfig.ts): a stored one may predate
 * today's rules, and a local run's file never went through registration.
 */
function checkKubeconfig(cluster: string, yaml: string): void {
  const problems = kubeconfigProblems(yaml);
  if (problems.length > 0) {
    throw new ClusterNotFoundError(`cluster ${cluster}: the kubeconfig is refused: ${problems.join('; ')}`);
  }
}

/** A Kube client from a kubeconfig's current context. Throws ClusterNotFoundError when it is unusable. */
export function kubeFromKubeconfig(
  cluster: string,
  kubeconfigYaml: string,
  options: { pageSize?: number; timeoutMs?: number } = {},
): Kube {
  checkKubeconfig(cluster, kubeconfigYaml);
  let api: KubeHttp;
  try {
    api = KubeHttp.fromKubeconfig(kubeconfigYaml);
  } catch {
    // The parser's or TLS layer's message may quote the document, credentials included.
    throw new ClusterNotFoundError(`cluster ${cluster}: the stored kubeconfig is not a valid kubeconfig`);
  }
  return new KubeClient(api, cluster, options.pageSize, options.timeoutMs);
}
