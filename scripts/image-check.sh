#!/usr/bin/env bash
# `make image-check`: the image's contents proven without Docker. A Debian bookworm root file system made
# with `debootstrap --variant=minbase` plus exactly the runtime packages the Dockerfile installs (read from
# it), the release archive's binary at /usr/local/bin, and the binary run there as UID 10001, as the image
# runs it: --help, `version --verbose` (libgit2 linked, libcurl found at run time), and `check` on the churn
# example (the better challenger passes, the worse fails with exit 1), `agent once` applying the
# example's staging manifests to the Kubernetes API stand-in, and `agent once` with the local target
# serving a release (its server a Perl stand-in: the image has no Python). Needs root (chroot) and a Debian
# mirror; the root file system is kept in .build/image-root and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=${SUDO:-$( [ "$(id -u)" = 0 ] || echo sudo )}
archive=$(ls dist/gitops-ml-*-linux-"$(uname -m)".tar.gz 2>/dev/null | head -n 1)
[ -n "$archive" ] || { echo "image-check: no release archive in dist/ (make dist)" >&2; exit 3; }
root=$PWD/.build/image-root
# The packages of the Dockerfile's one `apt-get install` line, so that the two cannot drift apart.
packages=$(sed -n 's/.*apt-get install -y --no-install-recommends \(.*\) \\$/\1/p' Dockerfile)
[ -n "$packages" ] || { echo "image-check: no apt-get install line in the Dockerfile" >&2; exit 3; }
if [ ! -f "$root/.packages" ] || [ "$(cat "$root/.packages")" != "$packages" ]; then
  command -v debootstrap > /dev/null || $SUDO apt-get install -y -q --no-install-recommends debootstrap > /dev/null
  $SUDO rm -rf "$root"
  echo "image-check: debootstrap --variant=minbase bookworm, then: $packages"
  $SUDO debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian > /dev/null
  $SUDO chroot "$root" apt-get install -y -q --no-install-recommends $packages > /dev/null
  $SUDO chroot "$root" rm -rf /var/lib/apt/lists
  echo "$packages" | $SUDO tee "$root/.packages" > /dev/null
fi
name=$(basename "$archive" .tar.gz)
$SUDO tar -xzf "$archive" -C "$root/usr/local/bin" --strip-components=2 "$name/bin/gitops-ml"
# The example, made on this machine (it needs git and python3, which the image has not), owned by the user.
$SUDO rm -rf "$root/work"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bash examples/churn/materialize.sh "$work/churn" > /dev/null
$SUDO cp -a "$work/churn" "$root/work"
$SUDO chown -R 10001:10001 "$root/work"
# A container has /proc (the Swift runtime reads the arguments from /proc/self/cmdline): so does the chroot.
$SUDO mount -t proc proc "$root/proc"
trap '$SUDO umount "$root/proc" 2> /dev/null || true; rm -rf "$work"' EXIT
run() { $SUDO chroot --userspec=10001:10001 "$root" env -i HOME=/work PATH=/usr/local/bin:/usr/bin:/bin "$@"; }
run gitops-ml --help > /dev/null
versions=$(run gitops-ml version --verbose)
echo "$versions" | grep -q "libgit2 1\." || { echo "image-check: no libgit2 in: $versions" >&2; exit 1; }
echo "$versions" | grep -q "libcurl" || { echo "image-check: libcurl not found at run time: $versions" >&2; exit 1; }
suites=(--suite config --suite data --suite model --suite gate)
run sh -c "cd /work && gitops-ml check --repo /work --head challenger/better --no-note ${suites[*]}" > /dev/null
status=0
run sh -c "cd /work && gitops-ml check --repo /work --head challenger/worse --no-note ${suites[*]}" > /dev/null 2>&1 \
  || status=$?
[ "$status" = 1 ] || { echo "image-check: the worse challenger's check exited $status, not 1" >&2; exit 1; }
# The agent in the image: `agent once` with the kubernetes target applies the example's staging manifests
# (rendered and committed to a `gitops` branch here) to the API stand-in on 127.0.0.1, over HTTPS with its
# CA and token from a kubeconfig, waits for the rollout and exits 0. The stand-in runs outside the chroot
# (the chroot shares the host's network, as a pod reaches its API server).
kube=$root/work/kube
$SUDO mkdir -p "$kube"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2> /dev/null
$SUDO cp "$work/cert.pem" "$kube/ca.pem"
python3 Tests/Fixtures/fake_kube_api.py "$work/cert.pem" "$work/key.pem" image-token "$work/port" \
  "$work/requests.jsonl" > "$work/api.log" 2>&1 &
