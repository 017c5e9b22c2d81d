#!/bin/sh
# One-shot job (temporalio/admin-tools): creates imgdel's namespace and registers the
# search attributes the deletion workflow sets (ImageId, DeletionStatus). Idempotent.
set -eu
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-720h}"
ATTEMPTS="${SETUP_ATTEMPTS:-60}"

# retry "what" command...: a new namespace takes a few seconds to reach every frontend cache.
retry() {
  what="$1"
  shift
  attempt=1
  until "$@"; do
    if [ "$attempt" -ge "$ATTEMPTS" ]; then
      echo "gave up: $what" >&2
      exit 1
    fi
    attempt=$((attempt + 1))
    sleep 2
  done
}

cluster_healthy() { temporal operator cluster health --address "$ADDRESS" >/dev/null 2>&1; }
namespace_exists() { temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; }
ensure_namespace() {
  namespace_exists || temporal operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION" >/dev/null 2>&1
}
ensure_search_attribute() {
  existing="$(temporal operator search-attribute list --address "$ADDRESS" --namespace "$NAMESPACE" 2>/dev/null)" || return 1
  if printf '%s\n' "$existing" | grep -qw "$1"; then return 0; fi
  temporal operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" --name "$1" --type Keyword >/dev/null 2>&1
}

retry "temporal at $ADDRESS is not healthy" cluster_healthy
retry "cannot create namespace $NAMESPACE" ensure_namespace
echo "namespace $NAMESPACE is ready"
# Keep in sync with SEARCH_ATTRIBUTES in src/workflows/model.ts.
for name in ImageId DeletionStatus; do
  retry "cannot register search attribute $name" ensure_search_attribute "$name"
  echo "search attribute $name (Keyword) is registered"
done
