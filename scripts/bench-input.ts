/**
 * Benchmark of the input checks a request pays for before anything runs: parsing and validating a
 * NodeTask of growing size (up to the 1 MiB limit), and matching a host against known_hosts lines.
 * It prints the wall time per size, so a superlinear step shows as time growing faster than the
 * size. Usage: npm run bench:input
 */
import { hostFieldMatches } from '../lambdas/direct/known-hosts';
import { parseNodeTaskText } from '../lambdas/domain/node-task';

const HEADER = [
  'apiVersion: nodetask.apps.superedge.io/v1beta1',
  'kind: NodeTask',
  'spec:',
  '  sshCredential: login-secret',
  '  proxyNode: proxy-1',
  '  nodeNamePrefix: edge',
  '  targetMachines: [10.0.0.1, 10.0.0.2]',
  'metadata:',
  '  name: bench',
  '  annotations:',
  '',
].join('\n');

/**
 * A NodeTask of about `bytes` bytes whose bulk is one mapping with many keys (metadata annotations),
 * the shape where a per-key uniqueness check costs the most.
 */
function nodeTaskOfSize(bytes: number): { text: string; keys: number } {
  const lines: string[] = [];
  let size = HEADER.length;
  for (let i = 0; ; i++) {
    const line = `    example.com/key-${i}: value-${i}\n`;
    if (size + line.length > bytes) return { text: HEADER + lines.join(''), keys: i };
    lines.push(line);
    size += line.length;
  }
}

/**
 * The fastest of three runs, as wall time and as this process's CPU time: on a shared machine the
 * other load only ever adds wall time, so the CPU figure is the one to compare between sizes.
 */
function time<T>(run: () => T): { ms: number; cpuMs: number; value: T } {
  let best = { ms: Infinity, cpuMs: Infinity };
  let value = run();
  for (let i = 0; i < 3; i++) {
    const started = process.hrtime.bigint();
    const cpu = process.cpuUsage();
    value = run();
    const used = process.cpuUsage(cpu);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (ms < best.ms) best = { ms, cpuMs: (used.user + used.system) / 1000 };
  }
  return { ...best, value };
}

console.log('NodeTask parse + validate');
console.log('bytes      keys    wall ms cpu ms  verdict');
for (const kib of [64, 128, 256, 512, 1023]) {
  const { text, keys } = nodeTaskOfSize(kib * 1024);
  const { ms, cpuMs, value } = time(() => parseNodeTaskText(text));
  const verdict = value.ok ? 'valid' : (value.problems[0] ?? '').slice(0, 60);
  const figures = [String(text.length).padEnd(10), String(keys).padEnd(7), ms.toFixed(0).padEnd(7)];
  console.log(`${figures.join(' ')} ${cpuMs.toFixed(0).padEnd(7)} ${verdict}`);
}

console.log('\nknown_hosts pattern of n stars against a 60-character name that it does not match');
console.log('stars  ms');
for (const stars of [5, 10, 20, 40]) {
  const pattern = `${'*1'.repeat(stars)}x`;
  const { ms, value } = time(() => hostFieldMatches(pattern, `198.18.${'1'.repeat(53)}`));
  if (value) throw new Error('the pattern was expected not to match');
  console.log(`${String(stars).padEnd(6)} ${ms.toFixed(3)}`);
}