api=$!
trap '$SUDO umount "$root/proc" 2> /dev/null || true; kill $api 2> /dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -f "$work/port" ] && break; sleep 0.1; done
[ -f "$work/port" ] || { echo "image-check: the API stand-in did not start: $(cat "$work/api.log")" >&2; exit 1; }
host_bin=$root/usr/local/bin/gitops-ml
(
  cd "$work/churn"
  "$host_bin" generate manifests --env staging > /dev/null 2>&1
  git checkout -q -b gitops
  git add deploy && git -c user.name=image-check -c user.email=image-check@example.com commit -qm "Staging manifests"
  git checkout -q -
)
$SUDO rm -rf "$root/work-gitops" && $SUDO git clone -q --bare "$work/churn" "$root/work-gitops"
$SUDO chown -R 10001:10001 "$root/work-gitops" "$kube"
$SUDO tee "$kube/config" > /dev/null <<EOF2
apiVersion: v1
kind: Config
clusters: [{name: stand-in, cluster: {server: "https://127.0.0.1:$(cat "$work/port")", certificate-authority: /work/kube/ca.pem}}]
users: [{name: agent, user: {token: image-token}}]
contexts: [{name: stand-in, context: {cluster: stand-in, user: agent}}]
current-context: stand-in
EOF2
$SUDO tee "$kube/agent.yaml" > /dev/null <<EOF2
version: 1
repository: /work-gitops
state_dir: /work/kube/state
environments:
  - {name: staging, branch: gitops, namespace: churn-staging, target: kubernetes, health: {deadline: 60}}
EOF2
status=0
run env KUBECONFIG=/work/kube/config gitops-ml agent once --config /work/kube/agent.yaml --log-level warning \
  > "$work/once.json" 2> "$work/once.log" || status=$?
[ "$status" = 0 ] || { echo "image-check: agent once exited $status: $(cat "$work/once.log")" >&2; exit 1; }
applied=$(grep -c '"method": "PATCH", "path": "/apis/apps/v1/namespaces/churn-staging/deployments/churn?fieldManager=gitops-ml&force=true"' \
  "$work/requests.jsonl" || true)
[ "$applied" -ge 1 ] || { echo "image-check: agent once applied no Deployment: $(cat "$work/once.json")" >&2; exit 1; }
# `agent once` with the local target: the release's model server started in the image, probed and given
# the example's smoke prediction, then stopped. The image holds no Python, so the example serves with
# Tests/Fixtures/serve.pl (Perl is in every Debian): the command is the release's, as serve.py's would be.
cp Tests/Fixtures/serve.pl "$work/churn/serve.pl"
(
  cd "$work/churn"
  sed -i 's|^      command: .*|      command: [perl, serve.pl]|' gitops-ml.yaml
  git add serve.pl gitops-ml.yaml
  git -c user.name=image-check -c user.email=image-check@example.com commit -qm "Serve with the Perl stand-in"
  git init -q --bare "$work/local.git" && git push -q "$work/local.git" main
  "$host_bin" promote churn --to staging --rev main --push "$work/local.git" --run-checks > /dev/null 2>&1
)
$SUDO rm -rf "$root/work-local" && $SUDO cp -a "$work/local.git" "$root/work-local"
$SUDO mkdir -p "$root/work/local" && $SUDO chown -R 10001:10001 "$root/work-local" "$root/work/local"
model_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
$SUDO tee "$root/work/local/agent.yaml" > /dev/null <<EOF2
version: 1
repository: /work-local
verify: {signatures: off}
state_dir: /work/local/state
environments:
  - name: staging
    branch: gitops
    namespace: churn-staging
    target: local
    port: $model_port
    health:
      deadline: 30
      probes: [{path: /readyz, period: 0.2, timeout: 2, success_threshold: 1, failure_threshold: 150}]
      smoke: {sample: smoke.json, required_fields: [predictions.0.churn_probability], latency_budget: 1}
EOF2
status=0
run gitops-ml agent once --config /work/local/agent.yaml --log-level warning > "$work/local.json" 2> "$work/local.log" \
  || status=$?
[ "$status" = 0 ] && grep -q '"health" : "Healthy"' "$work/local.json" \
  || { echo "image-check: agent once (local) exited $status: $(cat "$work/local.json" "$work/local.log")" >&2; exit 1; }
echo "image-check: $(basename "$archive") runs in bookworm minbase + $packages as UID 10001:" \
  "--help, version (${versions//$'\n'/; }), check (pass, and fail with exit 1)," \
  "agent once on the kubernetes target ($(grep -c 'force=true"' "$work/requests.jsonl") objects applied)" \
  "and on the local target (the release's server started, probed, smoke-tested: Healthy)"
