import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RESULTS_PER_FILE } from '../../../cli/local/distributed-map';
import { runWorkflowLocally } from '../../../cli/local/run-workflow';
import { FileObjectStore } from '../../../lambdas/adapters/file-objects';
import type { LambdaName, WorkflowHandler } from '../../../lambdas/domain/contracts';
import type { ResultManifest, ResultRecord } from '../../../lambdas/domain/work-objects';

// The local engine's ItemReader and ResultWriter, on small definitions written here as AWS documents
// them: a Distributed Map reading a JSON array from S3 and writing its results back.

const root = mkdtempSync(join(tmpdir(), 'penetrator-dmap-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let runs = 0;
function store(): FileObjectStore {
  runs += 1;
  return new FileObjectStore(join(root, `run-${runs}`));
}

const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:Work';

/** Work on the item: `fail: true` items throw (uncaught inside the iteration, so the iteration fails). */
function definition(map: Record<string, unknown> = {}): object {
  return {
    StartAt: 'Install nodes',
    States: {
      'Install nodes': {
        Type: 'Map',
        ItemReader: {
          Resource: 'arn:aws:states:::s3:getObject',
          ReaderConfig: { InputType: 'JSON' },
          Parameters: { Bucket: 'work-bucket', 'Key.$': '$.listKey' },
        },
        ItemSelector: { 'item.$': '$$.Map.Item.Value', 'label.$': '$.label' },
        ItemProcessor: {
          ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' },
          StartAt: 'Start install',
          States: { 'Start install': { Type: 'Task', Resource: LAMBDA, End: true } },
        },
        ResultWriter: {
          Resource: 'arn:aws:states:::s3:putObject',
          Parameters: { Bucket: 'work-bucket', 'Prefix.$': '$.prefix' },
        },
        MaxConcurrency: 4,
        ResultPath: '$.results',
        End: true,
        ...map,
      },
    },
  };
}

const work: WorkflowHandler = (payload) => {
  const { item, label } = payload as { item: { n: number; fail?: boolean }; label: string };
  if (item.fail) {
    const error = new Error(`item ${item.n} failed`);
    error.name = 'Penetrator.InstallFailed';
    return Promise.reject(error);
  }
  return Promise.resolve({ n: item.n * 10, label });
};
const handlers = { startInstall: work } as Record<LambdaName, WorkflowHandler>;

async function run(objects: FileObjectStore, items: unknown, map: Record<string, unknown> = {}) {
  await objects.putJson('tasks/t1/work-list.json', items);
  return runWorkflowLocally({
    definition: definition(map),
    input: {
      nodeTask: null,
      listKey: 'tasks/t1/work-list.json',
      prefix: 'tasks/t1/results',
      label: 'L',
    } as never,
    handlers,
    objects,
    executionName: 'dmap',
  });
}

async function records(objects: FileObjectStore, manifest: ResultManifest, status: 'SUCCEEDED' | 'FAILED') {
  const all: ResultRecord[] = [];
  for (const file of manifest.ResultFiles[status] ?? [])
    all.push(...((await objects.getJson(file.Key)) as ResultRecord[]));
  return all;
}

describe('a Distributed Map with ItemReader and ResultWriter, run locally', () => {
  it('iterates over the JSON array in the object and returns only where the results are', async () => {
    const objects = store();
    const items = Array.from({ length: 7 }, (_, n) => ({ n }));
    const result = await run(objects, items);

    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as {
      results: { MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } };
    };
    expect(Object.keys(output.results).sort()).toEqual(['MapRunArn', 'ResultWriterDetails']);
    expect(output.results.MapRunArn).toMatch(
      /^arn:aws:states:local:000000000000:mapRun:penetrator:dmap\/map:[0-9a-f-]{36}$/,
    );
    const { Bucket, Key } = output.results.ResultWriterDetails;
    expect(Bucket).toBe('work-bucket');
    expect(Key).toMatch(/^tasks\/t1\/results\/[0-9a-f-]{36}\/manifest\.json$/);

    const manifest = (await objects.getJson(Key)) as ResultManifest;
    expect(manifest).toMatchObject({ DestinationBucket: 'work-bucket', MapRunArn: output.results.MapRunArn });
    expect(manifest.ResultFiles.FAILED).toEqual([]);
    expect(manifest.ResultFiles.PENDING).toEqual([]);
    const succeeded = await records(objects, manifest, 'SUCCEEDED');
    // One entry per child execution, in item order, its input as ItemSelector made it.
    expect(succeeded.map((r) => JSON.parse(r.Output!) as unknown)).toEqual(
      items.map(({ n }) => ({ n: n * 10, label: 'L' })),
    );
    expect(succeeded.map((r) => JSON.parse(r.Input) as unknown)).toEqual(
      items.map((item) => ({ item, label: 'L' })),
    );
    for (const r of succeeded) {
      expect(r).toMatchObject({
        Status: 'SUCCEEDED',
        ExecutionArn: expect.stringContaining(':execution:') as unknown,
      });
    }
  });

  it('writes failed iterations to FAILED files with their error and cause, and tolerates them as configured', async () => {
    const objects = store();
    const items = [{ n: 1 }, { n: 2, fail: true }, { n: 3 }, { n: 4, fail: true }];
    const result = await run(objects, items, { ToleratedFailurePercentage: 50 });

    expect(result.status).toBe('SUCCEEDED');
    const { Key } = (result.output as { results: { ResultWriterDetails: { Key: string } } }).results
      .ResultWriterDetails;
    const manifest = (await objects.getJson(Key)) as ResultManifest;
    const failed = await records(objects, manifest, 'FAILED');
    expect(failed.map((r) => [r.Status, r.Error, JSON.parse(r.Input) as unknown])).toEqual([
      ['FAILED', 'Penetrator.InstallFailed', { item: { n: 2, fail: true }, label: 'L' }],
      ['FAILED', 'Penetrator.InstallFailed', { item: { n: 4, fail: true }, label: 'L' }],
    ]);
    expect(failed[0]!.Cause).toContain('item 2 failed');
    expect(await records(objects, manifest, 'SUCCEEDED')).toHaveLength(2);
  });

  it('fails with States.ExceedToleratedFailureThreshold past the tolerance (none by default), results written', async () => {
    const objects = store();
    const items = [{ n: 1 }, { n: 2, fail: true }];
    const byDefault = await run(objects, items);
    const byCount = await run(store(), [...items, { n: 3, fail: true }], { ToleratedFailureCount: 1 });
    const withinCount = await run(store(), items, { ToleratedFailureCount: 1 });

    expect(byDefault).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
    expect(byCount).toMatchObject({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold' });
    expect(withinCount.status).toBe('SUCCEEDED');
    const written = readdirSync(join(root, `run-${runs - 2}`, 'tasks', 't1', 'results'));
    expect(written).toHaveLength(1);
  });

  it(`splits the results into files of at most ${RESULTS_PER_FILE} entries, listed in the manifest`, async () => {
    const objects = store();
    const count = RESULTS_PER_FILE * 2 + 5;
    const result = await run(
      objects,
      Array.from({ length: count }, (_, n) => ({ n })),
      { MaxConcurrency: 100 },
    );

    const { Key } = (result.output as { results: { ResultWriterDetails: { Key: string } } }).results
      .ResultWriterDetails;
    const manifest = (await objects.getJson(Key)) as ResultManifest;
    expect(manifest.ResultFiles.SUCCEEDED?.map((f) => f.Key.slice(f.Key.lastIndexOf('/') + 1))).toEqual([
      'SUCCEEDED_0.json',
      'SUCCEEDED_1.json',
      'SUCCEEDED_2.json',
    ]);
    const all = await records(objects, manifest, 'SUCCEEDED');
    expect(all.map((r) => (JSON.parse(r.Output!) as { n: number }).n)).toEqual(
      Array.from({ length: count }, (_, n) => n * 10),
    );
  });

  it('keeps the first ReaderConfig.MaxItems items', async () => {
    const objects = store();
    const result = await run(objects, [{ n: 1 }, { n: 2 }, { n: 3 }], {
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'JSON', MaxItems: 2 },
        Parameters: { Bucket: 'work-bucket', 'Key.$': '$.listKey' },
      },
    });
    const { Key } = (result.output as { results: { ResultWriterDetails: { Key: string } } }).results
      .ResultWriterDetails;
    expect(await records(objects, (await objects.getJson(Key)) as ResultManifest, 'SUCCEEDED')).toHaveLength(
      2,
    );
  });

  it('fails with States.ItemReaderFailed when the object is missing or holds no array', async () => {
    const objects = store();
    const notArray = await run(objects, { n: 1 });
    const missing = await runWorkflowLocally({
      definition: definition(),
      input: { nodeTask: null, listKey: 'tasks/none.json', prefix: 'p' } as never,
      handlers,
      objects,
    });

    expect(notArray).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed' });
    expect(notArray.cause).toContain('does not hold a JSON array');
    expect(missing).toMatchObject({ status: 'FAILED', error: 'States.ItemReaderFailed' });
    expect(missing.cause).toContain('tasks/none.json');
  });

  it('refuses, by name, what it does not implement instead of running it differently', async () => {
    const csv = await run(store(), [{ n: 1 }], {
      ItemReader: {
        Resource: 'arn:aws:states:::s3:getObject',
        ReaderConfig: { InputType: 'CSV' },
        Parameters: { Bucket: 'b', 'Key.$': '$.listKey' },
      },
    });
    const writerConfig = await run(store(), [{ n: 1 }], {
      ResultWriter: {
        Resource: 'arn:aws:states:::s3:putObject',
        WriterConfig: { OutputType: 'JSONL', Transformation: 'NONE' },
        Parameters: { Bucket: 'b', Prefix: 'p' },
      },
    });

    expect(csv).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(csv.cause).toContain('ReaderConfig.InputType "CSV" is not supported by the local runner');
    expect(writerConfig).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    expect(writerConfig.cause).toContain('WriterConfig is not supported by the local runner');
  });

  it("counts the iterations' events as the children's history, not the parent's", async () => {
    const small = await run(store(), [{ n: 1 }]);
    const large = await run(
      store(),
      Array.from({ length: 300 }, (_, n) => ({ n })),
      { MaxConcurrency: 50 },
    );

    expect(large.transitions).toBeGreaterThan(small.transitions + 290);
    expect(large.parentEvents).toBe(small.parentEvents);
  });
});
