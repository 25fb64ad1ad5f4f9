/**
 * The name rules every door checks: the API's schemas, the CLI, the NodeTask schema, the local file
 * stores and the CDK context all import them from here, so a name one accepts the others accept too.
 * Pure: no imports, safe for infra/ and the CLI's quick start.
 */

/** Kubernetes label values and DNS labels stop at 63 characters. */
export const MAX_LABEL_LENGTH = 63;
/** DNS subdomains (and so Kubernetes object names) stop at 253. */
export const MAX_SUBDOMAIN_LENGTH = 253;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** RFC 1123 label: lower-case alphanumerics and '-', starting and ending alphanumeric. */
export function isDnsLabel(s: string, maxLength = MAX_LABEL_LENGTH): boolean {
  return s.length <= maxLength && DNS_LABEL.test(s);
}

/** RFC 1123 subdomain: dot-separated labels, at most maxLength characters in all. */
export function isDnsSubdomain(s: string, maxLength = MAX_SUBDOMAIN_LENGTH): boolean {
  return s.length > 0 && s.length <= maxLength && s.split('.').every((label) => isDnsLabel(label));
}

/**
 * A registered cluster's name, as spec.cluster, `penetrator cluster add`, the API and the deployment's
 * defaultCluster take it. Upper case is allowed: the name keys a Secrets Manager secret and starts
 * execution names, both of which take it, and existing registrations use it.
 */
const CLUSTER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const CLUSTER_NAME_RULE = '[A-Za-z0-9._-], at most 63 characters';

export function isClusterName(s: string): boolean {
  return CLUSTER_NAME.test(s);
}

/** An SSH credential's name, as spec.sshCredential names it: a DNS-1123 subdomain. */
export const CREDENTIAL_NAME_RULE =
  'a DNS-1123 subdomain: lower-case letters, digits, "-" and ".", at most 253 characters';

export function isCredentialName(s: string): boolean {
  return isDnsSubdomain(s);
}
