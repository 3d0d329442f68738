#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for kairos-spegel's rehearsal, tests and benchmarks:
# the Debian packages of the test bed (real registry, containerd 1.6, skopeo, umoci, network
# namespaces, cross-build tools), the real peers built from their Go modules (Spegel,
# containerd 2.x and 1.7, crictl, crane, kairos-agent; pinned in scripts/peers.json), and the npm
# dependencies. Idempotent; run as root. A second run installs and builds nothing.
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
  rsync e2fsprogs fdisk  # kairos-agent upgrade: rsync copies the rootfs, mkfs.ext2/tune2fs make active.img; sfdisk: the test disk
  stress-ng           # scripts/test-under-load.sh: every core busy beside the tests
  shellcheck          # actionlint checks the workflows' run: scripts with it (test/workflows)
  prometheus          # promtool: the metrics tests check the textfile with `promtool check metrics`
  zsh fish            # test/cli/completion.test.ts: the completion scripts, sourced in the real shells
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

# The peers: each pinned build into $KAIROS_SPEGEL_PEERS/<name>@<version>, outside the work
# tree so that a fresh clone (CI) finds them; Go's own module and build caches sit in $HOME.
# Built inside the module's own directory of the module cache, as its own main module: that
# honours its go.mod exactly (go install refuses modules with exclude directives, such as
# containerd 1.7) and needs no @latest lookup (the proxy refuses Spegel's version list).
PEERS_DIR="${KAIROS_SPEGEL_PEERS:-/var/cache/kairos-spegel/peers}"
MIN_GO=1.21   # the first Go that fetches a newer toolchain for a module that asks for one

go_at_least() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

if ! command -v node >/dev/null; then
  echo "setup.sh: node is missing; install Node.js 20 or later with npm first" >&2
  exit 1
fi
mapfile -t PEERS < <(node -e '
  const { peers } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  for (const p of peers) console.log([p.name, p.module, p.version, p.go, (p.tags ?? []).join(","), p.packages.join(" "), (p.files ?? []).join(" "), p.ldflags ?? ""].join("|"));
' scripts/peers.json)
TOOLCHAIN="$(node -p 'JSON.parse(require("fs").readFileSync("scripts/peers.json", "utf8")).toolchain')"
NEED_GO="$(for p in "${PEERS[@]}"; do cut -d"|" -f4 <<<"$p"; done | sort -V | tail -n1)"

build_peer() {
  local name="$1" module="$2" version="$3" want_go="$4" tags="$5" packages="$6" files="$7" ldflags="$8"
  local dest="$PEERS_DIR/$name@$version"
  local stamp="module=$module version=$version tags=$tags packages=$packages files=$files${ldflags:+ ldflags=$ldflags}"
  if [ -f "$dest/.built" ] && [ "$(cat "$dest/.built")" = "$stamp" ]; then
    return 0
  fi
  echo "setup.sh: building $name $version from $module"
  local dir
  dir="$(GOFLAGS=-mod=mod go mod download -json "$module@$version" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const m = JSON.parse(s);
      if (m.Error) { console.error(m.Error); process.exit(1); }
      console.log(m.Dir);
    });')"
  local mod_go
  mod_go="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$dir/go.mod" | head -n1)"
  if [ "$mod_go" != "$want_go" ]; then
    echo "setup.sh: $module@$version asks for go $mod_go, scripts/peers.json says $want_go: correct the pin" >&2
    exit 1
  fi
  # The machine's Go where it is new enough; else the one newer toolchain the proxy serves.
  local toolchain=local
  if ! go_at_least "$GO_VERSION" "$mod_go"; then toolchain="$TOOLCHAIN"; fi
  local tmp="$PEERS_DIR/.$name@$version.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  # shellcheck disable=SC2086 # packages is a list
  (cd "$dir" && CGO_ENABLED=0 GOTOOLCHAIN="$toolchain" GOFLAGS=-mod=readonly \
    go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$tmp/" $packages)
  # Files of the module a test reads beside the binary (Spegel's Helm chart), at their module paths.
  for f in $files; do
    mkdir -p "$tmp/$(dirname "$f")" && cp "$dir/$f" "$tmp/$f"
  done
  printf '%s' "$stamp" > "$tmp/.built"
  rm -rf "$dest" && mv "$tmp" "$dest"
}

if ! command -v go >/dev/null; then
  echo "setup.sh: go is missing; install Go $MIN_GO or later: the pinned peers need go $NEED_GO, and a Go older than that (but at least $MIN_GO) fetches $TOOLCHAIN for them" >&2
  exit 1
fi
GO_VERSION="$(go env GOVERSION | sed 's/^go//')"
if ! go_at_least "$GO_VERSION" "$MIN_GO"; then
  echo "setup.sh: go $GO_VERSION is too old; install Go $MIN_GO or later (the pinned peers need go $NEED_GO)" >&2
  exit 1
fi
if ! go_at_least "${TOOLCHAIN#go}" "$NEED_GO"; then
  echo "setup.sh: the pinned peers need go $NEED_GO, newer than $TOOLCHAIN: correct scripts/peers.json" >&2
  exit 1
fi
mkdir -p "$PEERS_DIR"
for p in "${PEERS[@]}"; do
  IFS='|' read -r name module version want_go tags packages files ldflags <<<"$p"
  build_peer "$name" "$module" "$version" "$want_go" "$tags" "$packages" "$files" "$ldflags"
done
echo "setup.sh: peers in $PEERS_DIR: $(cd "$PEERS_DIR" && ls -d -- *@* | tr '\n' ' ')"

if ! command -v npm >/dev/null; then
  echo "setup.sh: npm is missing; install Node.js 20 or later with npm first" >&2
  exit 1
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
echo "setup.sh: ready"
