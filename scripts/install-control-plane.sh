#!/usr/bin/env bash
# Builds the real control-plane binaries the operator tests run against
# (kube-apiserver, etcd) plus helm, from public Go modules, into a cache keyed by
# version. Nothing is downloaded except through the Go module proxy; kubectl comes
# from Debian (see install-system-deps.sh). A second run finds the binaries and exits.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
HELM_VERSION="${HELM_VERSION:-3.22.0}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cqltest"
BIN="$CACHE/bin"
mkdir -p "$BIN"

# Module and build caches live beside the binaries so CI's fresh clone reuses them.
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS="-mod=mod" CGO_ENABLED=0
command -v go >/dev/null || { echo "error: Go toolchain not found; install Go >= 1.25" >&2; exit 1; }

minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
  kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller)
# 1.36 split the streaming packages out of kubelet into their own staging modules.
if (( minor >= 36 )); then staging+=(cri-streaming streaming); fi

build_apiserver() {
  local out="$BIN/kube-apiserver-v$K8S_VERSION" work="$CACHE/work/k8s-v$K8S_VERSION"
  [[ -x "$out" ]] && return 0
  echo ">> building kube-apiserver v$K8S_VERSION (first time only, takes minutes)"
  rm -rf "$work"; mkdir -p "$work"
  {
    echo "module cqltest.dev/k8sbins"
    echo "go 1.25"
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    # k/k requires its staging modules at v0.0.0 and replaces them with local paths;
    # replace only applies in the main module, so we pin each to its published tag.
    echo "replace ("
    for m in "${staging[@]}"; do echo "  k8s.io/$m => k8s.io/$m v0.$minor.${K8S_VERSION##*.}"; done
    echo ")"
  } >"$work/go.mod"
  printf 'package k8sbins\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >"$work/tools.go"
  (cd "$work" && go mod tidy && go build -trimpath -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION \
      -X k8s.io/component-base/version.gitMajor=1 \
      -X k8s.io/component-base/version.gitMinor=$minor" \
      -o "$out.tmp" k8s.io/kubernetes/cmd/kube-apiserver)
  mv "$out.tmp" "$out"
}

build_etcd() {
  local out="$BIN/etcd-v$ETCD_VERSION" work="$CACHE/work/etcd-v$ETCD_VERSION"
  [[ -x "$out" ]] && return 0
  echo ">> building etcd v$ETCD_VERSION"
  rm -rf "$work"; mkdir -p "$work"
  # `go install` refuses etcd because its go.mod has replace directives; a wrapper module does not.
  printf 'module cqltest.dev/etcdbin\n\ngo 1.25\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" >"$work/go.mod"
  printf 'package etcdbin\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$work/tools.go"
  (cd "$work" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$out.tmp" go.etcd.io/etcd/server/v3)
  mv "$out.tmp" "$out"
}

build_helm() {
  local out="$BIN/helm-v$HELM_VERSION"
  [[ -x "$out" ]] && return 0
  echo ">> building helm v$HELM_VERSION"
  GOBIN="$CACHE/work/helm-v$HELM_VERSION" go install "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
  mv "$CACHE/work/helm-v$HELM_VERSION/helm" "$out"
}

build_etcd
build_helm
build_apiserver
ln -sf "kube-apiserver-v$K8S_VERSION" "$BIN/kube-apiserver"
ln -sf "etcd-v$ETCD_VERSION" "$BIN/etcd"
ln -sf "helm-v$HELM_VERSION" "$BIN/helm"
echo "control plane binaries ready in $BIN"
