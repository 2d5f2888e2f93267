#!/usr/bin/env bash
# meshstack's toolchain: the Pulumi CLI, its Python language host, the Kubernetes provider
# plugin, etcd, kube-apiserver and istioctl, built from the Go modules the module proxy
# serves (no prebuilt binary can be downloaded here), cached outside the repository.
#
#   scripts/toolchain.sh ensure [TOOL...]   build what is missing (all tools by default)
#   scripts/toolchain.sh env                print the environment meshstack's commands use
#   scripts/toolchain.sh bindir             print the directory holding the binaries
#   scripts/toolchain.sh istio-module       print the istio.io/istio module directory
#
# Tools: pulumi, language-python, language-yaml, kubernetes-provider, etcd, kube-apiserver,
# istioctl, judge, sloth (a second SLO rule generator the tests compare with), and
# prometheus-operator-crd (the Operator's PrometheusRule CRD, for the test API server).
# Idempotent: a tool whose binary is present is not rebuilt. A `pulumi` already on PATH
# is used instead of building one when its version is at least the pinned one.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/toolchain.env
. "$here/toolchain.env"

CACHE=${MESHSTACK_CACHE:-$HOME/.cache/meshstack}
BIN="$CACHE/toolchain/bin"
WORK="$CACHE/toolchain/work"
export GOMODCACHE=${GOMODCACHE:-$CACHE/go/mod}
export GOCACHE=${GOCACHE:-$CACHE/go/build}
export GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" CGO_ENABLED=0
PULUMI_HOME_DIR="$CACHE/pulumi-home"
ISTIO_MODULE="istio.io/istio@$ISTIO_MODULE_VERSION"

