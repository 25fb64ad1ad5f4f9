/**
 * The one judgement of a kubeconfig the product will use, shared by every door: the API's
 * registration, `penetrator cluster add`, local runs and the Lambdas that read a stored one.
 *
 * A kubeconfig is trusted with the next task's join token and SSH credential, so it must pin the
 * apiserver it talks to: an `https` server and a certificate authority embedded in the document.
 * Anything that would let the document reach outside itself is refused: file paths (they name the
 * machine that reads the document, not the one that wrote it), credential plugins (they run a
 * program), and switching TLS verification off. Problems name fields by path, never their values.
 */
import { parseYamlValue } from './yaml-text';

/** Fields holding a path on the reading machine, per section, as kubectl spells them (and as people misspell them). */
const FILE_FIELDS = {
  clusters: ['certificate-authority'],
  users: ['client-certificate', 'client-key', 'tokenFile', 'token-file'],
} as const;

const PLUGIN_FIELDS = ['exec', 'auth-provider'] as const;

type Section = keyof typeof FILE_FIELDS;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function entriesOf(doc: Record<string, unknown>, section: Section | 'contexts'): unknown[] {
  const list = doc[section];
  return Array.isArray(list) ? list : [];
}

/** What an entry of clusters/users says about itself that the product refuses wherever it appears. */
function entryProblems(section: Section, entry: unknown, index: number): string[] {
  const body = isRecord(entry) ? entry[section === 'clusters' ? 'cluster' : 'user'] : undefined;
  if (!isRecord(body)) return [];
  const at = `${section}[${index}].${section === 'clusters' ? 'cluster' : 'user'}`;
  const problems = FILE_FIELDS[section]
    .filter((field) => body[field] !== undefined)
    .map((field) => `${at}.${field}: refers to a file on the reading machine; embed the data instead`);
  if (section === 'clusters' && body['insecure-skip-tls-verify'] === true) {
    problems.push(`${at}.insecure-skip-tls-verify: TLS verification cannot be switched off`);
  }
  if (section === 'users') {
    problems.push(
      ...PLUGIN_FIELDS.filter((field) => body[field] !== undefined).map(
        (field) => `${at}.${field}: a credential plugin runs a program; use a token or a client certificate`,
      ),
    );
  }
  return problems;
}

function isPemCertificate(data: unknown): boolean {
  if (typeof data !== 'string' || !/^[A-Za-z0-9+/=\s]+$/.test(data)) return false;
  return Buffer.from(data, 'base64').toString('utf8').includes('-----BEGIN CERTIFICATE-----');
}

function serverProblem(at: string, server: unknown): string | undefined {
  if (typeof server !== 'string' || server === '') return `${at}.server: missing`;
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    return `${at}.server: not a URL`;
  }
  return url.protocol === 'https:' ? undefined : `${at}.server: must be an https URL`;
}

/** The current context's cluster: an https server and an embedded certificate authority. */
function currentClusterProblems(doc: Record<string, unknown>): string[] {
  const current = doc['current-context'];
  if (typeof current !== 'string' || current === '') return ['current-context: missing'];
  const contexts = entriesOf(doc, 'contexts');
  const context = contexts.find((c) => isRecord(c) && c.name === current);
  const contextBody = isRecord(context) ? context.context : undefined;
  if (!isRecord(contextBody)) return ['current-context: names no entry of contexts'];
  const clusters = entriesOf(doc, 'clusters');
  const index = clusters.findIndex((c) => isRecord(c) && c.name === contextBody.cluster);
  const cluster = clusters[index];
  const body = isRecord(cluster) ? cluster.cluster : undefined;
  if (!isRecord(body)) return ["current-context: its context's cluster is not an entry of clusters"];
  const at = `clusters[${index}].cluster`;
  const problems: string[] = [];
  const server = serverProblem(at, body.server);
  if (server !== undefined) problems.push(server);
  if (!isPemCertificate(body['certificate-authority-data'])) {
    problems.push(`${at}.certificate-authority-data: missing or not a base64 PEM certificate`);
  }
  return problems;
}

/**
 * Every reason the product refuses this kubeconfig, each beginning with the field path; empty when
 * it is acceptable. Linear in the document's size.
 */
export function kubeconfigProblems(text: string): string[] {
  let doc: unknown;
  try {
    doc = parseYamlValue(text, 10);
  } catch {
    // The parser's message may quote the document, credentials included.
    return ['the kubeconfig is not YAML or JSON'];
  }
  if (!isRecord(doc)) return ['the kubeconfig is not a mapping'];
  return [
    ...currentClusterProblems(doc),
    ...entriesOf(doc, 'clusters').flatMap((entry, i) => entryProblems('clusters', entry, i)),
    ...entriesOf(doc, 'users').flatMap((entry, i) => entryProblems('users', entry, i)),
  ];
}
