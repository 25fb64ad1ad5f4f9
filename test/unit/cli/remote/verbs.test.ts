import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addCluster, listClusters } from '../../../../cli/commands/cluster';
import { applyNodeTask, EXIT_INTERRUPTED } from '../../../../cli/commands/apply';
import { putCredential, type CredentialPutOptions } from '../../../../cli/commands/credential';
import { deleteNodeTask } from '../../../../cli/commands/delete';
import { describeNodeTask } from '../../../../cli/commands/describe';
import { taskEvents } from '../../../../cli/commands/events';
import { getNodeTasks } from '../../../../cli/commands/get';
import { CliError } from '../../../../cli/output';
import { ApiClient } from '../../../../cli/remote/api-client';
import type { TaskDetail } from '../../../../cli/remote/api-types';
import type { RemoteIo } from '../../../../cli/remote/connect';
import { ContractServer, TEST_CREDENTIALS } from './contract-server';

const NOW = new Date('2026-11-24T12:00:00Z');
const EXAMPLE = resolve(import.meta.dirname, '../../../../examples/add-nodes.yaml');
const ARN = 'arn:aws:states:eu-west-1:123456789012:execution:Penetrator-workflow:prod--nodes--a1b2c3';

const server = new ContractServer();
let api: ApiClient;
const dir = mkdtempSync(join(tmpdir(), 'penetrator-remote-'));

beforeAll(async () => {
  const endpoint = await server.start();
  api = new ApiClient({
    endpoint: new URL(endpoint),
    region: 'eu-west-1',
    credentials: TEST_CREDENTIALS,
    retryDelayMs: 10,
  });
});
afterAll(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => server.reset());

function capture(): RemoteIo & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (t: string) => void (io.out += t),
    stderr: (t: string) => void (io.err += t),
    now: () => NOW,
  };
  return io;
}

function detail(overrides: Partial<TaskDetail> = {}): TaskDetail {
  return {
    apiVersion: 'nodetask.apps.superedge.io/v1beta1',
    kind: 'NodeTask',
    metadata: { name: 'nodes' },
    spec: {
      nodeNamePrefix: 'edge',
      targetMachines: ['172.21.3.194', '172.21.3.195'],
      sshCredential: 'login-secret',
      proxyNode: 'vm-2-117-centos',
    },
    status: {
      nodetaskStatus: 'creating',
      nodeStatus: { 'edge-bbbbbb': '172.21.3.195' },
      progress: { total: 2, installed: 1, failed: 1, pending: 0 },
      nodes: [
        { name: 'edge-aaaaaa', ip: '172.21.3.194', state: 'installed', attempts: 1 },
        {
          name: 'edge-bbbbbb',
          ip: '172.21.3.195',
          state: 'failed',
          attempts: 3,
          reason: 'ssh: connect to host 172.21.3.195 port 22: Connection refused',
        },
      ],
    },
    execution: {
      arn: ARN,
      status: 'FAILED',
      startDate: '2026-11-24T11:55:00Z',
      stopDate: '2026-11-24T11:59:30Z',
    },
    ...overrides,
  };
}

const submitted = {
  name: 'nodes',
  cluster: 'prod',
  executionArn: ARN,
  statusUrl: '/tasks/nodes?cluster=prod',
};