say() { printf 'toolchain: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# Run a long step with a start line, a finish line and its duration; its output goes
# to a log whose tail is shown if it fails.
step() {
  local what=$1 log
  shift
  log="$WORK/logs/$(tr -cs 'a-zA-Z0-9.' '_' <<<"${what%% (*}").log"
  mkdir -p "$WORK/logs"
  say "$what ..."
  local start=$SECONDS
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "$what failed (full log: $log)"
  fi
  say "$what done in $((SECONDS - start)) s"
}

need_go() {
  command -v go >/dev/null || die "Go is needed to build the toolchain (none on PATH)"
}

# A fresh wrapper module directory named $1: its go.mod is the module line, the Go
# directive and whatever stdin adds (requires, replaces). Prints the directory.
WRAPPER_GO=1.26.6
wrapper() {
  local dir="$WORK/$1"
  rm -rf "$dir"
  mkdir -p "$dir"
  {
    printf 'module meshstack.invalid/toolchain/%s\n\ngo %s\n\n' "$1" "$WRAPPER_GO"
    cat
  } >"$dir/go.mod"
  printf '%s\n' "$dir"
}

module_dir() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }

semver_ge() { # $1 >= $2, both x.y.z
  [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$2" ]
}

pulumi_on_path() {
  local found version
  found=$(command -v pulumi 2>/dev/null) || return 1
  [ "$found" != "$BIN/pulumi" ] || return 1
  version=$("$found" version 2>/dev/null | tr -d v) || return 1
  semver_ge "${version%%-*}" "$PULUMI_VERSION" || return 1
  printf '%s\n' "$found"
}

build_pulumi() {
  [ -x "$BIN/pulumi" ] && return 0
  if found=$(pulumi_on_path); then
    say "using $found ($("$found" version)) from PATH"
    ln -sf "$found" "$BIN/pulumi"
    return 0
  fi
  local dir
  dir=$(wrapper pulumi <<EOF
require (
	github.com/pulumi/pulumi/pkg/v3 v$PULUMI_VERSION
	github.com/pulumi/pulumi/sdk/v3 v$PULUMI_VERSION
)

replace github.com/atotto/clipboard => ${CLIPBOARD_REPLACEMENT/@/ }
EOF
)
  step "fetch pulumi CLI v$PULUMI_VERSION" \
    bash -c "cd '$dir' && go get github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION"
  step "build pulumi CLI v$PULUMI_VERSION (about 4 min cold)" \
    bash -c "cd '$dir' && go build -trimpath -o '$BIN/pulumi.tmp' \
      -ldflags '-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION' \
      github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
  mv "$BIN/pulumi.tmp" "$BIN/pulumi"
}

build_language_python() {
  [ -x "$BIN/pulumi-language-python" ] && [ -x "$BIN/pulumi-language-python-exec" ] && return 0
  local dir sdk
  # The last sdk/v3 that still carries the Python host in it; the host module itself is
  # not served at any version.
  dir=$(wrapper language-python <<EOF
require github.com/pulumi/pulumi/sdk/v3 v$PULUMI_LANGUAGE_PYTHON_SDK

replace golang.org/x/text => golang.org/x/text v0.3.6
EOF
)
  step "fetch Python language host (sdk v$PULUMI_LANGUAGE_PYTHON_SDK)" \
    bash -c "cd '$dir' && go get github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python@v$PULUMI_LANGUAGE_PYTHON_SDK"
  step "build Python language host" \
    bash -c "cd '$dir' && go build -trimpath -o '$BIN/pulumi-language-python.tmp' \
      -ldflags '-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_LANGUAGE_PYTHON_SDK' \
      github.com/pulumi/pulumi/sdk/v3/python/cmd/pulumi-language-python"
  mv "$BIN/pulumi-language-python.tmp" "$BIN/pulumi-language-python"
  # The host runs the program through this small script, taken from the CLI's own sdk.
  sdk=$(module_dir "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION")
  install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$BIN/pulumi-language-python-exec"
}

# Pulumi YAML's language host, for YAML programs that use meshstack's component provider.
# Built at the pkg/sdk release its own go.mod names (its API predates the CLI's).
build_language_yaml() {
  [ -x "$BIN/pulumi-language-yaml" ] && return 0
  local dir
  dir=$(wrapper language-yaml <<EOF
require github.com/pulumi/pulumi-yaml v$PULUMI_YAML_VERSION

replace github.com/atotto/clipboard => ${CLIPBOARD_REPLACEMENT/@/ }
EOF
)
  step "fetch Pulumi YAML language host v$PULUMI_YAML_VERSION" \
    bash -c "cd '$dir' && go mod download github.com/pulumi/pulumi-yaml"
  step "build Pulumi YAML language host v$PULUMI_YAML_VERSION (about 1-4 min cold)" \
    bash -c "cd '$dir' && go build -trimpath -o '$BIN/pulumi-language-yaml.tmp' \
      github.com/pulumi/pulumi-yaml/cmd/pulumi-language-yaml"
  mv "$BIN/pulumi-language-yaml.tmp" "$BIN/pulumi-language-yaml"
}

provider_binary() { printf '%s\n' "$BIN/pulumi-resource-kubernetes-v$KUBERNETES_PROVIDER_VERSION"; }

build_kubernetes_provider() {
  local out
  out=$(provider_binary)
  if [ ! -x "$out" ]; then
    local src copy dir
    src=$(module_dir "github.com/pulumi/pulumi-kubernetes/provider/v4@$KUBERNETES_PROVIDER_MODULE")
    [ -n "$src" ] || die "the module proxy did not serve the Kubernetes provider $KUBERNETES_PROVIDER_MODULE"
    copy="$WORK/kubernetes-provider-module"
    rm -rf "$copy"
    cp -r "$src" "$copy"
    chmod -R u+w "$copy"
    # The module's sdk replace points into upstream's repository; use the published sdk.
    (cd "$copy" && go mod edit -dropreplace=github.com/pulumi/pulumi-kubernetes/sdk/v4 \
      "-require=github.com/pulumi/pulumi-kubernetes/sdk/v4@v$KUBERNETES_PROVIDER_VERSION")
    # The command embeds two generated JSON files the module zip lacks: upstream's generator.
    step "generate the Kubernetes provider schema (about 1 min cold)" \
      bash -c "cd '$copy/cmd/pulumi-resource-kubernetes' && VERSION=$KUBERNETES_PROVIDER_VERSION go run generate.go"
    dir=$(wrapper kubernetes-provider <<EOF
require (
	github.com/pulumi/pulumi-kubernetes/provider/v4 $KUBERNETES_PROVIDER_MODULE
	github.com/pulumi/pulumi-kubernetes/sdk/v4 v$KUBERNETES_PROVIDER_VERSION
)

replace github.com/pulumi/pulumi-kubernetes/provider/v4 => $copy
EOF
)
    # A dependency's own replace directives do not apply to a wrapper: carry them over.
    (cd "$copy" && go mod edit -json) | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    old, new = r["Old"], r["New"]
    if new["Path"].startswith("."):
        continue
    lhs = old["Path"] + ("@" + old["Version"] if old.get("Version") else "")
    print("-replace=" + lhs + "=" + new["Path"] + "@" + new["Version"])
' | (cd "$dir" && xargs -r go mod edit)
    step "fetch Kubernetes provider dependencies" \
      bash -c "cd '$dir' && go get github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes"
    step "build Kubernetes provider $KUBERNETES_PROVIDER_VERSION (about 8 min cold)" \
      bash -c "cd '$dir' && go build -trimpath -o '$out.tmp' \
        -ldflags '-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$KUBERNETES_PROVIDER_VERSION' \
        github.com/pulumi/pulumi-kubernetes/provider/v4/cmd/pulumi-resource-kubernetes"
    mv "$out.tmp" "$out"
  fi
  install_provider_plugin
}

# Install the provider into meshstack's own PULUMI_HOME (never the user's).
install_provider_plugin() {
  local plugin_dir="$PULUMI_HOME_DIR/plugins/resource-kubernetes-v$KUBERNETES_PROVIDER_VERSION"
  [ -x "$plugin_dir/pulumi-resource-kubernetes" ] && return 0
  [ -x "$BIN/pulumi" ] || build_pulumi
  mkdir -p "$PULUMI_HOME_DIR"
  PULUMI_HOME="$PULUMI_HOME_DIR" PULUMI_SKIP_UPDATE_CHECK=true \
    "$BIN/pulumi" plugin install resource kubernetes "$KUBERNETES_PROVIDER_VERSION" \
    --file "$(provider_binary)" >/dev/null
  say "kubernetes plugin $KUBERNETES_PROVIDER_VERSION installed in $PULUMI_HOME_DIR"
}

build_etcd() {
  [ -x "$BIN/etcd" ] && return 0
  local dir
  dir=$(wrapper etcd </dev/null)
  cat >"$dir/main.go" <<'EOF'
// Command etcd is etcd's own server entry point, built from its published module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  step "fetch etcd v$ETCD_VERSION" \
    bash -c "cd '$dir' && go get go.etcd.io/etcd/server/v3@v$ETCD_VERSION && go mod tidy"
  step "build etcd v$ETCD_VERSION (about 1.5 min cold)" \
    bash -c "cd '$dir' && go build -trimpath -ldflags '-s -w' -o '$BIN/etcd.tmp' ."
  mv "$BIN/etcd.tmp" "$BIN/etcd"
}

# kube-apiserver and kube-controller-manager (the multi-cluster tests run its token
# controller, which fills the reader accounts' token Secrets remote secrets are made of):
# both from the k8s.io/kubernetes module at one version.
build_kube_binary() {
  local cmd=$1 cold=$2
  [ -x "$BIN/$cmd" ] && return 0
  local dir gomod staging
  dir=$(wrapper "$cmd" <<EOF
require k8s.io/kubernetes v$KUBE_APISERVER_VERSION
EOF
)
  # k8s.io/kubernetes points every k8s.io/<staging> module into its own tree; a
  # dependent uses their published v0.<minor>.<patch> releases instead.
  gomod=$(go mod download -json "k8s.io/kubernetes@v$KUBE_APISERVER_VERSION" |
    sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  staging="v0.${KUBE_APISERVER_VERSION#*.}"
  go mod edit -json "$gomod" | python3 -c '
import json, sys
for r in json.load(sys.stdin).get("Replace") or []:
    if r["New"]["Path"].startswith("./staging/"):
        old = r["Old"]["Path"]
        print("-replace=" + old + "=" + old + "@" + sys.argv[1])
' "$staging" | (cd "$dir" && xargs -r go mod edit)
  step "fetch $cmd v$KUBE_APISERVER_VERSION" \
    bash -c "cd '$dir' && go get k8s.io/kubernetes/cmd/$cmd@v$KUBE_APISERVER_VERSION"
  local major=${KUBE_APISERVER_VERSION%%.*} minor
  minor=${KUBE_APISERVER_VERSION#*.}
  minor=${minor%%.*}
  local flags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=v$KUBE_APISERVER_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
  done
  step "build $cmd v$KUBE_APISERVER_VERSION ($cold)" \
    bash -c "cd '$dir' && go build -trimpath -o '$BIN/$cmd.tmp' -ldflags '$flags' \
      k8s.io/kubernetes/cmd/$cmd"
  mv "$BIN/$cmd.tmp" "$BIN/$cmd"
}

build_kube_apiserver() { build_kube_binary kube-apiserver "about 9.5 min cold"; }
build_kube_controller_manager() { build_kube_binary kube-controller-manager "about 4 min after kube-apiserver"; }

build_istioctl() {
  [ -x "$BIN/istioctl" ] && return 0
  local dir
  dir=$(wrapper istioctl <<EOF
require istio.io/istio $ISTIO_MODULE_VERSION
EOF
)
  step "fetch istioctl ($ISTIO_MODULE_LABEL, $ISTIO_MODULE_VERSION)" \
    bash -c "cd '$dir' && go get istio.io/istio/istioctl/cmd/istioctl@$ISTIO_MODULE_VERSION"
  local flags="-s -w -X istio.io/istio/pkg/version.buildVersion=$ISTIO_MODULE_LABEL"
  flags+=" -X istio.io/istio/pkg/version.buildStatus=Clean -X istio.io/istio/pkg/version.buildTag=$ISTIO_MODULE_VERSION"
  step "build istioctl (about 4.5 min cold)" \
    bash -c "cd '$dir' && go build -trimpath -o '$BIN/istioctl.tmp' -ldflags '$flags' \
      istio.io/istio/istioctl/cmd/istioctl"
  mv "$BIN/istioctl.tmp" "$BIN/istioctl"
}

# Istio's control plane as a judge of traffic (components/meshstack/judge_go): after
# istioctl, whose build compiles most of what it needs into the same GOCACHE.
build_judge() {
  local started=$SECONDS stamp_before
  stamp_before=$(cat "$BIN/meshstack-judge.stamp" 2>/dev/null || true)
  step "build meshstack-judge (Istio's control plane; about 3 min after istioctl)" \
    bash "$here/../components/meshstack/judge_go/build.sh" "$BIN/meshstack-judge" "$ISTIO_MODULE_VERSION"
  [ "$stamp_before" = "$(cat "$BIN/meshstack-judge.stamp")" ] || say "meshstack-judge rebuilt in $((SECONDS - started)) s"
}

# Sloth, the SLO rule generator the SLO tests hold meshstack's rules against (a reference
# for the tests only; meshstack does not run it).
build_sloth() {
  [ -x "$BIN/sloth" ] && return 0
  local dir
  dir=$(wrapper sloth <<EOF
require github.com/slok/sloth v$SLOTH_VERSION
EOF
)
  step "fetch sloth v$SLOTH_VERSION" \
    bash -c "cd '$dir' && go get github.com/slok/sloth/cmd/sloth@v$SLOTH_VERSION"
  step "build sloth (about 3.5 min cold)" \
    bash -c "cd '$dir' && go build -trimpath -o '$BIN/sloth.tmp' -ldflags '-s -w' \
      github.com/slok/sloth/cmd/sloth"
  mv "$BIN/sloth.tmp" "$BIN/sloth"
}

# The Prometheus Operator's PrometheusRule CRD, as its module ships it: what a cluster
# running the Operator has, so the test API server can judge meshstack's PrometheusRules.
prometheus_operator_crd() { printf '%s\n' "$CACHE/toolchain/crds/monitoring.coreos.com_prometheusrules.yaml"; }
build_prometheus_operator_crd() {
  local target dir
  target=$(prometheus_operator_crd)
  [ -s "$target" ] && return 0
  dir=$(module_dir "github.com/prometheus-operator/prometheus-operator@v$PROMETHEUS_OPERATOR_VERSION")
  [ -n "$dir" ] || die "the Go module proxy did not serve prometheus-operator v$PROMETHEUS_OPERATOR_VERSION"
  mkdir -p "$(dirname "$target")"
  cp "$dir/example/prometheus-operator-crd/$(basename "$target")" "$target.tmp"
  chmod 644 "$target.tmp"
  mv "$target.tmp" "$target"
}

print_env() {
  cat <<EOF
export MESHSTACK_TOOLCHAIN_BIN="$BIN"
export PULUMI_HOME="$PULUMI_HOME_DIR"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
export PATH="$BIN:\$PATH"
EOF
}

all_tools=(pulumi language-python language-yaml kubernetes-provider etcd kube-apiserver kube-controller-manager istioctl judge sloth prometheus-operator-crd)

main() {
  local command=${1:-ensure}
  shift || true
  case "$command" in
    ensure)
      mkdir -p "$BIN" "$WORK"
      [ $# -gt 0 ] || set -- "${all_tools[@]}"
      for tool in "$@"; do
        case "$tool" in
          pulumi | language-python | language-yaml | kubernetes-provider | etcd | kube-apiserver | kube-controller-manager | istioctl | judge | sloth | prometheus-operator-crd) ;;
          *) die "unknown tool '$tool' (known: ${all_tools[*]})" ;;
        esac
      done
      need_go
      for tool in "$@"; do "build_${tool//-/_}"; done
      say "ready in $BIN"
      ;;
    env) print_env ;;
    bindir) printf '%s\n' "$BIN" ;;
    istio-module) need_go && module_dir "$ISTIO_MODULE" ;;
    *) die "unknown command '$command' (ensure, env, bindir, istio-module)" ;;
  esac
}

main "$@"
