#!/usr/bin/env bash
# Builds the real control-plane binaries localkube and the operator tests run on (etcd,
# kube-apiserver, kube-controller-manager, kube-scheduler) and the clients the project drives (kubectl, helm), from public Go
# modules only, into a cache keyed by version. A second run checks the binaries' reported
# versions and exits in well under a second without needing Go at all.
#
# kubectl is built here from the same k8s.io/kubernetes wrapper module as kube-apiserver,
# not taken from Debian: bookworm's `kubernetes-client` is 1.20 (apt-cache policy), fifteen
# minors away from the 1.35 apiserver while kubectl's supported skew is +/-1 minor; it lacks
# `--subresource` (1.24+) which the tests use to patch status. Building it from the module the
# apiserver comes from guarantees the exact same version, and costs about half a minute more
# (measured: 25 s after kube-apiserver) because the two share nearly every dependency.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
HELM_VERSION="${HELM_VERSION:-3.22.0}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cqltest"
BIN="$CACHE/bin"
mkdir -p "$BIN"

minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"

# A binary counts as present only if it runs and reports the version we pin: a half-written
# file or one built without version ldflags (helm then says "v3.22", which pyhelm3 cannot parse)
# is rebuilt instead of trusted.
reports() { # reports BINARY EXPECTED ARGS...
  local bin="$1" want="$2" said; shift 2
  [[ -x "$bin" ]] || return 1
  # Captured, not piped into `grep -q`: grep exiting at the first match would SIGPIPE the
  # binary and pipefail would turn a correct version into a failure.
  said="$("$bin" "$@" 2>/dev/null)" || return 1
  [[ "$said" == *"$want"* ]]
}
etcd_ok()      { reports "$BIN/etcd-v$ETCD_VERSION" "etcd Version: $ETCD_VERSION" --version; }
apiserver_ok() { reports "$BIN/kube-apiserver-v$K8S_VERSION" "Kubernetes v$K8S_VERSION" --version; }
kubectl_ok()   { reports "$BIN/kubectl-v$K8S_VERSION" "Client Version: v$K8S_VERSION" version --client; }
kcm_ok()       { reports "$BIN/kube-controller-manager-v$K8S_VERSION" "Kubernetes v$K8S_VERSION" --version; }
sched_ok()     { reports "$BIN/kube-scheduler-v$K8S_VERSION" "Kubernetes v$K8S_VERSION" --version; }
helm_ok()      { reports "$BIN/helm-v$HELM_VERSION" "v$HELM_VERSION" version --template '{{.Version}}'; }

link_all() {
  ln -sfn "kube-apiserver-v$K8S_VERSION" "$BIN/kube-apiserver"
  ln -sfn "kubectl-v$K8S_VERSION" "$BIN/kubectl"
  ln -sfn "kube-controller-manager-v$K8S_VERSION" "$BIN/kube-controller-manager"
  ln -sfn "kube-scheduler-v$K8S_VERSION" "$BIN/kube-scheduler"
  ln -sfn "etcd-v$ETCD_VERSION" "$BIN/etcd"
  ln -sfn "helm-v$HELM_VERSION" "$BIN/helm"
}

if etcd_ok && apiserver_ok && kubectl_ok && kcm_ok && sched_ok && helm_ok; then
  link_all
  echo "control plane binaries ready in $BIN (cached)"
  exit 0
fi

command -v go >/dev/null || { echo "error: Go toolchain not found; install Go >= 1.25 (Debian: golang-1.25 or newer)" >&2; exit 1; }

# Module and build caches live beside the binaries so a fresh clone on the same machine reuses them.
export GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS="-mod=mod" CGO_ENABLED=0

staging=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api
  cri-client csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms
  kube-aggregator kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics
  mount-utils pod-security-admission sample-apiserver sample-cli-plugin sample-controller)
# 1.36 split the streaming packages out of kubelet into their own staging modules.
if (( minor >= 36 )); then staging+=(cri-streaming streaming); fi