describe('apply', () => {
  it('sends the file unchanged as YAML to the named cluster and prints what started', async () => {
    server.script('POST /prod/tasks', { status: 202, body: submitted });
    const io = capture();
    await expect(applyNodeTask(api, { file: EXAMPLE, cluster: 'prod' }, io)).resolves.toBe(0);
    const [request] = server.requests;
    expect(request!.body).toBe((await import('node:fs')).readFileSync(EXAMPLE, 'utf8'));
    expect(request!.headers['content-type']).toBe('application/yaml');
    expect(request!.query).toEqual({ cluster: 'prod' });
    expect(io.out).toBe(`nodetask/nodes submitted to cluster prod (execution ${ARN})\n`);
  });

  it('sends a JSON document as JSON and prints the answer with -o json', async () => {
    const file = join(dir, 'task.json');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'nodetask.apps.superedge.io/v1beta1',
        kind: 'NodeTask',
        metadata: { name: 'nodes' },
        spec: {
          nodeNamePrefix: 'edge',
          targetMachines: ['10.0.0.1'],
          sshCredential: 'login-secret',
          proxyNode: 'p',
        },
      }),
    );
    server.script('POST /prod/tasks', { status: 202, body: submitted });
    const io = capture();
    await applyNodeTask(api, { file, output: 'json' }, io);
    expect(server.requests[0]!.headers['content-type']).toBe('application/json');
    expect(server.requests[0]!.query).toEqual({});
    expect(JSON.parse(io.out)).toEqual(submitted);
  });

  it('refuses an invalid document before any request, listing every problem', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'apiVersion: nodetask.apps.superedge.io/v1beta1\nkind: NodeTask\nmetadata:\n  name: nodes\nspec:\n  targetMachines: [300.1.1.1]\n',
    );
    const error = (await applyNodeTask(api, { file }, capture()).catch((e: unknown) => e)) as CliError;
    expect(error).toBeInstanceOf(CliError);
    const lines = error.message.split('\n');
    expect(lines[0]).toBe('invalid NodeTask');
    expect(lines.some((l) => l.startsWith('  spec.targetMachines[0]:'))).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  it('--wait follows the task until its execution ends, one line per change, then the node table', async () => {
    server.script('POST /prod/tasks', { status: 202, body: submitted });
    // Before Prepare the task object does not exist yet: 404 is "not yet", not an error.
    server.script('GET /prod/tasks/nodes', { status: 404, body: { message: 'nodetask nodes not found' } });
    const running = detail({
      status: {
        nodetaskStatus: 'creating',
        progress: { total: 2, installed: 0, failed: 0, pending: 2 },
        nodes: [
          { name: 'edge-aaaaaa', ip: '172.21.3.194', state: 'installing', attempts: 1 },
          { name: 'edge-bbbbbb', ip: '172.21.3.195', state: 'pending', attempts: 0 },
        ],
      },
      execution: { arn: ARN, status: 'RUNNING', startDate: '2026-11-24T11:55:00Z' },
    });
    server.script('GET /prod/tasks/nodes', { status: 200, body: running });
    server.script('GET /prod/tasks/nodes', { status: 200, body: running });
    server.script('GET /prod/tasks/nodes', { status: 200, body: detail() });
    const io = capture();
    const code = await applyNodeTask(api, { file: EXAMPLE, cluster: 'prod', wait: true, interval: 0.01 }, io);

    expect(code).toBe(1);
    expect(
      server.requests.map((r) => `${r.method} ${r.path}?${new URLSearchParams(r.query).toString()}`),
    ).toEqual([
      'POST /prod/tasks?cluster=prod',
      'GET /prod/tasks/nodes?cluster=prod',
      'GET /prod/tasks/nodes?cluster=prod',
      'GET /prod/tasks/nodes?cluster=prod',
      'GET /prod/tasks/nodes?cluster=prod',
    ]);
    const progress = io.err
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^\[\d\d:\d\d:\d\d\] /, ''));
    expect(progress).toEqual([
      `nodetask/nodes submitted to cluster prod (execution ${ARN})`,
      'edge-aaaaaa 172.21.3.194  installing (attempt 1)',
      'edge-bbbbbb 172.21.3.195  pending',
      '0/2 installed, 0 failed, 2 pending',
      'edge-aaaaaa 172.21.3.194  installed',
      'edge-bbbbbb 172.21.3.195  failed (attempt 3): ssh: connect to host 172.21.3.195 port 22: Connection refused',
      '1/2 installed, 1 failed, 0 pending',
    ]);
    expect(io.out).toBe(
      [
        'NAME          IP             STATE       ATTEMPTS   REASON',
        'edge-aaaaaa   172.21.3.194   installed   1          <none>',
        'edge-bbbbbb   172.21.3.195   failed      3          ssh: connect to host 172.21.3.195 port 22: Connection refused',
        'nodetask/nodes failed: 1 of 2 nodes failed',
        '',
      ].join('\n'),
    );
  });

  it('--wait exits 0 when the execution succeeded', async () => {
    server.script('POST /prod/tasks', { status: 202, body: submitted });
    const done = detail({
      status: {
        nodetaskStatus: 'ready',
        progress: { total: 1, installed: 1, failed: 0, pending: 0 },
        nodes: [{ name: 'edge-aaaaaa', ip: '172.21.3.194', state: 'installed', attempts: 1 }],
      },
      execution: { arn: ARN, status: 'SUCCEEDED', startDate: '2026-11-24T11:55:00Z' },
    });
    server.route('GET /prod/tasks/nodes', () => ({ status: 200, body: done }));
    const io = capture();
    await expect(applyNodeTask(api, { file: EXAMPLE, wait: true, interval: 0.01 }, io)).resolves.toBe(0);
    expect(io.out.endsWith('nodetask/nodes succeeded\n')).toBe(true);
  });

  it('--wait stops waiting at its deadline and when interrupted, leaving the task running', async () => {
    const running = detail({ execution: { arn: ARN, status: 'RUNNING', startDate: '2026-11-24T11:55:00Z' } });
    server.route('POST /prod/tasks', () => ({ status: 202, body: submitted }));
    server.route('GET /prod/tasks/nodes', () => ({ status: 200, body: running }));
    const error = (await applyNodeTask(
      api,
      { file: EXAMPLE, wait: true, interval: 0.05, waitTimeout: 0.2 },
      capture(),
    ).catch((e: unknown) => e)) as CliError;
    expect(error.message).toBe('nodetask/nodes is still running after 0 s; stopped waiting');
    expect(error.hint).toBe('follow it with: penetrator describe nodetask nodes --cluster prod');
    expect(server.requests.filter((r) => r.method === 'DELETE')).toHaveLength(0);

    const controller = new AbortController();
    const io = capture();
    setTimeout(() => controller.abort(), 100);
    await expect(
      applyNodeTask(api, { file: EXAMPLE, wait: true, interval: 0.02 }, io, controller.signal),
    ).resolves.toBe(EXIT_INTERRUPTED);
    expect(io.err).toMatch(/stopped waiting; nodetask\/nodes keeps running/);
  });
});

