import { randomUUID } from 'node:crypto';
import type { ResultManifest, ResultRecord } from '../../lambdas/domain/work-objects';
import type { ObjectStore } from '../../lambdas/ports';

/**
 * The part of a Distributed Map that aws-local-stepfunctions lacks: ItemReader and ResultWriter on
 * S3 (ADR 0020). The engine (patches/aws-local-stepfunctions+3.0.0.patch) evaluates their
 * Parameters and runs the iterations; this supplies the store, with the semantics AWS documents:
 *
 * - ItemReader `arn:aws:states:::s3:getObject` with `ReaderConfig.InputType` JSON reads a JSON array
 *   from `Parameters.Bucket`/`Key`; `ReaderConfig.MaxItems` keeps the first items.
 * - ResultWriter `arn:aws:states:::s3:putObject` writes, under `<Prefix>/<map run id>/`, the files
 *   SUCCEEDED_n.json and FAILED_n.json (one entry per child execution: ExecutionArn, Input, Output or
 *   Error and Cause, Status, dates) and manifest.json listing them; the Map's result is then
 *   `{MapRunArn, ResultWriterDetails: {Bucket, Key}}`, Key naming the manifest.
 * - ToleratedFailureCount / ToleratedFailurePercentage (default 0): more failed iterations than
 *   tolerated fail the Map with States.ExceedToleratedFailureThreshold, after the results are written.
 *
 * Anything else (another reader, CSV, WriterConfig, the *Path variants) is refused by name rather
 * than run differently. Bucket names are not used: the run has one store.
 */

const GET_OBJECT = 'arn:aws:states:::s3:getObject';
const PUT_OBJECT = 'arn:aws:states:::s3:putObject';
/** AWS splits result files by size (up to 5 GB); locally a file holds at most this many entries. */
export const RESULTS_PER_FILE = 1000;

/** What the engine hands over for one iteration once it has ended. */
export interface IterationOutcome {
  index: number;
  input: unknown;
  status: 'SUCCEEDED' | 'FAILED';
  output?: unknown;
  error?: unknown;
}

interface IoField {
  Resource?: unknown;
  ReaderConfig?: Record<string, unknown>;
  WriterConfig?: unknown;
  Parameters?: Record<string, unknown>;
}

type MapState = Record<string, unknown>;
type Context = { Execution?: { Id?: string } };

export interface DistributedMapStore {
  readItems(reader: IoField, context: Context): Promise<unknown[]>;
  writeResults(
    writer: IoField,
    state: MapState,
    outcomes: IterationOutcome[],
    context: Context,
  ): Promise<{ MapRunArn: string; ResultWriterDetails: { Bucket: string; Key: string } }>;
}

/** A Step Functions runtime error: its name is what Catch and Retry match. */
export class StatesError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The resource as written in the definition: CDK renders the partition as `arn:aws:…`. */
function resourceOf(field: IoField): string {
  return typeof field.Resource === 'string' ? field.Resource.replace(/^arn:[a-z-]+:/, 'arn:aws:') : '';
}

function parameter(field: IoField, name: string, what: string): string {
  const value = field.Parameters?.[name];
  if (typeof value !== 'string' || value === '') {
    throw new StatesError(
      'States.Runtime',
      `${what}.Parameters.${name}: expected a string, received ${JSON.stringify(value)}`,
    );
  }
  return value;
}

function refuse(what: string, detail: string): never {
  throw new StatesError('States.Runtime', `${what}: ${detail} is not supported by the local runner`);
}

function checkNoPaths(state: MapState): void {
  for (const key of ['ToleratedFailureCountPath', 'ToleratedFailurePercentagePath', 'ItemBatcher']) {
    if (key in state) refuse('Map', key);
  }
}

function tolerated(state: MapState, total: number, failed: number): boolean {
  const count = typeof state.ToleratedFailureCount === 'number' ? state.ToleratedFailureCount : 0;
  const percentage =
    typeof state.ToleratedFailurePercentage === 'number' ? state.ToleratedFailurePercentage : 0;
  if (failed === 0) return true;
  return failed <= count || (total > 0 && (failed / total) * 100 <= percentage);
}

function errorFields(error: unknown): { Error: string; Cause: string } {
  if (error instanceof Error) return { Error: error.name || 'Error', Cause: error.message };
  return { Error: 'Error', Cause: String(error) };
}

/** Where and when one map run's results are written. */
interface MapRun {
  bucket: string;
  base: string;
  mapRunArn: string;
  stopped: string;
}

