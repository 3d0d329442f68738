#!/bin/sh
# Pushes the Kairos bundle that `npm run package` built (dist/kairos-spegel-bundle: an OCI
# image index of the amd64 and arm64 images) to a registry, as one multi-arch reference
# with the digests it was built with:
#
#   scripts/push-bundle.sh REGISTRY/REPO:TAG [skopeo copy options]
#   scripts/push-bundle.sh ghcr.io/example/kairos-spegel-bundle:0.1.0 --dest-creds USER:TOKEN
#   scripts/push-bundle.sh 10.0.0.9:5000/kairos-spegel-bundle:0.1.0 --dest-tls-verify=false
#
# Nodes then install it with `bundles: [{targets: [run://REGISTRY/REPO:TAG]}]`.
set -eu

if [ $# -lt 1 ]; then
  echo "usage: $0 REGISTRY/REPO:TAG [skopeo copy options]" >&2
  exit 2
fi
ref=${1#docker://}
shift
layout=$(cd "$(dirname "$0")/.." && pwd)/dist/kairos-spegel-bundle
if [ ! -f "$layout/index.json" ]; then
  echo "push-bundle.sh: $layout is missing; run 'npm run package' first" >&2
  exit 1
fi
if ! command -v skopeo >/dev/null; then
  echo "push-bundle.sh: skopeo is missing; apt-get install skopeo" >&2
  exit 1
fi
exec skopeo copy --all --preserve-digests "$@" "oci:$layout" "docker://$ref"