describe('get', () => {
  it('lists tasks as a kubectl table, ages from the start date', async () => {
    server.route('GET /prod/tasks', () => ({
      status: 200,
      body: {
        items: [
          {
            name: 'nodes',
            cluster: 'prod',
            nodetaskStatus: 'ready',
            total: 2,
            installed: 2,
            failed: 0,
            executionArn: ARN,
            executionStatus: 'SUCCEEDED',
            startDate: '2026-11-24T11:00:00Z',
          },
          {
            name: 'site-b',
            cluster: 'prod',
            nodetaskStatus: 'creating',
            total: 120,
            installed: 7,
            failed: 1,
            executionArn: 'arn:2',
            executionStatus: 'RUNNING',
            startDate: '2026-11-24T11:58:30Z',
          },
        ],
      },
    }));
    const io = capture();
    await getNodeTasks(api, undefined, { cluster: 'prod' }, io);
    expect(server.requests[0]!.query).toEqual({ cluster: 'prod' });
    expect(io.out).toBe(
      [
        'NAME     CLUSTER   STATUS     NODES   INSTALLED   FAILED   AGE',
        'nodes    prod      ready      2       2           0        60m',
        'site-b   prod      creating   120     7           1        90s',
        '',
      ].join('\n'),
    );
    const wide = capture();
    await getNodeTasks(api, undefined, { cluster: 'prod', output: 'wide' }, wide);
    expect(wide.out.split('\n')[0]).toBe(
      'NAME     CLUSTER   STATUS     NODES   INSTALLED   FAILED   AGE   EXECUTION   EXECUTION-ARN',
    );
  });

  it('shows one task as a row, and as the original NodeTask shape with -o yaml', async () => {
    server.route('GET /prod/tasks/nodes', () => ({ status: 200, body: detail() }));
    const io = capture();
    await getNodeTasks(api, 'nodes', { cluster: 'prod' }, io);
    expect(io.out).toBe(
      [
        'NAME    CLUSTER   STATUS     NODES   INSTALLED   FAILED   AGE',
        'nodes   prod      creating   2       1           1        5m',
        '',
      ].join('\n'),
    );
    const yaml = capture();
    await getNodeTasks(api, 'nodes', { output: 'yaml' }, yaml);
    const { parse } = await import('yaml');
    expect(parse(yaml.out)).toEqual(detail());
  });

  it('passes a 404 on as its message', async () => {
    server.route('GET /prod/tasks/nope', () => ({
      status: 404,
      body: { message: 'nodetask nope not found on cluster prod' },
    }));
    await expect(getNodeTasks(api, 'nope', {}, capture())).rejects.toThrow(
      'nodetask nope not found on cluster prod',
    );
  });
});

