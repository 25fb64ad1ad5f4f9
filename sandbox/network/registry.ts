import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { runSync } from './exec';
import { FIRST_SLOT, HOST_LINK_PATTERN, LAST_SLOT, NETNS_PATTERN, ROUTE_PROTO, slotOfPrefix } from './naming';

/**
 * Bookkeeping of every resource an edge network creates outside its own process: namespaces, host
 * links, host routes, address slots, processes and files. A record is written to disk *before* each
 * resource exists, so that stop(), the exit hooks of a crashing process, and the sweep at the next
 * start can all remove the same things in the same order.
 */

const STATE_ROOT = '/run/penetrator-edge';
const RUNS_DIR = join(STATE_ROOT, 'runs');
const SLOTS_DIR = join(STATE_ROOT, 'slots');

export interface RunRecord {
  id: string;
  ownerPid: number;
  /** Start time of the owner (field 22 of /proc/<pid>/stat), so a reused pid is not mistaken for it. */
  ownerStart: string;
  /** Directory holding the network's files; removed at teardown. */
  dir: string;
  slots: number[];
  /** Caller-chosen site subnets reserved by this run (see reserveSubnet). */
  subnets?: string[];
  /** Host route prefixes tagged with ROUTE_PROTO; removed last. */
  routes: string[];
  hostLinks: string[];
  /** In creation order; deleted in reverse. */
  namespaces: string[];
  pids: number[];
}

export function newRecord(id: string, dir: string): RunRecord {
  return {
    id,
    ownerPid: process.pid,
    ownerStart: processStartTime(process.pid) ?? '',
    dir,
    slots: [],
    routes: [],
    hostLinks: [],
    namespaces: [],
    pids: [],
  };
}

export function saveRecord(record: RunRecord): void {
  mkdirSync(RUNS_DIR, { recursive: true, mode: 0o700 });
  const file = join(RUNS_DIR, `${record.id}.json`);
  writeFileSync(`${file}.tmp`, JSON.stringify(record));
  renameSync(`${file}.tmp`, file);
}

/** Takes a free address slot for the network (atomically: mkdir fails when another run holds it). */
export function allocateSlot(record: RunRecord): number {
  mkdirSync(SLOTS_DIR, { recursive: true, mode: 0o700 });
  for (let slot = FIRST_SLOT; slot <= LAST_SLOT; slot += 1) {
    const dir = join(SLOTS_DIR, String(slot));
    try {
      mkdirSync(dir);
    } catch {
      continue;
    }
    writeFileSync(join(dir, 'owner'), record.id);
    record.slots.push(slot);
    saveRecord(record);
    return slot;
  }
  throw new Error(`no free address slot in ${FIRST_SLOT}..${LAST_SLOT}: stop other edge networks first`);
}

function subnetEntry(subnet: string): string {
  return `net-${subnet.replace('/', '_')}`;
}

/**
 * Reserves a caller-chosen site subnet machine-wide, like a slot: two live networks never route the
 * same addresses. The entry shares the slots directory so the stale sweep frees it the same way.
 */
export function reserveSubnet(record: RunRecord, subnet: string): void {
  mkdirSync(SLOTS_DIR, { recursive: true, mode: 0o700 });
  const dir = join(SLOTS_DIR, subnetEntry(subnet));
  try {
    mkdirSync(dir);
  } catch {
    let owner = 'another edge network';
    try {
      owner = `edge network ${readFileSync(join(dir, 'owner'), 'utf8')}`;
    } catch {
      // Owner file not written yet.
    }
    throw new Error(`subnet ${subnet} is in use by ${owner}: stop it first (penetrator sandbox down)`);
  }
  writeFileSync(join(dir, 'owner'), record.id);
  record.subnets = [...(record.subnets ?? []), subnet];
  saveRecord(record);
}

function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function ownerAlive(record: RunRecord): boolean {
  if (record.ownerPid === process.pid) return true;
  // A killed owner whose parent has not reaped it yet is a zombie: its /proc entry, start time
  // included, outlives it, but it owns nothing any more.
  if (!alive(record.ownerPid)) return false;
  const start = processStartTime(record.ownerPid);
  return start !== undefined && start === record.ownerStart;
}

function readRecords(): RunRecord[] {
  if (!existsSync(RUNS_DIR)) return [];
  const records: RunRecord[] = [];
  for (const file of readdirSync(RUNS_DIR)) {
    if (!file.endsWith('.json')) continue;
    try {
      records.push(JSON.parse(readFileSync(join(RUNS_DIR, file), 'utf8')) as RunRecord);
    } catch {
      // A record torn by a crash mid-write: its resources are found by name in the orphan sweep.
      rmSync(join(RUNS_DIR, file), { force: true });
    }
  }
  return records;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A zombie counts as gone: teardown is synchronous, so our own children cannot be reaped meanwhile. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function netnsPids(netns: string): number[] {
  const result = runSync(['ip', 'netns', 'pids', netns]);
  if (result.code !== 0) return [];
  return result.stdout
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 1 && pid !== process.pid);
}

/** Every process inside the namespaces, plus the recorded ones: TERM, a bounded wait, then KILL. */
function killProcesses(record: Pick<RunRecord, 'namespaces' | 'pids'>): void {
  const pids = new Set(record.pids.filter((pid) => pid > 1 && pid !== process.pid));
  for (const netns of record.namespaces) for (const pid of netnsPids(netns)) pids.add(pid);
  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        pids.delete(pid);
      }
    }
    for (let i = 0; i < 40 && [...pids].some(alive); i += 1) sleepSync(50);
    for (const pid of [...pids]) if (!alive(pid)) pids.delete(pid);
    if (pids.size === 0) return;
  }
}