K8S_WORK="$CACHE/work/k8s-v$K8S_VERSION"
k8s_module_ready=
k8s_module() {
  [[ -n "$k8s_module_ready" ]] && return 0
  echo ">> resolving k8s.io/kubernetes v$K8S_VERSION (first time only, takes minutes)"
  rm -rf "$K8S_WORK"; mkdir -p "$K8S_WORK"
  {
    echo "module cqltest.dev/k8sbins"
    echo "go 1.25"
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    # k/k requires its staging modules at v0.0.0 and replaces them with local paths;
    # replace only applies in the main module, so we pin each to its published tag.
    echo "replace ("
    for m in "${staging[@]}"; do echo "  k8s.io/$m => k8s.io/$m v0.$minor.${K8S_VERSION##*.}"; done
    echo ")"
  } >"$K8S_WORK/go.mod"
  # Importing the main packages only makes `go mod tidy` record their dependencies; the build
  # tag keeps this file out of every real build (a program is not an importable package).
  printf '//go:build tools\n\npackage k8sbins\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kube-scheduler"\n)\n' \
    >"$K8S_WORK/tools.go"
  (cd "$K8S_WORK" && go mod tidy)
  k8s_module_ready=1
}

# build NAME VERSION STEP...: runs `STEP... TMP`, which leaves the binary at TMP; one rename then
# puts it in the cache, so an interrupted build never leaves a file that looks finished.
build() {
  local name="$1" version="$2" start=$SECONDS; shift 2
  local out="$BIN/$name-v$version"
  echo ">> building $name v$version"
  "$@" "$out.tmp"
  mv "$out.tmp" "$out"
  echo ">> $name built in $((SECONDS - start))s"
}

# fresh_work NAME VERSION: prints an empty directory for that build's wrapper module.
fresh_work() {
  local work="$CACHE/work/$1-v$2"
  rm -rf "$work"; mkdir -p "$work"
  echo "$work"
}

k8s_cmd() { # k8s_cmd NAME TMP
  k8s_module
  # Without these the binaries report v0.0.0-master and version-skew checks misfire.
  (cd "$K8S_WORK" && go build -trimpath -ldflags "-s -w \
      -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION \
      -X k8s.io/component-base/version.gitMajor=1 \
      -X k8s.io/component-base/version.gitMinor=$minor \
      -X k8s.io/component-base/version.gitTreeState=clean \
      -X k8s.io/client-go/pkg/version.gitVersion=v$K8S_VERSION \
      -X k8s.io/client-go/pkg/version.gitMajor=1 \
      -X k8s.io/client-go/pkg/version.gitMinor=$minor" \
      -o "$2" "k8s.io/kubernetes/cmd/$1")
}

etcd_cmd() { # etcd_cmd TMP
  local work; work="$(fresh_work etcd "$ETCD_VERSION")"
  # `go install` refuses etcd because its go.mod has replace directives; a wrapper module does not.
  printf 'module cqltest.dev/etcdbin\n\ngo 1.25\n\nrequire go.etcd.io/etcd/server/v3 v%s\n' "$ETCD_VERSION" >"$work/go.mod"
  printf '//go:build tools\n\npackage etcdbin\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$work/tools.go"
  (cd "$work" && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$1" go.etcd.io/etcd/server/v3)
}

helm_cmd() { # helm_cmd TMP
  local work; work="$(fresh_work helm "$HELM_VERSION")"
  # helm's Makefile stamps its version and the Kubernetes version `helm template` assumes
  # (.Capabilities.KubeVersion; else 1.20); `go install` alone would skip both.
  local kv; kv="$(GOFLAGS= go mod download -json "helm.sh/helm/v3@v$HELM_VERSION" \
    | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  local client_minor; client_minor="$(sed -n 's#^\s*k8s.io/client-go v0\.\([0-9]*\)\..*#\1#p' "$kv")"
  GOBIN="$work" go install -trimpath -ldflags "-s -w \
      -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION \
      -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 \
      -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$client_minor \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
      -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$client_minor" \
    "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
  mv "$work/helm" "$1"
}

etcd_ok || build etcd "$ETCD_VERSION" etcd_cmd
helm_ok || build helm "$HELM_VERSION" helm_cmd
apiserver_ok || build kube-apiserver "$K8S_VERSION" k8s_cmd kube-apiserver
kubectl_ok || build kubectl "$K8S_VERSION" k8s_cmd kubectl
kcm_ok || build kube-controller-manager "$K8S_VERSION" k8s_cmd kube-controller-manager
sched_ok || build kube-scheduler "$K8S_VERSION" k8s_cmd kube-scheduler
for check in etcd_ok helm_ok apiserver_ok kubectl_ok kcm_ok sched_ok; do
  "$check" || { echo "error: ${check%_ok} was built but does not report the pinned version" >&2; exit 1; }
done
link_all
echo "control plane binaries ready in $BIN"