describe('the describe and events verbs', () => {
  const events = {
    items: [
      {
        type: 'Warning',
        reason: 'InstallFailed',
        message: 'edge-bbbbbb 172.21.3.195: ssh refused',
        count: 3,
        firstTimestamp: '2026-11-24T11:56:00Z',
        lastTimestamp: '2026-11-24T11:59:00Z',
      },
      {
        type: 'Normal',
        reason: 'Planned',
        message: '2 machines to install',
        count: 1,
        firstTimestamp: '2026-11-24T11:55:00Z',
        lastTimestamp: '2026-11-24T11:55:00Z',
      },
    ],
  };

  it('describes spec, status, execution, nodes and events, oldest event first', async () => {
    server.route('GET /prod/tasks/nodes', () => ({ status: 200, body: detail() }));
    server.route('GET /prod/tasks/nodes/events', () => ({ status: 200, body: events }));
    const io = capture();
    await describeNodeTask(api, 'nodes', { cluster: 'prod' }, io);
    expect(io.out).toBe(
      [
        'Name:         nodes',
        'Cluster:      prod',
        'Api Version:  nodetask.apps.superedge.io/v1beta1',
        'Kind:         NodeTask',
        'Spec:',
        '  Node Name Prefix:  edge',
        '  Target Machines:   172.21.3.194, 172.21.3.195',
        '  Ssh Credential:    login-secret',
        '  Proxy Node:        vm-2-117-centos',
        'Status:',
        '  Nodetask Status:  creating',
        '  Progress:         1/2 installed, 1 failed, 0 pending',
        'Execution:',
        '  Status:   FAILED',
        '  Started:  2026-11-24T11:55:00Z (5m ago)',
        '  Stopped:  2026-11-24T11:59:30Z (30s ago)',
        `  Arn:      ${ARN}`,
        'Nodes:',
        '  NAME          IP             STATE       ATTEMPTS   REASON',
        '  edge-aaaaaa   172.21.3.194   installed   1          <none>',
        '  edge-bbbbbb   172.21.3.195   failed      3          ssh: connect to host 172.21.3.195 port 22: Connection refused',
        'Events:',
        '  TYPE      REASON          AGE                MESSAGE',
        '  Normal    Planned         5m                 2 machines to install',
        '  Warning   InstallFailed   60s (x3 over 4m)   edge-bbbbbb 172.21.3.195: ssh refused',
        '',
      ].join('\n'),
    );
  });

  it('still describes the task when its events cannot be read', async () => {
    server.route('GET /prod/tasks/nodes', () => ({ status: 200, body: detail() }));
    server.route('GET /prod/tasks/nodes/events', () => ({
      status: 500,
      body: { message: 'apiserver unavailable' },
    }));
    const io = capture();
    await describeNodeTask(api, 'nodes', {}, io);
    expect(io.out).toMatch(/\nEvents:\n {2}<unavailable>\n$/);
    expect(io.err).toMatch(/^warning: events unavailable: the Penetrator API failed/);
  });

  it('lists events as TYPE REASON AGE MESSAGE', async () => {
    server.route('GET /prod/tasks/nodes/events', () => ({ status: 200, body: events }));
    const io = capture();
    await taskEvents(api, 'nodes', { cluster: 'prod' }, io);
    expect(server.requests[0]!.query).toEqual({ cluster: 'prod' });
    expect(io.out.split('\n')[0]).toBe('TYPE      REASON          AGE                MESSAGE');
    expect(io.out.split('\n')).toHaveLength(4);
  });
});

