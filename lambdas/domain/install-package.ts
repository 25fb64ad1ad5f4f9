/**
 * Where the install package comes from, and where the Job finds it.
 */
import { InstallPaths } from './contracts';
import type { PackageSource } from './deployment-settings';

/** The file the Job downloads a `url` package to, inside InstallPaths.package. */
export const DOWNLOADED_PACKAGE_FILE = 'package.tar.gz';

export type { PackageSource } from './deployment-settings';

const SAFE_FILE_NAME = /^[A-Za-z0-9._{}-]+$/;

/** `/srv/edge/edgeadm-linux-{arch}.tgz` → [`/srv/edge`, `edgeadm-linux-{arch}.tgz`]. */
export function splitPackagePath(path: string): { dir: string; file: string } {
  const slash = path.lastIndexOf('/');
  const file = path.slice(slash + 1);
  if (file === '')
    throw new Error(`package path ${JSON.stringify(path)} names a directory; expected the package file`);
  return { dir: slash <= 0 ? '/' : path.slice(0, slash), file };
}

/** The file a `url` package is downloaded to: the URL's own file name when it is a plain one. */
function downloadedFileName(url: string): string {
  const last = new URL(url).pathname.split('/').pop() ?? '';
  return SAFE_FILE_NAME.test(last) ? last : DOWNLOADED_PACKAGE_FILE;
}

/**
 * Where the package is inside the Job's container. `{arch}` in the name is kept: the script
 * replaces it with the target's architecture, so one task serves amd64 and arm64 machines.
 */
export function packagePathInJob(source: PackageSource): string {
  switch (source.kind) {
    case 'image':
      return source.path;
    case 'hostPath':
      return `${InstallPaths.package}/${splitPackagePath(source.path).file}`;
    case 'url':
      return `${InstallPaths.package}/${downloadedFileName(source.url)}`;
    case 'none':
      // An empty PACKAGE is what install.sh reads as "kubeadm, nothing to copy".
      return '';
  }
}
