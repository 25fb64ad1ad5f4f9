/**
 * The task's lists in the object store (ADR 0019): Plan writes them, Prepare reads them, Summarize
 * reads them and the Map's results. Each read is checked as carefully as a state payload, since the
 * object was written by the workflow itself: a mismatch is a wiring bug (PayloadError).
 */
import type { NodeWork } from '../domain/contracts';
import { workKeys, type MapResultRef, type WorkRef } from '../domain/work-objects';
import { SettingsError } from '../settings';
import type { Dependencies, ObjectStore } from '../ports';
import { PayloadError, parseList, parseNamed, parseNodeWork, record } from './common';

export type Named = { name: string; ip: string };

/** The store, which the stack gives to exactly the Lambdas that read or write the work list. */
export function requireObjects(deps: Pick<Dependencies, 'objects'>): ObjectStore {
  if (!deps.objects) {
    throw new SettingsError([
      'no object store: this Lambda needs the work bucket (PENETRATOR_WORK_BUCKET), a local run its objects directory',
    ]);
  }
  return deps.objects;
}

function count(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new PayloadError(`${what}: expected a whole number`);
  return value;
}

function key(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new PayloadError(`${what}: expected an object key`);
  return value;
}

export function parseWorkRef(value: unknown, what: string): WorkRef {
  const work = record(value, what);
  return {
    listKey: key(work.listKey, `${what}.listKey`),
    skippedKey: key(work.skippedKey, `${what}.skippedKey`),
    resultsPrefix: key(work.resultsPrefix, `${what}.resultsPrefix`),
    nodes: count(work.nodes, `${what}.nodes`),
    skipped: count(work.skipped, `${what}.skipped`),
  };
}

export function parseMapResultRef(value: unknown, what: string): MapResultRef {
  const result = record(value, what);
  const details = record(result.ResultWriterDetails, `${what}.ResultWriterDetails`);
  return {
    ...(typeof result.MapRunArn === 'string' ? { MapRunArn: result.MapRunArn } : {}),
    ResultWriterDetails: {
      Bucket: typeof details.Bucket === 'string' ? details.Bucket : '',
      Key: key(details.Key, `${what}.ResultWriterDetails.Key`),
    },
  };
}

/** Writes the work list (the Map's items) and the skipped list; returns what the state carries. */
export async function writeWork(
  deps: Pick<Dependencies, 'objects'>,
  executionId: string,
  nodes: readonly NodeWork[],
  skipped: readonly Named[],
): Promise<WorkRef> {
  const objects = requireObjects(deps);
  const keys = workKeys(executionId);
  await objects.putJson(keys.listKey, nodes);
  await objects.putJson(keys.skippedKey, skipped);
  return { ...keys, nodes: nodes.length, skipped: skipped.length };
}

async function readList<T>(
  objects: ObjectStore,
  objectKey: string,
  expected: number,
  item: (v: unknown, what: string) => T,
): Promise<T[]> {
  const list = parseList(await objects.getJson(objectKey), objectKey, item);
  if (list.length !== expected)
    throw new PayloadError(`${objectKey}: expected ${expected} entries, found ${list.length}`);
  return list;
}

export function readWorkList(deps: Pick<Dependencies, 'objects'>, work: WorkRef): Promise<NodeWork[]> {
  return readList(requireObjects(deps), work.listKey, work.nodes, parseNodeWork);
}

export function readSkipped(deps: Pick<Dependencies, 'objects'>, work: WorkRef): Promise<Named[]> {
  return readList(requireObjects(deps), work.skippedKey, work.skipped, parseNamed);
}
