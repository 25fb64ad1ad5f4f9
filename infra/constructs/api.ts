import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  type IModel,
  type JsonSchema,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RequestValidator,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { z } from 'zod';
import { STATE_MACHINE_ARN_ENV } from '../../lambdas/api/environment';
import { apiRoutes, pathParameters, type RouteGroupName, type RouteSpec } from '../../lambdas/api/routes';
import { clusterBodySchema, credentialBodySchema } from '../../lambdas/api/schemas';
import { PenetratorFunction } from './penetrator-function';

export interface PenetratorApiProps {
  /** The workflow the tasks routes start, list, describe and stop. */
  readonly stateMachine: IStateMachine;
  /** Its name, to scope execution permissions (`execution:<name>:*`). */
  readonly stateMachineName: string;
  /** Prefix of the Secrets Manager names (`<prefix>clusters/…`, `<prefix>credentials/…`). */
  readonly secretPrefix: string;
  readonly logRetention: RetentionDays;
  /** The handlers' runtime settings (lambdas/settings.ts), shared with the workflow's Lambdas. */
  readonly environment: Record<string, string>;
  readonly vpc?: { vpc: IVpc; subnets: ISubnet[]; securityGroups?: ISecurityGroup[] };
  /** Steady-state requests per second across the API. Default 10. */
  readonly throttlingRateLimit?: number;
  /** Burst of requests. Default 20. */
  readonly throttlingBurstLimit?: number;
}

const functionSpecs: Record<RouteGroupName, { id: string; description: string }> = {
  tasks: { id: 'TasksApi', description: 'HTTP API: submit, list, describe and cancel NodeTasks' },
  credentials: { id: 'CredentialsApi', description: 'HTTP API: store SSH credentials (write-only)' },
  clusters: { id: 'ClustersApi', description: 'HTTP API: register clusters and list them' },
};

type SecretKind = 'clusters' | 'credentials';

/**
 * A zod schema as an API Gateway model schema: JSON Schema draft 4, whose `$schema`/`$ref` keys CDK
 * spells `schema`/`ref`.
 */
export function modelSchema(schema: z.ZodType): JsonSchema {
  const rename = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rename);
    if (typeof value !== 'object' || value === null) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [key.startsWith('$') ? key.slice(1) : key, rename(v)]),
    );
  };
  return rename(z.toJSONSchema(schema, { target: 'draft-4' })) as JsonSchema;
}

/**
 * One JSON line per request: who called what, the status, and why API Gateway or the integration
 * failed. Never a body or a header value, and not the validator's detail either: it quotes the
 * offending value, which may be a password.
 */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: AccessLogField.contextRequestId(),
      requestTime: AccessLogField.contextRequestTime(),
      ip: AccessLogField.contextIdentitySourceIp(),
      caller: AccessLogField.contextIdentityCaller(),
      user: AccessLogField.contextIdentityUser(),
      userArn: AccessLogField.contextIdentityUserArn(),
      httpMethod: AccessLogField.contextHttpMethod(),
      resourcePath: AccessLogField.contextResourcePath(),
      status: AccessLogField.contextStatus(),
      responseLength: AccessLogField.contextResponseLength(),
      responseLatency: AccessLogField.contextResponseLatency(),
      errorMessage: AccessLogField.contextErrorMessage(),
      integrationStatus: AccessLogField.contextIntegrationStatus(),
      integrationError: AccessLogField.contextIntegrationErrorMessage(),
      integrationLatency: AccessLogField.contextIntegrationLatency(),
    }),
  );
}

/**
 * The HTTP API: a regional REST API whose every method is IAM-authorised, with access logs, tracing,
 * throttling and request validation; three Lambdas (tasks, credentials, clusters) so each holds only
 * the permissions its routes need. Routes come from lambdas/api/routes.ts, the same list the router
 * dispatches on.
 */
