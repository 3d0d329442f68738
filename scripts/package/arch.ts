/**
 * The two node architectures, under the names each consumer uses: Kairos / OCI (amd64,
 * arm64, also in file names), the build (`npm run build -- --arch`), systemd
 * (extension-release ARCHITECTURE=, repart partition types) and where this Debian 12
 * build machine keeps the glibc the binary is shipped with.
 */
export interface Arch {
  /** Kairos / OCI name, used in file names */
  name: 'amd64' | 'arm64';
  /** scripts/build.mjs --arch */
  buildArch: 'x64' | 'arm64';
  /** what `npm run build` writes, relative to the repository */
  binary: string;
  /** systemd's architecture identifier (ConditionArchitecture=, usr-<arch> partition types) */
  systemd: 'x86-64' | 'arm64';
  /** OCI platform */
  platform: { architecture: string; os: 'linux'; variant?: string };
  /** where the glibc and libstdc++ the binary links against are found */
  libDirs: string[];
  /** the Debian packages that put them there */
  libPackages: string;
}

export const ARCHES: readonly Arch[] = [
  {
    name: 'amd64',
    buildArch: 'x64',
    binary: 'dist/kairos-spegel',
    systemd: 'x86-64',
    platform: { architecture: 'amd64', os: 'linux' },
    libDirs: ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu'],
    libPackages: 'libc6 libstdc++6',
  },
  {
    name: 'arm64',
    buildArch: 'arm64',
    binary: 'dist/kairos-spegel-arm64',
    systemd: 'arm64',
    platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    libDirs: ['/usr/aarch64-linux-gnu/lib'],
    libPackages: 'libc6-arm64-cross libstdc++6-arm64-cross',
  },
];
