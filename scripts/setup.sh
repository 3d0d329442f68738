#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for kairos-spegel's rehearsal, tests and benchmarks:
# the Debian packages of the test bed (real registry, containerd, skopeo, umoci, network
# namespaces, cross-build tools) and the npm dependencies. Idempotent; run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  ca-certificates openssl   # openssl: throwaway CAs for the TLS tests
  iproute2 nftables   # ip netns, veth, tc: test nodes and links; nft: per-node WAN counters of the site
  docker-registry     # a real OCI registry: upstream and pull-through mirror
  containerd          # the real consumer of hosts.toml
  skopeo umoci        # reference client and image builder (no Docker needed)
  apache2-utils       # htpasswd: bcrypt users for registries with Basic auth
  attr                # getfattr/setfattr: extended attributes in the unpack tests
  util-linux          # script: a terminal for the progress-bar test
  hyperfine time      # benchmarks: start-up (hyperfine), wall time and peak RSS (GNU time)
  binutils gcc        # strip and the xattr addon (x64 build)
  binutils-aarch64-linux-gnu gcc-aarch64-linux-gnu libc6-dev-arm64-cross  # strip and the xattr addon (arm64 build)
  qemu-user libc6-arm64-cross libstdc++6-arm64-cross  # run the arm64 build in tests
  squashfs-tools cryptsetup-bin  # npm run package: sysext squashfs, dm-verity tree (attr above: the extension-release xattr)
                      # (the glibc shipped with the agent: libc6, libstdc++6 and their -arm64-cross above)
  systemd systemd-container  # systemd-repart (package); systemd-dissect, -sysext, -analyze (tests)
  busybox-static      # tests: a static /bin/sh for chroots without glibc
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: needs root to install Debian packages (sudo bash scripts/setup.sh)" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  apt-get update -qq
  # The packaged containerd and docker-registry services are not used (tests start their
  # own); policy-rc.d keeps them from starting on machines that run systemd.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v npm >/dev/null; then
  echo "setup.sh: npm is missing; install Node.js 20 or later with npm first" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
echo "setup.sh: ready"
