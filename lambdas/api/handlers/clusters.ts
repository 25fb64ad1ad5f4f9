/** The API's clusters routes (see lambdas/api/router.ts and docs/api/openapi.json). */
import { logger } from '../../handlers/lambda-runtime';
import { apiHandler } from '../api-handler';
import { awsApiDependencies } from '../aws-dependencies';

export const handler = apiHandler(['clusters'], logger, () => awsApiDependencies());
