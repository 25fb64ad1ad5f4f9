/**
 * Requests counted by the apiserver itself: its audit log (one JSON event per request at
 * ResponseComplete, sandbox/control-plane.ts) read back and counted per user.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export async function requestsByUser(auditLogPath: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const lines = createInterface({ input: createReadStream(auditLogPath, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (line === '') continue;
    const event = JSON.parse(line) as { stage?: string; user?: { username?: string } };
    if (event.stage !== 'ResponseComplete') continue;
    const user = event.user?.username ?? '';
    counts.set(user, (counts.get(user) ?? 0) + 1);
  }
  return counts;
}
