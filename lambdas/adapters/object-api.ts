/**
 * The generic object client, plus the two things the NodeTask needs that it lacks: whether the
 * cluster serves a kind at all (a custom resource whose definition may not be installed), and a
 * JSON merge patch of the status subresource (a CRD with `subresources.status` ignores status in
 * writes to the object itself).
 */
import {
  ApiException,
  HttpMethod,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';

export class ObjectApi extends KubernetesObjectApi {
  static fromConfig(config: KubeConfig): ObjectApi {
    const client = config.makeApiClient(ObjectApi);
    client.setDefaultNamespace(config);
    return client;
  }

  /** False when the apiserver's discovery does not list the kind (its API group or version is absent). */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    try {
      return (await this.resource(apiVersion, kind)) !== undefined;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return false;
      throw error;
    }
  }

  /** PATCH …/status with a JSON merge patch; `spec` names the object (apiVersion, kind, metadata.name). */
  async patchStatus(spec: KubernetesObject, patch: Record<string, unknown>): Promise<KubernetesObject> {
    const path = `${await this.specUriPath(spec, 'patch')}/status`;
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    request.setHeaderParam('Accept', 'application/json');
    request.setHeaderParam('Content-Type', PatchStrategy.MergePatch);
    request.setQueryParam('fieldManager', 'penetrator');
    request.setBody(JSON.stringify(patch));
    return this.requestPromise(request, 'KubernetesObject');
  }
}
