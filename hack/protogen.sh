#!/usr/bin/env bash
# Generates dataplane/protocol/pb/webpubsub.pb.go from dataplane/protocol/webpubsub.proto with the pinned
# buf and protoc-gen-go that `make proto` builds (their paths in $BUF and $PROTOC_GEN_GO). No network:
# buf bundles google/protobuf/any.proto and runs the plugin locally.
#   hack/protogen.sh          write the generated code
#   hack/protogen.sh verify   generate into a temporary directory; fail if the committed code differs
set -euo pipefail
cd "$(dirname "$0")/.."
: "${BUF:?set BUF to the buf binary (make proto does)}"
: "${PROTOC_GEN_GO:?set PROTOC_GEN_GO to the protoc-gen-go binary (make proto does)}"
mode=${1:-write}
proto=dataplane/protocol/webpubsub.proto
generated=dataplane/protocol/pb/webpubsub.pb.go

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# The module root is the repository, so the descriptor registers as "dataplane/protocol/webpubsub.proto"
# (unique in any binary); module= maps go_package onto the repository layout.
template=$(printf '{"version":"v2","plugins":[{"local":"%s","out":"%s","opt":["module=github.com/kwps/kwps"]}]}' \
  "$PROTOC_GEN_GO" "$out")
"$BUF" generate --template "$template" --path "$proto" .

case "$mode" in
write)
  cp "$out/$generated" "$generated"
  echo "protogen: wrote $generated"
  ;;
verify)
  if ! diff -u "$generated" "$out/$generated"; then
    echo "protogen: $generated is stale: run 'make proto' and commit the result" >&2
    exit 1
  fi
  echo "protogen: $generated is up to date"
  ;;
*)
  echo "usage: $0 [write|verify]" >&2
  exit 2
  ;;
esac
