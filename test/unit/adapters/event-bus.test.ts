import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgePublisher } from '../../../lambdas/adapters/event-bus';
import { ErrorNames } from '../../../lambdas/errors';
import { MAX_DETAIL_BYTES, taskCompletedEvent } from '../../../lambdas/domain/product-events';
import type { TaskSummary } from '../../../lambdas/domain/contracts';

const eventBridge = mockClient(EventBridgeClient);
const client = new EventBridgeClient({});
const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:edge--nodes--a1b2c3';
const task = { name: 'nodes', cluster: 'edge', executionId: ARN };

function summary(failures: TaskSummary['failures'], installed = 2): TaskSummary {
  return {
    nodetaskStatus: failures.length === 0 ? 'ready' : 'creating',
    nodeStatus: Object.fromEntries(failures.map((f) => [f.name, f.ip])),
    installed,
    failed: failures.length,
    skipped: 0,
    failures,
    message: 'irrelevant here',
  };
}

beforeEach(() => {
  eventBridge.reset();
});

describe('the completion event', () => {
  it('is Task Succeeded with the counts and the execution when every node is installed', () => {
    expect(taskCompletedEvent(task, summary([]))).toEqual({
      detailType: 'Task Succeeded',
      detail: { task: 'nodes', cluster: 'edge', installed: 2, failed: 0, failures: [], executionArn: ARN },
    });
  });

  it('is Task Failed listing each failed node with its reason', () => {
    const failures = [{ name: 'edge-a', ip: '198.18.0.10', reason: 'ssh: Permission denied' }];
    expect(taskCompletedEvent(task, summary(failures, 1))).toEqual({
      detailType: 'Task Failed',
      detail: { task: 'nodes', cluster: 'edge', installed: 1, failed: 1, failures, executionArn: ARN },
    });
  });

  it('lists only as many failures as fit an EventBridge entry and counts the rest', () => {
    const failures = Array.from({ length: 1000 }, (_, i) => ({
      name: `edge-${String(i).padStart(6, '0')}`,
      ip: `198.18.${Math.floor(i / 250)}.${i % 250}`,
      reason: 'x'.repeat(256),
    }));
    const event = taskCompletedEvent(task, summary(failures, 0));
    const detail = event.detail as { failures: unknown[]; failuresOmitted: number; failed: number };
    expect(Buffer.byteLength(JSON.stringify(detail))).toBeLessThanOrEqual(MAX_DETAIL_BYTES);
    expect(detail.failed).toBe(1000);
    expect(detail.failures.length + detail.failuresOmitted).toBe(1000);
    expect(detail.failuresOmitted).toBeGreaterThan(0);
  });
});

describe('EventBridgePublisher', () => {
  const publisher = new EventBridgePublisher('penetrator', client);

  it('puts each event on the bus with source penetrator and the detail as JSON', async () => {
    eventBridge.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e1' }] });
    await publisher.publish([taskCompletedEvent(task, summary([]))]);
    expect(eventBridge).toHaveReceivedCommandExactlyOnceWith(PutEventsCommand, {
      Entries: [
        {
          EventBusName: 'penetrator',
          Source: 'penetrator',
          DetailType: 'Task Succeeded',
          Detail: JSON.stringify({
            task: 'nodes',
            cluster: 'edge',
            installed: 2,
            failed: 0,
            failures: [],
            executionArn: ARN,
          }),
        },
      ],
    });
  });

  it('sends again only the entries the bus refused', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ EventId: 'e1' }, { ErrorCode: 'InternalFailure' }] })
      .resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e2' }] });
    await publisher.publish([
      { detailType: 'Task Succeeded', detail: { task: 'a' } },
      { detailType: 'Task Failed', detail: { task: 'b' } },
    ]);
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 2);
    expect(eventBridge.commandCalls(PutEventsCommand)[1]!.args[0].input.Entries).toEqual([
      { EventBusName: 'penetrator', Source: 'penetrator', DetailType: 'Task Failed', Detail: '{"task":"b"}' },
    ]);
  });

  it('gives up with a Transient error naming the detail type, not the detail', async () => {
    eventBridge
      .on(PutEventsCommand)
      .resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    const error = await publisher
      .publish([{ detailType: 'Task Failed', detail: { task: 'secretive-task-detail' } }])
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error?.name).toBe(ErrorNames.Transient);
    expect(error?.message).toContain('Task Failed');
    expect(error?.message).not.toContain('secretive-task-detail');
    expect(eventBridge).toHaveReceivedCommandTimes(PutEventsCommand, 3);
  });

  it('turns a failed call into a Transient error', async () => {
    eventBridge
      .on(PutEventsCommand)
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    await expect(publisher.publish([{ detailType: 'Task Failed', detail: {} }])).rejects.toMatchObject({
      name: ErrorNames.Transient,
    });
  });
});
