/**
 * The bounds flags of `credential put`/`import` (`--clusters`, `--ranges`) and `cluster add`
 * (`--direct-ranges`): comma-separated lists, checked here by the rules the API applies
 * (lambdas/domain/credential-bounds.ts), so a mistake is refused without a round trip.
 */
import { boundsInputProblems } from '../../lambdas/domain/credential-bounds';
import { CLUSTER_NAME_RULE, isClusterName } from '../../lambdas/domain/name-rules';
import { CliError, EXIT_USAGE } from '../output';

/** `a, b,,c` → [a, b, c]; undefined stays undefined (flag not given). */
export function listFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((word) => word.trim())
    .filter((word) => word !== '');
}

/** The address ranges of a flag, each a CIDR; refused naming the flag and the entry. */
export function rangesFlag(flag: string, value: string | undefined): string[] | undefined {
  const ranges = listFlag(value);
  if (ranges === undefined) return undefined;
  const problems = boundsInputProblems({ [flag]: ranges });
  if (ranges.length === 0) problems.push(`${flag}: give at least one range, e.g. 10.0.0.0/8`);
  if (problems.length > 0) throw new CliError(problems.join('\n'), EXIT_USAGE);
  return ranges;
}

/**
 * The clusters a credential serves. Required: a credential that names none serves no task, so it is
 * refused here rather than stored useless (ADR 0016).
 */
export function clustersFlag(value: string | undefined, credential: string): string[] {
  const clusters = listFlag(value) ?? [];
  if (clusters.length === 0) {
    throw new CliError(
      `credential ${credential} must name the clusters it may be used for`,
      EXIT_USAGE,
      `add --clusters NAME[,NAME…] (and --ranges CIDR,… to limit the machines it may log in to)`,
    );
  }
  const bad = clusters.find((name) => !isClusterName(name));
  if (bad !== undefined) {
    throw new CliError(
      `--clusters: ${JSON.stringify(bad.slice(0, 60))} is not a cluster name`,
      EXIT_USAGE,
      `use ${CLUSTER_NAME_RULE}`,
    );
  }
  const problems = boundsInputProblems({ clusters });
  if (problems.length > 0) throw new CliError(problems.join('\n'), EXIT_USAGE);
  return clusters;
}
