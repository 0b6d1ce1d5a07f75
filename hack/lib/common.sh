# Shared settings for the hack/ scripts: the pinned Kubernetes version and the per-user cache.
# Sourced, not run.

_hack_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KUBE_VERSION="${WHISPERER_KUBE_VERSION:-$(tr -d '[:space:]' < "$_hack_dir/kube-version")}"
# The cache lives outside the repo so that fresh clones on the same machine (CI) reuse it.
WHISPERER_CACHE_ROOT="${WHISPERER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/alert-whisperer}"
KUBE_CACHE="$WHISPERER_CACHE_ROOT/k8s-$KUBE_VERSION"
KUBE_BIN="$KUBE_CACHE/bin"
# Where a running local cluster keeps its state (pids, certs, kubeconfigs, etcd data).
WHISPERER_STATE_DIR="${WHISPERER_STATE_DIR:-$WHISPERER_CACHE_ROOT/cluster}"

log() { printf '[hack] %s\n' "$*" >&2; }
die() { printf '[hack] error: %s\n' "$*" >&2; exit 1; }
# Helm, built from its Go module by hack/build-helm into the same cache.
HELM_VERSION="${WHISPERER_HELM_VERSION:-$(tr -d '[:space:]' < "$_hack_dir/helm-version")}"
HELM_CACHE="$WHISPERER_CACHE_ROOT/helm-$HELM_VERSION"
HELM_BIN="$HELM_CACHE/bin"
