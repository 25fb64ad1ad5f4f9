// Types for bundle.mjs, which stays JavaScript because it runs before anything compiles TypeScript.
export declare const ROOT: string;
export declare const OUT_DIR: string;
export declare const MANIFEST: string;
export type BundleState = { url: string; reason?: undefined } | { url?: undefined; reason: string };
export declare function currentBundle(manifestPath?: string): BundleState;
export declare function buildBundle(): Promise<string>;
