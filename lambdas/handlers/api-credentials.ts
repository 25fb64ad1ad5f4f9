/** The API's credentials routes (see lambdas/api/router.ts and docs/api/openapi.json). */
import { logger } from './lambda-runtime';
import { apiHandler } from '../api/api-handler';
import { awsApiDependencies } from '../aws-composition';

export const handler = apiHandler(['credentials'], logger, () => awsApiDependencies());
