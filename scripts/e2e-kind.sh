#!/usr/bin/env bash
# The sync agent's kubernetes target against a real cluster (kind) with a local registry: the champion
# deployed, a challenger rolled out, a release whose pods crash rolled back by a revert commit.
# Needs docker, kind, kubectl, git, python3 and a built gitops-ml; .github/workflows/e2e-kind.yml runs it.
#   scripts/e2e-kind.sh .build/release/gitops-ml
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
registry=localhost:5001

# kind with a local registry, as kind's documentation sets it up.
if [ "$(docker inspect -f '{{.State.Running}}' kind-registry 2>/dev/null || true)" != true ]; then
  docker run -d --restart=always -p "127.0.0.1:5001:5000" --network bridge --name kind-registry registry:2
fi
kind create cluster --name gitops-ml-e2e --wait 180s --config=- <<'YAML'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
YAML
for node in $(kind get nodes --name gitops-ml-e2e); do
  docker exec "$node" mkdir -p /etc/containerd/certs.d/localhost:5001
  printf '[host."http://kind-registry:5000"]\n' | docker exec -i "$node" cp /dev/stdin /etc/containerd/certs.d/localhost:5001/hosts.toml
done
docker network connect kind kind-registry 2>/dev/null || true
kubectl create namespace churn-staging

# The example, serving its image from the local registry.
bash "$root/examples/churn/materialize.sh" "$work/churn" >/dev/null
cd "$work/churn"
sed -i "s|image: ghcr.io/example/churn-serving.*|image: $registry/churn-serving|" gitops-ml.yaml
git commit -q -am "Serve from the e2e registry"
git checkout -q challenger/better && git merge -q --no-edit main && git checkout -q main
git init -q --bare "$work/remote.git"
git push -q "$work/remote.git" main challenger/better

# One image per version, built from the source commit (code and model baked in).
image() {  # image REVISION VERSION
  rm -rf "$work/image" && mkdir -p "$work/image"
  git archive "$1" | tar -x -C "$work/image"
  cp "$root/examples/churn/e2e/Dockerfile" "$work/image/"
  docker build -q -t "$registry/churn-serving:$2" "$work/image" >/dev/null
  docker push -q "$registry/churn-serving:$2" >/dev/null
}
promote() {  # promote REVISION VERSION
  git push -q "$work/remote.git" "$1"
  "$bin" promote churn --to staging --rev "$1" --version "$2" --push "$work/remote.git" --run-checks 2>&1 | tail -n 1
}
image main v1
image challenger/better v2

cat > "$work/agent.yaml" <<YAML
version: 1
repository: $work/remote.git
interval: 2
verify: {signatures: off}
state_dir: $work/state
environments:
  - name: staging
    branch: gitops
    namespace: churn-staging
    target: kubernetes
    health: {deadline: 90}
YAML
promote main v1
"$bin" agent run --config "$work/agent.yaml" --listen 127.0.0.1:19090 > "$work/agent.log" 2>&1 &
agent=$!
trap 'kill $agent 2>/dev/null || true; cat "$work/agent.log"' EXIT

# wait_for CONDITION-COMMAND [SECONDS]
wait_for() { for _ in $(seq "${2:-240}"); do eval "$1" && return 0; sleep 1; done; echo "timed out: $1"; return 1; }
served() { kubectl -n churn-staging get deployment churn -o jsonpath='{.spec.template.spec.containers[0].image}'; }
status() { python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen("http://127.0.0.1:19090/status"))["environments"]["staging"].get(sys.argv[1]) or "")' "$1"; }

wait_for '[ "$(status lastApplied)" = "$(git --git-dir "$work/remote.git" rev-parse gitops)" ]'
kubectl -n churn-staging rollout status deployment/churn --timeout=60s
echo "champion deployed: $(served)"

promote challenger/better v2
wait_for '[ "$(status lastApplied)" = "$(git --git-dir "$work/remote.git" rev-parse gitops)" ]'
[ "$(served)" = "$registry/churn-serving:v2" ]
echo "challenger rolled out: $(served)"

# A release whose server cannot start: its pods crash, the rollout never completes, the agent rolls back.
git checkout -q -b broken challenger/better
sed -i 's|command: \[python3, serve.py, --host, 0.0.0.0\]|command: [python3, serve.py, --host, 0.0.0.0, --model, /nonexistent.json]|' gitops-ml.yaml
git commit -q -am "A serving command that cannot start"
git checkout -q main
image broken v3
promote broken v3
failed=$(git --git-dir "$work/remote.git" rev-parse gitops)
wait_for '[ "$(git --git-dir "$work/remote.git" rev-parse gitops)" != "$failed" ]' 300
git --git-dir "$work/remote.git" log -1 --format=%B gitops | tee "$work/revert.txt"
grep -q "Gitops-Ml-Rollback-Of: $failed" "$work/revert.txt"
kubectl -n churn-staging rollout status deployment/churn --timeout=120s
[ "$(served)" = "$registry/churn-serving:v2" ]
git --git-dir "$work/remote.git" notes --ref gitops-ml-deployments show "$failed" | grep -q '"outcome" : "failed"'
echo "broken release rolled back by a revert commit; $(served) serves"
