/** The API's tasks routes (see lambdas/api/router.ts and docs/api/openapi.json). */
import { apiHandler } from '../api/api-handler';
import { awsApiDependencies, logger } from '../aws-composition';

export const handler = apiHandler(['tasks'], logger, () => awsApiDependencies());
