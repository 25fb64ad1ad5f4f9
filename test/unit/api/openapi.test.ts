import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { routeKeys, type RouteGroup } from '../../../lambdas/api/router';
import { apiRoutes, routeKey } from '../../../lambdas/api/routes';
import { submitResponseSchema, taskDetailSchema } from '../../../lambdas/api/schemas';
import { OPENAPI_PATH, buildOpenApiDocument, renderOpenApiDocument } from '../../../scripts/openapi';

type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
  components: { schemas: Record<string, unknown> };
};

function refs(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refs);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, v]) =>
    key === '$ref' && typeof v === 'string' ? [v] : refs(v),
  );
}

describe('the OpenAPI document', () => {
  it('is checked in exactly as npm run openapi renders it', async () => {
    expect(readFileSync(OPENAPI_PATH, 'utf8')).toBe(await renderOpenApiDocument());
  });

  it('documents every route the router serves, and only those', () => {
    const doc = buildOpenApiDocument() as Doc;
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const served = (['tasks', 'credentials', 'clusters'] as RouteGroup[]).flatMap((g) => routeKeys(g));
    expect(documented.sort()).toEqual([...served].sort());
    expect(apiRoutes.map(routeKey).sort()).toEqual([...served].sort());
    for (const group of ['tasks', 'credentials', 'clusters'] as RouteGroup[]) {
      expect(
        apiRoutes
          .filter((r) => r.group === group)
          .map(routeKey)
          .sort(),
      ).toEqual(routeKeys(group).sort());
    }
  });

  it('resolves every $ref to a component schema', () => {
    const doc = buildOpenApiDocument() as Doc;
    for (const target of refs(doc)) {
      const name = target.replace('#/components/schemas/', '');
      expect(Object.keys(doc.components.schemas)).toContain(name);
    }
  });

  it('renders the NodeTask from the shared schema and the responses from the handlers’ own', () => {
    const doc = buildOpenApiDocument() as Doc;
    expect(doc.components.schemas.NodeTask).toMatchObject({
      properties: { spec: { properties: { targetMachines: { maxItems: 10_000 } } } },
      required: ['apiVersion', 'kind', 'metadata', 'spec'],
    });
    expect(doc.components.schemas.SubmitResponse).toMatchObject({
      required: Object.keys(submitResponseSchema.shape),
    });
    expect(doc.components.schemas.TaskDetail).toMatchObject({
      required: expect.arrayContaining(Object.keys(taskDetailSchema.shape)) as unknown,
    });
    expect(Object.keys(doc.paths['/tasks']!.post!.responses).sort()).toEqual([
      '202',
      '400',
      '404',
      '409',
      '413',
      '500',
    ]);
  });
});
