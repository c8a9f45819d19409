#!/usr/bin/env bash
# Installs what the project needs beyond Python, building it from the Go module
# proxy where no usable copy exists. Idempotent and cached by version: the first
# run takes many minutes on two cores, later ones seconds.
#
#   toolchain/install.sh [pulumi] [provider] [cluster] [lint]     (no argument: all)
#
#   pulumi   Pulumi CLI and its Python language host
#   provider the Kubernetes provider, installed as a Pulumi plugin
#            (both skipped when a usable `pulumi` is already on PATH)
#   cluster  kube-apiserver, kube-controller-manager, kube-scheduler, etcd, kwok
#   lint     actionlint, the GitHub Actions workflow linter (scripts/lint-workflows.sh)
set -euo pipefail

# shellcheck source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
MODULES="$PHOENIX_ROOT/toolchain/modules"
BUILD_ROOT="$PHOENIX_TOOLCHAIN_CACHE/build"

say() { printf '[toolchain] %s\n' "$*" >&2; }

# go_build NAME OUTPUT PACKAGE [LDFLAGS]: builds PACKAGE from a copy of the
# wrapper module NAME (the copy may receive generated files) into OUTPUT,
# atomically, so an interrupted build never leaves a half-written binary.
go_build() {
  local name=$1 output=$2 package=$3 ldflags=${4:-}
  local work="$BUILD_ROOT/$name"
  mkdir -p "$work" "$(dirname "$output")"
  cp -r "$MODULES/$name/." "$work/"
  say "building $package (go build; this takes minutes the first time)"
  local started=$SECONDS
  (cd "$work" && GOFLAGS="${GOFLAGS:-} -mod=readonly -trimpath" \
     go build -ldflags "-s -w $ldflags" -o "$output.partial" "$package")
  mv "$output.partial" "$output"
  say "built $(basename "$output") in $((SECONDS - started))s"
}

module_dir() {  # module_dir WRAPPER MODULE -> directory of MODULE in the module cache
  (cd "$MODULES/$1" && go list -mod=readonly -m -f '{{.Dir}}' "$2" 2>/dev/null) || true
}

ensure_module_downloaded() {  # ensure_module_downloaded WRAPPER MODULE
  (cd "$MODULES/$1" && go mod download "$2")
}

install_pulumi() {
  if [ "$PHOENIX_PULUMI_SOURCE" = path ]; then
    say "using pulumi from PATH: $(command -v pulumi) ($(pulumi version))"
    return
  fi
  local bin="$PHOENIX_PULUMI_BIN"
  if [ ! -x "$bin/pulumi" ]; then
    go_build pulumi "$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
      "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
  fi
  # Our own host (see toolchain/modules/language-python/main.go for why): unlike the
  # version-pinned builds it is rebuilt whenever its source changes.
  local host_digest
  host_digest=$(cat "$MODULES/language-python/"{go.mod,go.sum,main.go} | sha256sum | cut -d' ' -f1)
  if [ ! -x "$bin/pulumi-language-python" ] || [ "$(cat "$bin/.pulumi-language-python.sha256" 2>/dev/null)" != "$host_digest" ]; then
    go_build language-python "$bin/pulumi-language-python" . "-X main.version=$PULUMI_VERSION"
    echo "$host_digest" > "$bin/.pulumi-language-python.sha256"
  fi
  if [ ! -x "$bin/pulumi-language-python-exec" ]; then
    # The helper scripts the language host runs, shipped in the SDK module.
    ensure_module_downloaded pulumi github.com/pulumi/pulumi/sdk/v3
    local sdk
    sdk=$(module_dir pulumi github.com/pulumi/pulumi/sdk/v3)
    install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$bin/"
    install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$bin/"
  fi

  say "pulumi $(pulumi version) ready in $bin"
}