function resultRecord(run: MapRun, outcome: IterationOutcome): ResultRecord {
  const name = randomUUID();
  return {
    ExecutionArn: `${run.mapRunArn.replace(':mapRun:', ':execution:')}:${name}`,
    Input: JSON.stringify(outcome.input ?? null),
    Name: name,
    Status: outcome.status,
    StartDate: run.stopped,
    StopDate: run.stopped,
    ...(outcome.status === 'SUCCEEDED'
      ? { Output: JSON.stringify(outcome.output ?? null) }
      : errorFields(outcome.error)),
  };
}

/** SUCCEEDED_n.json and FAILED_n.json, in iteration order; returns the manifest listing them. */
async function writeResultFiles(
  objects: ObjectStore,
  run: MapRun,
  outcomes: readonly IterationOutcome[],
): Promise<ResultManifest> {
  const sorted = [...outcomes].sort((a, b) => a.index - b.index);
  const manifest: ResultManifest = {
    DestinationBucket: run.bucket,
    MapRunArn: run.mapRunArn,
    ResultFiles: {},
  };
  for (const status of ['FAILED', 'SUCCEEDED'] as const) {
    const records = sorted.filter((o) => o.status === status).map((o) => resultRecord(run, o));
    const files: Array<{ Key: string; Size: number }> = [];
    for (let start = 0; start < records.length; start += RESULTS_PER_FILE) {
      const chunk = records.slice(start, start + RESULTS_PER_FILE);
      const key = `${run.base}/${status}_${files.length}.json`;
      await objects.putJson(key, chunk);
      files.push({ Key: key, Size: Buffer.byteLength(JSON.stringify(chunk)) });
    }
    manifest.ResultFiles[status] = files;
  }
  manifest.ResultFiles.PENDING = [];
  return manifest;
}

export function distributedMapStore(
  objects: ObjectStore,
  now: () => Date = () => new Date(),
): DistributedMapStore {
  return {
    async readItems(reader, _context) {
      const what = 'ItemReader';
      if (resourceOf(reader) !== GET_OBJECT) refuse(what, `Resource ${JSON.stringify(reader.Resource)}`);
      const config = reader.ReaderConfig ?? {};
      if (config.InputType !== 'JSON')
        refuse(what, `ReaderConfig.InputType ${JSON.stringify(config.InputType)}`);
      parameter(reader, 'Bucket', what);
      const key = parameter(reader, 'Key', what);
      let items: unknown;
      try {
        items = await objects.getJson(key);
      } catch (error) {
        throw new StatesError(
          'States.ItemReaderFailed',
          `${what}: ${key} could not be read: ${errorFields(error).Cause}`,
        );
      }
      if (!Array.isArray(items)) {
        throw new StatesError('States.ItemReaderFailed', `${what}: ${key} does not hold a JSON array`);
      }
      const max = config.MaxItems;
      const list: unknown[] = items;
      return typeof max === 'number' && max > 0 ? list.slice(0, max) : list;
    },

    async writeResults(writer, state, outcomes, context) {
      const what = 'ResultWriter';
      if (resourceOf(writer) !== PUT_OBJECT) refuse(what, `Resource ${JSON.stringify(writer.Resource)}`);
      if (writer.WriterConfig !== undefined) refuse(what, 'WriterConfig');
      checkNoPaths(state);
      const bucket = parameter(writer, 'Bucket', what);
      const prefix =
        typeof writer.Parameters?.Prefix === 'string' ? writer.Parameters.Prefix.replace(/\/+$/, '') : '';
      const mapRunId = randomUUID();
      const execution = context.Execution?.Id ?? 'arn:aws:states:local:000000000000:execution:local:run';
      const mapRunArn = `${execution.replace(':execution:', ':mapRun:')}/map:${mapRunId}`;
      const base = prefix === '' ? mapRunId : `${prefix}/${mapRunId}`;
      const stopped = now().toISOString();

      const manifest = await writeResultFiles(objects, { bucket, base, mapRunArn, stopped }, outcomes);
      const manifestKey = `${base}/manifest.json`;
      await objects.putJson(manifestKey, manifest);

      const failed = outcomes.filter((o) => o.status === 'FAILED').length;
      if (!tolerated(state, outcomes.length, failed)) {
        throw new StatesError(
          'States.ExceedToleratedFailureThreshold',
          `${failed} of ${outcomes.length} iterations failed, more than the Map tolerates`,
        );
      }
      return { MapRunArn: mapRunArn, ResultWriterDetails: { Bucket: bucket, Key: manifestKey } };
    },
  };
}
