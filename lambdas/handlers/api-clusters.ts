/** The API's clusters routes (see lambdas/api/router.ts and docs/api/openapi.json). */
import { logger } from './lambda-runtime';
import { apiHandler } from '../api/api-handler';
import { awsApiDependencies } from '../aws-composition';

export const handler = apiHandler(['clusters'], logger, () => awsApiDependencies());
