/**
 * The task's unbounded data (the work list, the skipped machines, the per-node results) lives in the
 * object store, never in the state: the state carries only these references and counts, so a task's
 * size is not limited by Step Functions' 256 KiB per state (ADR 0019). The Distributed Map reads the
 * work list with its ItemReader and writes every iteration's result with its ResultWriter; both
 * follow the shapes AWS documents, described here once for the writer (the local runner) and the
 * reader (Summarize).
 */

/** Set by the stack on Plan, Prepare and Summarize: the bucket of the task's work objects. */
export const WORK_BUCKET_ENV = 'PENETRATOR_WORK_BUCKET';

/** Where one execution's objects are, and how many items each holds. */
export interface WorkRef {
  /** JSON array of NodeWork: the Map's ItemReader reads it. */
  listKey: string;
  /** JSON array of {name, ip}: machines that already carry the task's label. */
  skippedKey: string;
  /** The Map's ResultWriter writes under this prefix. */
  resultsPrefix: string;
  /** Length of the work list. */
  nodes: number;
  /** Length of the skipped list. */
  skipped: number;
}

/** What a Distributed Map with a ResultWriter returns as its result (AWS's ResultWriterDetails). */
export interface MapResultRef {
  MapRunArn?: string;
  ResultWriterDetails: { Bucket: string; Key: string };
}

/** The manifest.json a ResultWriter writes beside the result files. */
export interface ResultManifest {
  DestinationBucket: string;
  MapRunArn: string;
  ResultFiles: Partial<Record<ResultStatus, Array<{ Key: string; Size: number }>>>;
}

export type ResultStatus = 'SUCCEEDED' | 'FAILED' | 'PENDING';

/** One child execution in a SUCCEEDED_n.json / FAILED_n.json file. Input and Output are JSON text. */
export interface ResultRecord {
  ExecutionArn: string;
  Input: string;
  Name: string;
  Status: 'SUCCEEDED' | 'FAILED' | 'ABORTED' | 'TIMED_OUT';
  StartDate: string;
  StopDate: string;
  Output?: string;
  Error?: string;
  Cause?: string;
}

/** Characters an execution's name may hold that are safe in an object key everywhere. */
function keySegment(executionId: string): string {
  const name = executionId.slice(executionId.lastIndexOf(':') + 1);
  const safe = name.replace(/[^A-Za-z0-9._-]/g, '_');
  return safe === '' ? 'execution' : safe;
}

/** Every object of one execution is under `tasks/<execution name>/`: the lifecycle rule expires them. */
export const WORK_OBJECTS_PREFIX = 'tasks/';

export function workKeys(executionId: string): Pick<WorkRef, 'listKey' | 'skippedKey' | 'resultsPrefix'> {
  const base = `${WORK_OBJECTS_PREFIX}${keySegment(executionId)}`;
  return {
    listKey: `${base}/work-list.json`,
    skippedKey: `${base}/skipped.json`,
    resultsPrefix: `${base}/results`,
  };
}
