#!/bin/sh
# Build the agent image's base without any registry: Debian bookworm (minbase) from a Debian mirror, plus this
# machine's Node.js binary, imported as a local image. For machines that reach only Debian's and npm's servers.
#   container/build-base.sh [TAG]          (default carapace-base:bookworm)
#   DEBIAN_MIRROR=http://…/debian          (default: the first Debian mirror in /etc/apt/sources*)
#   CARAPACE_ENGINE=docker|podman          (default docker)
# Then: CARAPACE_BASE_IMAGE=TAG carapace image build
set -eu
tag=${1:-carapace-base:bookworm}
engine=${CARAPACE_ENGINE:-docker}

if [ -z "${DEBIAN_MIRROR:-}" ]; then
  # deb822 "URIs:" lines or one-line "deb URI suite" entries; skip the security archive.
  DEBIAN_MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -n -e 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' -e 's/^deb[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]*\)\{0,1\}\([^[:space:]]*\).*/\2/p' |
    grep '/debian/\{0,1\}$' | head -n 1)
  DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
fi
command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing: apt-get install mmdebstrap" >&2; exit 1; }
node=$(readlink -f "$(command -v node)") || { echo "node is missing on this machine" >&2; exit 1; }

echo "base: Debian bookworm from $DEBIAN_MIRROR + $node ($("$node" --version)) -> $tag"
start=$(date +%s)
# git and curl come from the mirror here, so the image build itself needs no network.
mmdebstrap --quiet --variant=minbase --include=ca-certificates,git,curl bookworm - "$DEBIAN_MIRROR" \
  --customize-hook="copy-in $node /usr/local/bin" |
  "$engine" import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' - "$tag" >/dev/null 2>&1
# podman asks for more nofile/nproc than a process without CAP_SYS_RESOURCE may set unless told (like
# src/sandbox/docker.ts does): our own hard nofile, and nproc within conmon's 32768.
limits=""
if [ "$engine" = podman ]; then
  nofile=$(awk '/^Max open files/ {print $5}' /proc/self/limits)
  nproc=$(awk '/^Max processes/ {n = $4; if (n == "unlimited" || n > 32768) n = 32768; print n}' /proc/self/limits)
  [ "$nofile" = unlimited ] || limits="--ulimit nofile=$nofile:$nofile"
  limits="$limits --ulimit nproc=$nproc:$nproc"
fi
# shellcheck disable=SC2086
"$engine" run --rm --network none $limits "$tag" node -e 'process.stdout.write(`node ${process.version} runs in the base\n`)'
echo "base $tag built in $(( $(date +%s) - start )) s"