describe('delete', () => {
  it('cancels, then reads the task back to confirm its execution stopped', async () => {
    server.route('DELETE /prod/tasks/nodes', () => ({
      status: 202,
      body: { name: 'nodes', cancelled: true },
    }));
    server.route('GET /prod/tasks/nodes', () => ({
      status: 200,
      body: detail({ execution: { arn: ARN, status: 'ABORTED' } }),
    }));
    const io = capture();
    await expect(deleteNodeTask(api, 'nodes', { cluster: 'prod' }, io)).resolves.toBe(0);
    expect(server.requests.map((r) => `${r.method} ${r.path} ${r.query.cluster}`)).toEqual([
      'DELETE /prod/tasks/nodes prod',
      'GET /prod/tasks/nodes prod',
    ]);
    expect(io.out).toBe('nodetask/nodes cancelled\nexecution: ABORTED\n');
  });
});

describe('credential put', () => {
  it('sends the password read from stdin, never from the command line', async () => {
    server.route('PUT /prod/credentials/login-secret', () => ({ status: 204 }));
    const io = capture();
    await putCredential(api, 'login-secret', { clusters: 'prod', passwordStdin: true }, io, () =>
      Promise.resolve('s3cret-value'),
    );
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ passwd: 's3cret-value', clusters: ['prod'] });
    expect(io.out).toBe('credential/login-secret stored (password) for clusters prod\n');
    expect(io.out + io.err).not.toContain('s3cret-value');

    await expect(
      putCredential(api, 'login-secret', { clusters: 'prod', password: 'x' }, capture()),
    ).rejects.toThrow(/a password on the command line is refused/);
    await expect(putCredential(api, 'login-secret', { clusters: 'prod' }, capture())).rejects.toThrow(
      'give exactly one of --password-stdin, --ssh-key, --from-file=passwd=FILE and --from-file=sshkey=FILE',
    );
    expect(server.requests).toHaveLength(1);
  });

  it('sends a password with known hosts: a password goes only to a host whose key is known', async () => {
    const known = join(dir, 'known_hosts');
    writeFileSync(known, '198.18.1.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnown\n');
    server.route('PUT /prod/credentials/login-secret', () => ({ status: 204 }));
    const io = capture();
    await putCredential(
      api,
      'login-secret',
      { clusters: 'prod', passwordStdin: true, knownHosts: known },
      io,
      () => Promise.resolve('s3cret-value'),
    );
    expect(JSON.parse(server.requests[0]!.body)).toEqual({
      passwd: 's3cret-value',
      knownHosts: '198.18.1.10 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnown\n',
      clusters: ['prod'],
    });
    expect(io.out).toBe('credential/login-secret stored (password, known hosts) for clusters prod\n');
  });

  it('sends a private key with known hosts, and refuses a public key', async () => {
    const key = join(dir, 'id_ed25519');
    const pub = join(dir, 'id_ed25519.pub');
    const known = join(dir, 'known_hosts');
    const keyText =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
    writeFileSync(key, keyText);
    writeFileSync(pub, 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample user@host\n');
    writeFileSync(known, '172.21.3.194 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost\n');
    server.route('PUT /prod/credentials/login-key', () => ({ status: 204 }));
    const io = capture();
    await putCredential(api, 'login-key', { clusters: 'prod', sshKey: key, knownHosts: known }, io);
    expect(JSON.parse(server.requests[0]!.body)).toEqual({
      sshkey: keyText,
      knownHosts: '172.21.3.194 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost\n',
      clusters: ['prod'],
    });
    expect(io.out).toBe('credential/login-key stored (private key, known hosts) for clusters prod\n');

    const error = (await putCredential(api, 'login-key', { clusters: 'prod', sshKey: pub }, capture()).catch(
      (e: unknown) => e,
    )) as CliError;
    expect(error.message).toBe(`${pub} is not a private key`);
    expect(error.hint).toMatch(/public key/);
    expect(server.requests).toHaveLength(1);
  });
});

