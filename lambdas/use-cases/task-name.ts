import { RequestInvalidError } from '../errors';
import { MAX_PREFIX_LENGTH, isDnsSubdomain } from '../domain/names';

/** A task name from a path: what metadata.name accepts, so nothing else reaches a selector or a name. */
export function checkTaskName(name: string): void {
  if (!isDnsSubdomain(name, MAX_PREFIX_LENGTH)) {
    throw new RequestInvalidError(
      `${JSON.stringify(name.slice(0, 80))} is not a task name`,
      `expected a DNS-1123 subdomain of at most ${MAX_PREFIX_LENGTH} characters`,
    );
  }
}
