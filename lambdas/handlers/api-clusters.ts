/** The API's clusters routes (see lambdas/api/router.ts and docs/api/openapi.json). */
import { apiHandler } from '../api/api-handler';
import { awsApiDependencies, logger } from '../aws-composition';

export const handler = apiHandler(['clusters'], logger, () => awsApiDependencies());