export class PenetratorApi extends Construct {
  readonly api: RestApi;
  readonly functions: Record<RouteGroupName, PenetratorFunction>;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: PenetratorApiProps) {
    super(scope, id);
    for (const [name, value] of [
      ['throttlingRateLimit', props.throttlingRateLimit],
      ['throttlingBurstLimit', props.throttlingBurstLimit],
    ] as const) {
      if (value !== undefined && (!Number.isInteger(value) || value < 1 || value > 10_000)) {
        throw new Error(
          `PenetratorApi ${id}: ${name} received ${value}; expected an integer from 1 to 10000`,
        );
      }
    }

    this.functions = this.createFunctions(props);
    this.grantPermissions(props);

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new RestApi(this, 'RestApi', {
      restApiName: `${Stack.of(this).stackName}-api`,
      description: 'Penetrator: submit and watch NodeTasks, register clusters and SSH credentials',
      endpointConfiguration: { types: [EndpointType.REGIONAL] },
      defaultMethodOptions: { authorizationType: AuthorizationType.IAM },
      // Execution logs would need API Gateway's account-wide role (AWS::ApiGateway::Account), which
      // a stack must not take over from the account; the access log carries the errors instead.
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'v1',
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: accessLogFormat(),
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.OFF,
        // Request and response bodies carry credentials and kubeconfigs: never logged.
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: props.throttlingRateLimit ?? 10,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 20,
      },
    });
    this.addGatewayResponses();
    this.addRoutes();
    this.acknowledgeFindings();

    new CfnOutput(Stack.of(this), 'ApiUrl', {
      value: this.api.url,
      description:
        'Base URL of the Penetrator HTTP API (requests are signed with SigV4, service execute-api)',
    });
  }

  private createFunctions(props: PenetratorApiProps): Record<RouteGroupName, PenetratorFunction> {
    const functions = {} as Record<RouteGroupName, PenetratorFunction>;
    for (const group of Object.keys(functionSpecs) as RouteGroupName[]) {
      const spec = functionSpecs[group];
      functions[group] = new PenetratorFunction(this, spec.id, {
        entry: `lambdas/handlers/api-${group}.ts`,
        description: spec.description,
        logRetention: props.logRetention,
        // API Gateway gives up after 29 s; a cancel waits for the execution to stop, then cleans up.
        timeout: Duration.seconds(29),
        environment: {
          ...props.environment,
          ...(group === 'tasks' ? { [STATE_MACHINE_ARN_ENV]: props.stateMachine.stateMachineArn } : {}),
        },
        ...(props.vpc ? { vpc: props.vpc } : {}),
      });
    }
    return functions;
  }

  private secretArn(prefix: string, kind: SecretKind): string {
    return Stack.of(this).formatArn({
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${prefix}${kind}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  private grantPermissions(props: PenetratorApiProps): void {
    const { tasks, credentials, clusters } = this.functions;
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${props.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    tasks.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:StartExecution', 'states:ListExecutions'],
        resources: [props.stateMachine.stateMachineArn],
      }),
    );
    tasks.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [executions],
      }),
    );
    // Only kubeconfigs are ever read back; SSH credentials are read by the workflow alone.
    tasks.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.secretArn(props.secretPrefix, 'clusters')],
      }),
    );
    // The task's bounds, from the tags of its credential and cluster: DescribeSecret returns no value.
    tasks.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:DescribeSecret'],
        resources: [
          this.secretArn(props.secretPrefix, 'clusters'),
          this.secretArn(props.secretPrefix, 'credentials'),
        ],
      }),
    );
    // Update, else create (adapters/secrets.ts putSecretString), then the read policy and the bounds
    // as tags; never a read.
    const write = [
      'secretsmanager:CreateSecret',
      'secretsmanager:PutSecretValue',
      'secretsmanager:PutResourcePolicy',
      'secretsmanager:TagResource',
      'secretsmanager:UntagResource',
    ];
    credentials.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: write, resources: [this.secretArn(props.secretPrefix, 'credentials')] }),
    );
    clusters.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: write, resources: [this.secretArn(props.secretPrefix, 'clusters')] }),
    );
    for (const fn of [tasks, clusters]) {
      // ListSecrets has no resource-level permissions; the adapter filters by the product's prefix.
      fn.role.addToPrincipalPolicy(
        new PolicyStatement({ actions: ['secretsmanager:ListSecrets'], resources: ['*'] }),
      );
    }

    Validations.of(tasks.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${props.stateMachineName}:*]`,
      reason:
        "Execution ARNs end with their generated names; the wildcard covers only this state machine's executions.",
    });
    const wildcards: Array<[PenetratorFunction, string, string]> = [
      [tasks, `${props.secretPrefix}clusters/*`, 'clusters'],
      // DescribeSecret only: the bounds (tags) of a task's credential, never its value.
      [tasks, `${props.secretPrefix}credentials/*`, 'credentials'],
      [credentials, `${props.secretPrefix}credentials/*`, 'credentials'],
      [clusters, `${props.secretPrefix}clusters/*`, 'clusters'],
    ];
    for (const [fn, name, kind] of wildcards) {
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${name}]`,
        reason: `Secret names get a random suffix from Secrets Manager; the wildcard is limited to the product's ${props.secretPrefix}${kind}/ prefix.`,
      });
    }
  }

  private addGatewayResponses(): void {
    const headers = { 'Content-Type': "'application/json'" };
    // API Gateway's own refusals keep the API's error shape; none repeats the request body.
    this.api.addGatewayResponse('BadRequestBody', {
      type: ResponseType.BAD_REQUEST_BODY,
      responseHeaders: headers,
      templates: {
        'application/json': JSON.stringify({
          message: 'invalid request body',
          hint: 'the body does not match the JSON schema of this endpoint (docs/api/openapi.json)',
        }),
      },
    });
    this.api.addGatewayResponse('BadRequestParameters', {
      type: ResponseType.BAD_REQUEST_PARAMETERS,
      responseHeaders: headers,
      templates: { 'application/json': '{"message": "$context.error.messageString"}' },
    });
  }

  private addRoutes(): void {
    const validator = new RequestValidator(this, 'Validator', {
      restApi: this.api,
      requestValidatorName: 'body-and-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const models: Record<NonNullable<RouteSpec['bodyModel']>, IModel> = {
      credential: this.api.addModel('CredentialModel', {
        modelName: 'PutCredentialRequest',
        contentType: 'application/json',
        schema: modelSchema(credentialBodySchema),
      }),
      cluster: this.api.addModel('ClusterModel', {
        modelName: 'PutClusterRequest',
        contentType: 'application/json',
        schema: modelSchema(clusterBodySchema),
      }),
    };
    const integrations = {} as Record<RouteGroupName, LambdaIntegration>;
    for (const group of Object.keys(this.functions) as RouteGroupName[]) {
      integrations[group] = new LambdaIntegration(this.functions[group].function, { proxy: true });
    }
    for (const route of apiRoutes) {
      const requestParameters: Record<string, boolean> = {};
      for (const name of pathParameters(route.path)) requestParameters[`method.request.path.${name}`] = true;
      for (const name of route.query) requestParameters[`method.request.querystring.${name}`] = false;
      this.api.root.resourceForPath(route.path).addMethod(route.method, integrations[route.group], {
        authorizationType: AuthorizationType.IAM,
        requestValidator: validator,
        requestParameters,
        ...(route.bodyModel ? { requestModels: { 'application/json': models[route.bodyModel] } } : {}),
      });
    }
  }

  private acknowledgeFindings(): void {
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Only signed IAM principals get past API Gateway (AWS_IAM on every method), and the stage is throttled; a WAF web ACL adds cost without a threat it would stop here.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Every method is authorised with AWS_IAM (SigV4): callers are IAM principals, not Cognito users.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG6',
      reason:
        "Execution logging needs API Gateway's account-wide CloudWatch role, which one stack must not own; the access log records every request with its status and API Gateway's or the integration's error message.",
    });
    for (const fn of [this.functions.tasks, this.functions.clusters]) {
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Only X-Ray and secretsmanager:ListSecrets use "*": neither has resource-level permissions; the adapter keeps only the product\'s prefix.',
      });
    }
  }
}
