import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import {
  LogLevel as BundlingLogLevel,
  NodejsFunction,
  OutputFormat,
  SourceMapMode,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { installScriptDefine } from '../../lambdas/adapters/install-script';

/** The repository root: bundling resolves handlers and the lock file from here, whatever the cwd. */
export const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The newest Node.js runtime aws-cdk-lib knows (cdk-nag's AwsSolutions-L1 asks for it). Pinned,
 * not NODEJS_LATEST, so an upgrade of aws-cdk-lib never changes the runtime silently.
 */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;

// @kubernetes/client-node 2.x is ESM-only, so the bundle is ESM. CommonJS code inside it still
// expects the globals of a CommonJS module: require() for Node built-ins, and __dirname and
// __filename (ssh2's WebAssembly loader reads __dirname as soon as it is imported). An ES module has
// none of them, so the bundle defines them, from its own URL, before any of its code runs.
export const ESM_CJS_GLOBALS_BANNER = [
  "import { createRequire as penetratorCreateRequire } from 'node:module';",
  "import { fileURLToPath as penetratorFileURLToPath } from 'node:url';",
  "import { dirname as penetratorDirname } from 'node:path';",
  'const require = penetratorCreateRequire(import.meta.url);',
  'const __filename = penetratorFileURLToPath(import.meta.url);',
  'const __dirname = penetratorDirname(__filename);',
].join(' ');

/**
 * Left out of every bundle: the AWS SDK (the runtime has it), and ssh2's optional native add-ons
 * (`cpu-features` and its `sshcrypto.node`): ssh2 loads them in a try/catch and runs on plain
 * JavaScript without them, while a bundle cannot carry a .node file at all.
 */
export const BUNDLE_EXTERNAL_MODULES = ['@aws-sdk/*', 'cpu-features', '*.node'];

export interface PenetratorFunctionProps {
  /** Handler file, relative to the repository root, exporting `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly logRetention: RetentionDays;
  /** Default 512 MB: client-node parses large API responses (node lists). */
  readonly memorySize?: number;
  /** Default 60 s. */
  readonly timeout?: Duration;
  readonly environment?: Record<string, string>;
  /** Private apiservers: run in these subnets. */
  readonly vpc?: { vpc: IVpc; subnets: ISubnet[]; securityGroups?: ISecurityGroup[] };
}

/**
 * The one Lambda construct every handler uses, so runtime, architecture, bundling, logs and tracing
 * are decided once. Its role starts empty (no AWS managed policy): it may write to its own log
 * group and send X-Ray segments; the stack grants the rest.
 */
export class PenetratorFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: PenetratorFunctionProps) {
    super(scope, id);
    const entry = join(projectRoot, props.entry);
    if (!existsSync(entry)) {
      throw new Error(
        `PenetratorFunction ${id}: handler file not found; received entry ${props.entry}; ` +
          `expected a file exporting \`handler\` at ${relative(process.cwd(), entry) || entry}`,
      );
    }
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the Penetrator ${id} Lambda`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      projectRoot,
      depsLockFilePath: join(projectRoot, 'package-lock.json'),
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(60),
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      tracing: Tracing.ACTIVE,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'penetrator',
        POWERTOOLS_METRICS_NAMESPACE: 'Penetrator',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      ...(props.vpc
        ? {
            vpc: props.vpc.vpc,
            vpcSubnets: { subnets: props.vpc.subnets },
            ...(props.vpc.securityGroups ? { securityGroups: props.vpc.securityGroups } : {}),
          }
        : {}),
      bundling: {
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        externalModules: BUNDLE_EXTERNAL_MODULES,
        banner: ESM_CJS_GLOBALS_BANNER,
        // Error names are literals, but keepNames keeps stack traces and logs readable.
        keepNames: true,
        minify: true,
        sourceMap: true,
        sourceMapMode: SourceMapMode.DEFAULT,
        sourcesContent: false,
        logLevel: BundlingLogLevel.WARNING,
        // Bundles carry no repository files: the installer scripts travel as inlined constants.
        define: installScriptDefine(),
      },
    });

    // X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions.
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only X-Ray PutTraceSegments/PutTelemetryRecords use "*": X-Ray has no resource-level permissions.',
    });
    if (props.vpc) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason: 'Lambda needs the ENI permissions of this AWS managed policy to reach private apiservers.',
      });
    }
  }
}
