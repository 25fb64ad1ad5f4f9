/**
 * What a local run executes: by default the deployed artifacts (the synthesized definition and each
 * Lambda's bundle in its own warm Node.js process of the deployed runtime); with `fromSources`, the
 * fast developer option, the TypeScript handlers called in-process.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileObjectStore } from '../../lambdas/adapters/file-objects';
import type { LambdaName, WorkflowHandler } from '../../lambdas/domain/contracts';
import type { LocalDependencies } from '../../lambdas/local-handlers';
import type { ObjectStore } from '../../lambdas/ports';
import type { SynthesizedAssembly } from './assembly';
import type { BundledOptions } from './bundled-handlers';

export interface LocalRuntime {
  /** The state machine definition, as deployed. */
  definition: object;
  handlers: Record<LambdaName, WorkflowHandler>;
  /** The run's object store (work list, results), shared by the handlers and the Distributed Map. */
  objects: ObjectStore;
  /** Lines saying what each Task state runs. */
  artifacts: string[];
  /** Stops what the runtime started (the Lambdas' processes) and removes its object store. */
  close: () => void;
}

export interface RuntimeChoice {
  /** Run the handlers from the sources in-process instead of the bundles. */
  fromSources?: boolean;
}

/**
 * Opens runtimes on one synthesis: the demo runs two tasks on the same artifacts. `dispose` removes
 * the assembly once every runtime is closed.
 */
export class LocalRuntimes {
  private assembly: Promise<SynthesizedAssembly> | undefined;
  private sourceDefinition: Promise<object> | undefined;
  private readonly opened = new Set<() => void>();

  constructor(private readonly options: BundledOptions = {}) {}

  private synthesized(): Promise<SynthesizedAssembly> {
    if (!this.assembly) {
      this.assembly = import('./assembly').then(({ synthesizeAssembly }) => synthesizeAssembly());
    }
    return this.assembly;
  }

  /** The synthesized template, from the same synthesis as the bundles. */
  async template(): Promise<SynthesizedAssembly['template']> {
    return (await this.synthesized()).template;
  }

  /** The deployed state machine definition, from the same synthesis as the bundles. */
  async definition(): Promise<object> {
    return (await this.synthesized()).definition;
  }

  async open(deps: LocalDependencies, choice: RuntimeChoice = {}): Promise<LocalRuntime> {
    // The S3 bucket of a deployment is, locally, a private directory that lives as long as the runtime.
    const objectsPath = mkdtempSync(join(tmpdir(), 'penetrator-objects-'));
    chmodSync(objectsPath, 0o700);
    const removeObjects = (): void => rmSync(objectsPath, { recursive: true, force: true });
    try {
      return await this.openWith({ ...deps, objectsPath }, choice, removeObjects);
    } catch (error) {
      removeObjects();
      throw error;
    }
  }

  private async openWith(
    deps: LocalDependencies & { objectsPath: string },
    choice: RuntimeChoice,
    removeObjects: () => void,
  ): Promise<LocalRuntime> {
    const objects = new FileObjectStore(deps.objectsPath);
    if (choice.fromSources) {
      const { loadSynthesizedDefinition } = await import('./definition');
      // Loaded on use: the handlers pull in client-node and the AWS SDK, which other verbs never need.
      const { createLocalHandlers } = await import('../../lambdas/local-handlers');
      this.sourceDefinition ??= loadSynthesizedDefinition();
      return {
        definition: await this.sourceDefinition,
        handlers: createLocalHandlers(deps),
        objects,
        artifacts: [
          'every Task state → its handler from the TypeScript sources, in-process (--from-sources)',
        ],
        close: removeObjects,
      };
    }
    const { createBundledHandlers } = await import('./bundled-handlers');
    const assembly = await this.synthesized();
    const bundled = createBundledHandlers(assembly, deps, this.options);
    const close = (): void => {
      this.opened.delete(close);
      bundled.close();
      removeObjects();
    };
    this.opened.add(close);
    return {
      definition: assembly.definition,
      handlers: bundled.handlers,
      objects,
      artifacts: bundled.describe(assembly),
      close,
    };
  }

  /** Closes every runtime still open and removes the synthesized assembly. */
  async dispose(): Promise<void> {
    for (const close of [...this.opened]) close();
    const pending = this.assembly;
    this.assembly = undefined;
    if (pending) (await pending.catch(() => undefined))?.dispose();
  }
}