describe('credential put bounds', () => {
  it('sends the clusters and ranges the flags name', async () => {
    server.route('PUT /prod/credentials/login-secret', () => ({ status: 204 }));
    const io = capture();
    await putCredential(
      api,
      'login-secret',
      { passwordStdin: true, clusters: 'prod, lab', ranges: '10.20.0.0/16,fd00::/64' },
      io,
      () => Promise.resolve('s3cret-value'),
    );
    expect(JSON.parse(server.requests[0]!.body)).toEqual({
      passwd: 's3cret-value',
      clusters: ['prod', 'lab'],
      ranges: ['10.20.0.0/16', 'fd00::/64'],
    });
    expect(io.out).toBe(
      'credential/login-secret stored (password) for clusters prod, lab; ranges 10.20.0.0/16, fd00::/64\n',
    );
  });

  it('refuses a credential without clusters, a bad cluster name and a range that is not a CIDR, before reading the secret', async () => {
    const refusals: Array<[CredentialPutOptions, string | RegExp]> = [
      [{ passwordStdin: true }, 'credential login-secret must name the clusters it may be used for'],
      [{ passwordStdin: true, clusters: ' , ' }, 'credential login-secret must name the clusters'],
      [{ passwordStdin: true, clusters: 'prod/x' }, '--clusters: "prod/x" is not a cluster name'],
      [{ passwordStdin: true, clusters: 'prod', ranges: '10.0.0.0' }, /--ranges\[0\]: .*prefix length/],
    ];
    for (const [options, message] of refusals) {
      await expect(
        putCredential(api, 'login-secret', options, capture(), () =>
          Promise.reject(new Error('stdin must not be read')),
        ),
      ).rejects.toThrow(message);
    }
    expect(server.requests).toHaveLength(0);
  });
});

describe('credential put --from-file, as the original stores its login-secret', () => {
  it('sends the password file without its final line break, and the key file as it is', async () => {
    const passwd = join(dir, 'passwd');
    const key = join(dir, 'sshkey');
    const keyText =
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n';
    writeFileSync(passwd, 's3cret value\n');
    writeFileSync(key, keyText);
    server.route('PUT /prod/credentials/login-secret', () => ({ status: 204 }));
    const io = capture();
    await putCredential(api, 'login-secret', { clusters: 'prod', fromFile: [`passwd=${passwd}`] }, io, () =>
      Promise.reject(new Error('stdin must not be read')),
    );
    await putCredential(api, 'login-secret', { clusters: 'prod', fromFile: [`sshkey=${key}`] }, io);
    expect(server.requests.map((r) => JSON.parse(r.body) as unknown)).toEqual([
      { passwd: 's3cret value', clusters: ['prod'] },
      { sshkey: keyText, clusters: ['prod'] },
    ]);
    expect(io.out).toBe(
      'credential/login-secret stored (password) for clusters prod\ncredential/login-secret stored (private key) for clusters prod\n',
    );
    expect(io.out + io.err).not.toContain('s3cret');
  });

  it('refuses an unknown key, a key given twice, both a password and a key, and an empty password file', async () => {
    const passwd = join(dir, 'passwd');
    const empty = join(dir, 'empty');
    writeFileSync(passwd, 's3cret\n');
    writeFileSync(empty, '\n');
    const refusals: Array<[CredentialPutOptions, string | RegExp]> = [
      [{ fromFile: ['password=./x'] }, /"password=.\/x" is not KEY=FILE/],
      [{ fromFile: [`passwd=${passwd}`, `passwd=${passwd}`] }, '--from-file gives passwd twice'],
      [{ fromFile: [`passwd=${passwd}`], passwordStdin: true }, /give exactly one of/],
      [{ fromFile: [`passwd=${passwd}`, `sshkey=${passwd}`] }, /give exactly one of/],
      [{ fromFile: [`passwd=${empty}`] }, `${empty} is empty`],
    ];
    for (const [options, message] of refusals) {
      await expect(
        putCredential(api, 'login-secret', { clusters: 'prod', ...options }, capture()),
      ).rejects.toThrow(message);
    }
    expect(server.requests).toHaveLength(0);
  });
});