function existingNetns(): string[] {
  const result = runSync(['ip', '-j', 'netns', 'list']);
  if (result.code !== 0 || result.stdout.trim() === '') return [];
  return (JSON.parse(result.stdout) as Array<{ name: string }>).map((entry) => entry.name);
}

function existingHostLinks(): string[] {
  const result = runSync(['ip', '-j', 'link', 'show']);
  if (result.code !== 0) return [];
  return (JSON.parse(result.stdout) as Array<{ ifname: string }>).map((link) => link.ifname);
}

function ourRoutePrefixes(): string[] {
  const result = runSync(['ip', '-j', 'route', 'show', 'proto', ROUTE_PROTO]);
  if (result.code !== 0 || result.stdout.trim() === '') return [];
  return (JSON.parse(result.stdout) as Array<{ dst: string }>).map((route) => route.dst);
}

function flushRoutes(prefix: string): void {
  // `exact` + our protocol: only the routes this product added for that prefix, never anyone else's.
  runSync(['ip', 'route', 'flush', 'exact', prefix, 'proto', ROUTE_PROTO]);
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function releaseSlot(slot: number | string, id: string): void {
  const dir = join(SLOTS_DIR, String(slot));
  try {
    if (readFileSync(join(dir, 'owner'), 'utf8') !== id) return;
  } catch {
    // No owner file: the slot was taken by a run that crashed between mkdir and write.
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes everything a record lists, in the order that keeps the host safe: processes, namespaces
 * (taking their veths and rules with them), host links, files, and only then the routes that keep
 * site addresses off eth0 and the slots that reserve those addresses. Never throws; synchronous
 * because it also runs from exit hooks.
 */
export function teardownSync(record: RunRecord): void {
  killProcesses(record);
  for (const netns of [...record.namespaces].reverse()) runSync(['ip', 'netns', 'delete', netns]);
  const links = new Set(existingHostLinks());
  for (const link of record.hostLinks) if (links.has(link)) runSync(['ip', 'link', 'delete', link]);
  try {
    rmSync(record.dir, { recursive: true, force: true });
  } catch {
    // Best effort: a busy file must not keep the routes and namespaces from being removed.
  }
  for (const prefix of record.routes) flushRoutes(prefix);
  for (const slot of record.slots) releaseSlot(slot, record.id);
  for (const subnet of record.subnets ?? []) releaseSlot(subnetEntry(subnet), record.id);
  rmSync(join(RUNS_DIR, `${record.id}.json`), { force: true });
}

/**
 * Cleans up after runs whose owner died without stop(): first by their records, then anything still
 * carrying the product's names or route protocol that no live run claims.
 */
export function sweepStale(): void {
  const live = new Set<string>();
  const liveRoutes = new Set<string>();
  for (const record of readRecords()) {
    if (ownerAlive(record)) {
      live.add(record.id);
      for (const prefix of record.routes) liveRoutes.add(prefix);
    } else teardownSync(record);
  }
  const unclaimed = (name: string, pattern: RegExp): boolean => {
    const id = pattern.exec(name)?.[1];
    return id !== undefined && !live.has(id);
  };
  const orphanNetns = existingNetns().filter((name) => unclaimed(name, NETNS_PATTERN));
  killProcesses({ namespaces: orphanNetns, pids: [] });
  for (const netns of orphanNetns) runSync(['ip', 'netns', 'delete', netns]);
  for (const link of existingHostLinks()) {
    if (unclaimed(link, HOST_LINK_PATTERN)) runSync(['ip', 'link', 'delete', link]);
  }
  const liveSlots = sweepSlots(live);
  for (const prefix of ourRoutePrefixes()) {
    const slot = slotOfPrefix(prefix);
    if (liveRoutes.has(prefix)) continue;
    if (slot === undefined || !liveSlots.has(slot)) flushRoutes(prefix);
  }
}

/** Frees the slots of dead runs; returns the slots live runs hold. */
function sweepSlots(live: ReadonlySet<string>): Set<number> {
  const liveSlots = new Set<number>();
  if (!existsSync(SLOTS_DIR)) return liveSlots;
  for (const entry of readdirSync(SLOTS_DIR)) {
    let owner = '';
    try {
      owner = readFileSync(join(SLOTS_DIR, entry, 'owner'), 'utf8');
    } catch {
      // Without an owner file the slot is a crash leftover unless a live run is writing it right now.
    }
    if (live.has(owner)) liveSlots.add(Number(entry));
    else if (owner !== '' || ageMs(join(SLOTS_DIR, entry)) > 60_000) {
      rmSync(join(SLOTS_DIR, entry), { recursive: true, force: true });
    }
  }
  return liveSlots;
}

const liveRecords = new Map<string, RunRecord>();
let hooksInstalled = false;

function cleanupLive(): void {
  for (const record of liveRecords.values()) teardownSync(record);
  liveRecords.clear();
}

/** Tears the network down if the process exits or is signalled before stop() ran. */
export function registerLive(record: RunRecord): void {
  liveRecords.set(record.id, record);
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupLive);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupLive();
      // Another handler (a test runner's) decides what the signal means; otherwise die of it as usual.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

export function unregisterLive(id: string): void {
  liveRecords.delete(id);
}