install_provider() {
  if [ "$PHOENIX_PULUMI_SOURCE" = path ]; then
    return  # an ordinary Pulumi install fetches its provider plugins itself
  fi
  local provider_dir="$PHOENIX_TOOLCHAIN_CACHE/kubernetes-provider-$PULUMI_KUBERNETES_VERSION"
  local provider="$provider_dir/pulumi-resource-kubernetes"
  if [ ! -x "$provider" ]; then
    ensure_module_downloaded provider github.com/pulumi/pulumi-kubernetes/provider/v4
    local upstream work="$BUILD_ROOT/provider"
    upstream=$(module_dir provider github.com/pulumi/pulumi-kubernetes/provider/v4)/cmd/pulumi-resource-kubernetes
    mkdir -p "$work"
    # What the provider's release build generates (`go generate`): the schema
    # stamped with the version, and the minified Terraform mapping.
    python3 - "$upstream" "$work" "$PULUMI_KUBERNETES_VERSION" <<'PY'
import json, pathlib, sys
upstream, work, version = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
schema = json.loads((upstream / "schema.json").read_text())
schema["version"] = version
(work / "schema-embed.json").write_text(json.dumps(schema, separators=(",", ":")))
mapping = json.loads((upstream / "terraform-mapping.json").read_text())
(work / "terraform-mapping-embed.json").write_text(json.dumps(mapping, separators=(",", ":")))
PY
    go_build provider "$provider" . \
      "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION"
  fi
  if [ ! -d "$PULUMI_HOME/plugins/resource-kubernetes-v$PULUMI_KUBERNETES_VERSION" ]; then
    say "installing the kubernetes provider as plugin v$PULUMI_KUBERNETES_VERSION"
    pulumi plugin install resource kubernetes "$PULUMI_KUBERNETES_VERSION" --file "$provider" >&2
  fi
  say "kubernetes provider plugin v$PULUMI_KUBERNETES_VERSION installed"
}

install_cluster() {
  local bin="$PHOENIX_CLUSTER_BIN"
  local k8s_ldflags="-X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION"
  k8s_ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=v$KUBERNETES_VERSION"
  local component
  for component in kube-apiserver kube-controller-manager kube-scheduler; do
    if [ ! -x "$bin/$component" ]; then
      go_build kubernetes "$bin/$component" "k8s.io/kubernetes/cmd/$component" "$k8s_ldflags"
    fi
  done
  if [ ! -x "$bin/etcd" ]; then
    go_build etcd "$bin/etcd" .
  fi
  if [ ! -x "$bin/kwok" ]; then
    go_build kwok "$bin/kwok" sigs.k8s.io/kwok/cmd/kwok \
      "-X sigs.k8s.io/kwok/pkg/consts.Version=v$KWOK_VERSION"
  fi
  # kwok run on its own (not through kwokctl) needs its stages in a config
  # file: the same defaults kwokctl uses (node init, heartbeat with leases,
  # pod ready/complete/delete), taken from the kwok module this was built from.
  local stages
  stages="$(dirname "$bin")/share/kwok-stages.yaml"
  if [ ! -s "$stages" ]; then
    ensure_module_downloaded kwok sigs.k8s.io/kwok
    local kwok_src part
    kwok_src=$(module_dir kwok sigs.k8s.io/kwok)/kustomize/stage
    mkdir -p "$(dirname "$stages")"
    for part in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
        pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      printf -- '---\n'
      cat "$kwok_src/$part"
    done > "$stages.partial"
    mv "$stages.partial" "$stages"
  fi
  say "local cluster binaries ready in $bin (start it: toolchain/cluster/cluster.sh start)"
}

install_lint() {
  local bin="$PHOENIX_LINT_BIN"
  if [ ! -x "$bin/actionlint" ]; then
    go_build actionlint "$bin/actionlint" github.com/rhysd/actionlint/cmd/actionlint \
      "-X github.com/rhysd/actionlint.version=v$ACTIONLINT_VERSION"
  fi
  say "actionlint $("$bin/actionlint" -version | head -1) ready in $bin"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(pulumi provider cluster lint)
for target in "${targets[@]}"; do
  case "$target" in
    pulumi) install_pulumi ;;
    provider) install_provider ;;
    cluster) install_cluster ;;
    lint) install_lint ;;
    *) echo "toolchain/install.sh: unknown target '$target' (allowed: pulumi, provider, cluster, lint)" >&2; exit 2 ;;
  esac
done
