/** Set by the build (esbuild `define`) and by the test config from package.json. */
declare const __KAIROS_SPEGEL_VERSION__: string | undefined;

export const VERSION: string = typeof __KAIROS_SPEGEL_VERSION__ === 'string' ? __KAIROS_SPEGEL_VERSION__ : '0.0.0-dev';
