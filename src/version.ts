/** Set by the build (esbuild `define`, scripts/build.mjs); the test config sets only the version. */
declare const __KAIROS_SPEGEL_VERSION__: string | undefined;
declare const __KAIROS_SPEGEL_COMMIT__: string | undefined;
declare const __KAIROS_SPEGEL_BUILD_DATE__: string | undefined;

export const VERSION: string = typeof __KAIROS_SPEGEL_VERSION__ === 'string' ? __KAIROS_SPEGEL_VERSION__ : '0.0.0-dev';
/** The git commit built, "<sha>-dirty" when the tree had changes, "unknown" outside a git checkout. */
export const COMMIT: string = typeof __KAIROS_SPEGEL_COMMIT__ === 'string' ? __KAIROS_SPEGEL_COMMIT__ : 'unknown';
/** ISO 8601 UTC (SOURCE_DATE_EPOCH when set); null when running from source. */
export const BUILD_DATE: string | null = typeof __KAIROS_SPEGEL_BUILD_DATE__ === 'string' ? __KAIROS_SPEGEL_BUILD_DATE__ : null;