describe('cluster add and list', () => {
  const ca = Buffer.from(readFileSync('test/fixtures/certs/kubernetes-ca.crt', 'utf8')).toString('base64');
  const good = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: prod',
    '  cluster:',
    '    server: https://10.0.0.1:6443',
    `    certificate-authority-data: ${ca}`,
    'users:',
    '- name: admin',
    '  user:',
    '    token: abc.def',
    'contexts:',
    '- name: admin@prod',
    '  context: {cluster: prod, user: admin}',
    'current-context: admin@prod',
    '',
  ].join('\n');

  it('registers a self-contained kubeconfig, without replacing an existing name', async () => {
    const file = join(dir, 'prod.kubeconfig');
    writeFileSync(file, good);
    server.route('PUT /prod/clusters/prod', () => ({ status: 204 }));
    const io = capture();
    await addCluster(api, 'prod', { kubeconfig: file }, io);
    expect(JSON.parse(server.requests[0]!.body)).toEqual({ kubeconfig: good });
    expect(server.requests[0]!.query).toEqual({});
    expect(io.out).toBe('cluster/prod registered\n');
  });

  it('sends the ranges direct mode may reach, and refuses one that is not a CIDR without calling the API', async () => {
    const file = join(dir, 'prod.kubeconfig');
    writeFileSync(file, good);
    server.route('PUT /prod/clusters/prod', () => ({ status: 204 }));
    await addCluster(
      api,
      'prod',
      { kubeconfig: file, directRanges: '10.20.0.0/16, 10.30.0.0/16' },
      capture(),
    );
    expect(JSON.parse(server.requests[0]!.body)).toEqual({
      kubeconfig: good,
      directRanges: ['10.20.0.0/16', '10.30.0.0/16'],
    });
    await expect(
      addCluster(api, 'prod', { kubeconfig: file, directRanges: '10.20.0.0/40' }, capture()),
    ).rejects.toThrow(/--direct-ranges\[0\]: .*prefix length of 0 to 32/);
    expect(server.requests).toHaveLength(1);
  });

  it('asks for a replacement only when --replace is given', async () => {
    const file = join(dir, 'prod.kubeconfig');
    writeFileSync(file, good);
    server.route('PUT /prod/clusters/prod', () => ({ status: 204 }));
    const io = capture();
    await addCluster(api, 'prod', { kubeconfig: file, replace: true }, io);
    expect(server.requests[0]!.query).toEqual({ replace: 'true' });
    expect(io.out).toBe('cluster/prod replaced\n');
  });

  it('refuses a kubeconfig by the rules the API applies, without quoting it or calling the API', async () => {
    const file = join(dir, 'local.kubeconfig');
    writeFileSync(
      file,
      good
        .replace(`    certificate-authority-data: ${ca}`, '    certificate-authority: /home/me/ca.crt')
        .replace('    token: abc.def', '    exec:\n      command: aws'),
    );
    const error = (await addCluster(api, 'prod', { kubeconfig: file }, capture()).catch(
      (e: unknown) => e,
    )) as CliError;
    expect(error.message).toContain('clusters[0].cluster.certificate-authority: refers to a file');
    expect(error.message).toContain('users[0].user.exec: a credential plugin runs a program');
    expect(error.message).not.toContain('/home/me');
    expect(error.hint).toMatch(/--flatten/);
    expect(server.requests).toHaveLength(0);
  });

  it('lists clusters', async () => {
    server.route('GET /prod/clusters', () => ({
      status: 200,
      body: { items: [{ name: 'prod' }, { name: 'staging' }] },
    }));
    const io = capture();
    await listClusters(api, {}, io);
    expect(io.out).toBe('NAME\nprod\nstaging\n');
  });
});
