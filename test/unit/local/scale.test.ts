import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSynthesizedDefinition } from '../../../cli/local/definition';
import {
  runWorkflowLocally,
  type WorkflowEvent,
  type WorkflowRunResult,
} from '../../../cli/local/run-workflow';
import { FileObjectStore } from '../../../lambdas/adapters/file-objects';
import type {
  CheckOutput,
  LambdaName,
  NodeStepInput,
  NodeWork,
  PlanOutput,
  SummarizeInput,
  TaskRef,
  WorkflowHandler,
} from '../../../lambdas/domain/contracts';
import { summarize } from '../../../lambdas/domain/summary';
import { readMapResults } from '../../../lambdas/use-cases/summarize';
import { writeWork } from '../../../lambdas/use-cases/work-store';

// The task's size is not bounded by the state: the synthesized definition, run with handlers that
// answer at once, keeps every state of the parent execution small and its history the same length
// whatever the number of nodes (AWS: 256 KiB per state, 25,000 events per execution).

const root = mkdtempSync(join(tmpdir(), 'penetrator-scale-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let definition: object;
beforeAll(async () => {
  definition = await loadSynthesizedDefinition();
}, 120_000);

function taskRef(executionId: string): TaskRef {
  return {
    name: 'scale',
    cluster: 'edge',
    labelValue: 'scale-abcdef',
    mode: 'proxy',
    installer: 'edgeadm',
    credential: 'login-secret',
    sshUser: 'root',
    sshPort: 22,
    executionId,
    maxAttempts: 3,
    attemptTimeoutSeconds: 900,
    pollSeconds: 15,
  };
}

function nodes(count: number): NodeWork[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `edge-${i.toString(36).padStart(6, '0')}`,
    ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    proxyNode: `proxy-${i % 4}`,
    reinstall: false,
  }));
}

interface ScaleRun {
  result: WorkflowRunResult;
  /** The largest state input or output of the parent execution, in bytes of JSON. */
  largestParentState: number;
  installed: number;
}

async function runWith(count: number): Promise<ScaleRun> {
  const objects = new FileObjectStore(mkdtempSync(join(root, 'run-')));
  let installed = 0;
  const handlers: Record<LambdaName, WorkflowHandler> = {
    plan: async (p) => {
      const { executionId } = p as { executionId: string };
      const plan: PlanOutput = {
        task: taskRef(executionId),
        work: await writeWork({ objects }, executionId, nodes(count), []),
        maxConcurrency: 200,
      };
      return plan;
    },
    lock: () => Promise.resolve(null),
    prepare: (p) => Promise.resolve({ ...(p as { task: TaskRef }).task, ownerUid: 'uid', taskObject: 'obj' }),
    startInstall: (p) => Promise.resolve({ job: `job-${(p as NodeStepInput).node.name}`, number: 1 }),
    checkInstall: () => Promise.resolve<CheckOutput>({ phase: 'Succeeded', replaced: [] }),
    summarize: async (p) => {
      const results = await readMapResults(objects, (p as SummarizeInput).results);
      installed = results.filter((r) => r.state === 'installed').length;
      return summarize({ results, skipped: [] });
    },
    cleanup: () => Promise.resolve(null),
  };
  let largestParentState = 0;
  const measure = (event: WorkflowEvent): void => {
    if ('index' in event && typeof event.index === 'number') return;
    const state = (event as { state?: { input?: unknown; output?: unknown } }).state;
    for (const value of [state?.input, state?.output]) {
      if (value !== undefined)
        largestParentState = Math.max(largestParentState, JSON.stringify(value).length);
    }
  };
  const result = await runWorkflowLocally({
    definition,
    input: { nodeTask: {} },
    handlers,
    objects,
    pollSeconds: 0,
    retryIntervalSeconds: 0,
    onEvent: measure,
  });
  return { result, largestParentState, installed };
}

describe('a task of thousands of nodes on the synthesized definition', () => {
  it(
    'keeps every parent state to a few KiB and the parent history as short as for three nodes',
    { timeout: 240_000 },
    async () => {
      const few = await runWith(3);
      const many = await runWith(3000);

      expect(few.result.status).toBe('SUCCEEDED');
      expect(many.result.status).toBe('SUCCEEDED');
      expect(many.installed).toBe(3000);
      // The iterations ran (each is several transitions), in child executions of their own.
      expect(many.result.transitions).toBeGreaterThan(3000 * 5);
      expect(many.result.parentEvents).toBe(few.result.parentEvents);
      expect(many.result.parentEvents).toBeLessThan(100);
      // References and counts only: the same order of size as with three nodes, far from 256 KiB.
      expect(many.largestParentState).toBeLessThan(4096);
      expect(many.largestParentState - few.largestParentState).toBeLessThan(64);
    },
  );
});
