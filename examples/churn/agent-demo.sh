#!/usr/bin/env bash
# The sync agent on the churn example, with the local target (needs nothing but this host):
#   1. the champion (main) promoted to staging and deployed;
#   2. the better challenger promoted; a signed GitHub push webhook makes the agent roll it out;
#   3. a model that passes the offline gates but needs a feature serving does not send, promoted; it fails
#      its smoke prediction, the challenger is put back, and a revert commit on the branch says so;
#   4. a canary (the PromotionPolicy asks for one) of a model whose smoke sample passes but which refuses
#      half of production's requests: judged on live traffic through the agent's proxy by always-valid
#      sequential tests, stepped back at 10 % and reverted with the analysis in the commit; the decision
#      replayed from the recorded outcomes with `gitops-ml rollout analyze`;
#   5. production drift: the served inputs move away from the training data of the release that runs.
#   examples/churn/agent-demo.sh BIN DEMO_DIR      (DEMO_DIR as materialize.sh made it)
set -euo pipefail
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
demo=$(cd "$2" && pwd)
work=$(dirname "$demo")/agent-demo
rm -rf "$work" && mkdir -p "$work"
remote=$work/churn.git
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
model_port=$(free_port)
agent_port=$(free_port)
upstream_a=$(free_port)
upstream_b=$(free_port)
export DEMO_WEBHOOK_SECRET=demo-secret-$RANDOM$RANDOM
say() { printf '\n$ %s\n' "$*"; }
http() { python3 - "$@" <<'PY'
import sys, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode().strip())
except Exception as error:
    print(f"(no answer: {error})")
PY
}
webhook() { python3 - "http://127.0.0.1:$agent_port/webhook" <<'PY'
import hashlib, hmac, os, sys, urllib.request
body = b'{"ref": "refs/heads/gitops"}'
signature = "sha256=" + hmac.new(os.environ["DEMO_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
request = urllib.request.Request(sys.argv[1], data=body, method="POST", headers={
    "X-GitHub-Event": "push", "X-Hub-Signature-256": signature, "Content-Type": "application/json"})
with urllib.request.urlopen(request, timeout=5) as answer:
    print(answer.status, answer.read().decode().strip())
PY
}
serving() { http "http://127.0.0.1:$model_port/readyz"; }
# Waits (up to 60 s) until the model server on the port says it serves version $1.
wait_for_version() {
  for _ in $(seq 600); do serving | grep -q "\"$1\"" && return 0; sleep 0.1; done
  echo "timed out waiting for $1; the agent's log:"; cat "$work/agent.log"; return 1
}
version_of() { sed -n 's/^version: //p' <(git --git-dir "$remote" show "gitops:environments/staging/churn.yaml"); }

cd "$demo"
git init -q --bare "$remote"
git push -q "$remote" main challenger/better
cat > "$work/agent.yaml" <<YAML
version: 1
repository: $remote
interval: 3600          # the webhook triggers passes in this demo
verify: {signatures: off}
state_dir: $work/state
webhook: {secret_env: DEMO_WEBHOOK_SECRET}
environments:
  - name: staging
    branch: gitops
    namespace: churn-staging
    target: local
    port: $model_port
    proxy: {upstreams: [$upstream_a, $upstream_b]}
    drift: {dataset: train, every: 5, sample: 2000, minimum: 1000, signal_file: $work/retrain.json}
    health:
      deadline: 30
      probes: [{path: /readyz, period: 0.2, timeout: 2, success_threshold: 1, failure_threshold: 150}]
      smoke: {sample: smoke.json, required_fields: [predictions.0.churn_probability], latency_budget: 1}
YAML

say "gitops-ml promote churn --to staging --rev main --push $remote --run-checks   # the champion"
"$bin" promote churn --to staging --rev main --push "$remote" --run-checks 2>&1 | tail -n 1
champion=$(version_of)

say "gitops-ml agent run --config agent.yaml --listen 127.0.0.1:$agent_port &"
"$bin" agent run --config "$work/agent.yaml" --listen "127.0.0.1:$agent_port" > "$work/agent.log" 2>&1 &
agent=$!
trap 'kill $agent 2>/dev/null || true' EXIT
wait_for_version "$champion"
say "curl 127.0.0.1:$model_port/readyz   # the champion serves"
serving

say "gitops-ml promote churn --to staging --rev challenger/better --push $remote --run-checks"
git push -q "$remote" challenger/better
"$bin" promote churn --to staging --rev challenger/better --push "$remote" --run-checks 2>&1 | tail -n 1
challenger=$(version_of)
say "POST /webhook (a GitHub push event, HMAC-SHA256 signed)"
start=$(python3 -c 'import time; print(time.time())')
webhook
wait_for_version "$challenger"
python3 -c "import time; print(f'the challenger serves {time.time() - $start:.2f} s after the webhook:', end=' ')"
serving

say "a retrained model that passes the offline gates but needs a feature the requests do not have"
git checkout -q -b broken challenger/better
python3 - <<'PY'
import json
model = json.load(open("model/model.json"))
model["numeric"] = model.get("numeric", []) + ["mystery_feature"]
json.dump(model, open("model/model.json", "w"))
PY
git commit -q -am "Retrain with mystery_feature"
git push -q "$remote" broken
"$bin" promote churn --to staging --rev broken --push "$remote" --run-checks 2>&1 | tail -n 1
git checkout -q main
failed=$(git --git-dir "$remote" rev-parse gitops)
webhook
for _ in $(seq 600); do [ "$(git --git-dir "$remote" rev-parse gitops)" != "$failed" ] && break; sleep 0.1; done
say "git log -1 gitops   # the agent's revert commit"
git --git-dir "$remote" log -1 --format='%h %s%n%n%b' gitops
say "curl 127.0.0.1:$model_port/readyz   # the challenger serves again"
serving
say "git notes --ref gitops-ml-deployments show ${failed:0:12}   # the failed rollout, recorded in git"
git --git-dir "$remote" notes --ref gitops-ml-deployments show "$failed" | python3 -c '
import json, sys
for record in json.load(sys.stdin)["deployments"]:
    print(record["outcome"], "restored", record.get("restored", "")[:12])
    for check in record["checks"]:
        print("  ", check["name"], check["status"], check["reason"][:100])'
say "curl 127.0.0.1:$agent_port/metrics | grep rollbacks"
http "http://127.0.0.1:$agent_port/metrics" | grep '^gitops_ml_agent_rollbacks_total'

# Live traffic: rows of the evaluation data as requests to the served port, every second one without the
# discount the next model needs; once $work/shift exists, customers are older, longer-tenured, dearer and
# call support more.
traffic() { python3 - "$model_port" "$work/shift" <<'PY' &
import csv, json, os, sys, urllib.request
port, shift = sys.argv[1], sys.argv[2]
rows = list(csv.DictReader(open("data/eval.csv")))
for index in range(10**9):
    row = rows[index % len(rows)]
    instance = {k: (float(v) if k in ("tenure_months", "age", "monthly_charges", "support_calls") else v)
                for k, v in row.items() if k not in ("customer_id", "churned")}
    if index % 2:
        instance["discount"] = 0.1
    if os.path.exists(shift):
        instance["monthly_charges"] *= 3; instance["tenure_months"] += 60; instance["age"] += 25
        instance["support_calls"] += 6
    request = urllib.request.Request(f"http://127.0.0.1:{port}/predict", json.dumps({"instances": [instance]}).encode(),
                                     {"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=10).read()
    except Exception:
        pass
PY
}

say "policies/promotion.yaml on main: staging rolls out as a canary (10 % → 50 % → 100 %), judged on live traffic"
cat >> policies/promotion.yaml <<'YAML'
  environments:
    staging:
      rollout: {strategy: canary, steps: [10, 50, 100], min_requests: 200, errors: 0.02, max_duration: 5m}
YAML
cat policies/promotion.yaml | tail -n 4
git commit -q -am "Staging rolls out as a canary" && git push -q "$remote" main
say "a model that needs a discount field half of production's requests lack (its smoke sample has one)"
git checkout -q -b discount challenger/better
python3 - <<'PY'
import json
model = json.load(open("model/model.json"))
model["numeric"] = model.get("numeric", []) + ["discount"]
model.setdefault("scaling", {})["discount"] = [0, 1]
json.dump(model, open("model/model.json", "w"))
sample = json.load(open("smoke.json"))
sample["instances"][0]["discount"] = 0.1
json.dump(sample, open("smoke.json", "w"))
PY
git commit -q -am "Retrain with a discount feature" && git push -q "$remote" discount
"$bin" promote churn --to staging --rev discount --push "$remote" --run-checks 2>&1 | tail -n 1
git checkout -q main
canary=$(git --git-dir "$remote" rev-parse gitops)
traffic
traffic_pid=$!
trap 'kill $agent $traffic_pid 2>/dev/null || true' EXIT
webhook
for _ in $(seq 1200); do [ "$(git --git-dir "$remote" rev-parse gitops)" != "$canary" ] && break; sleep 0.1; done
say "git log -1 gitops   # the canary, stepped back and reverted with the analysis"
git --git-dir "$remote" log -1 --format='%h %s%n%n%b' gitops | fold -s -w 118
say "curl 127.0.0.1:$model_port/readyz   # the challenger served throughout"
serving
say "gitops-ml rollout analyze --outcomes state/rollout-staging.jsonl --record <the canary's release record>"
git --git-dir "$remote" show "$canary:environments/staging/churn.yaml" > "$work/canary-record.yaml"
"$bin" rollout analyze --outcomes "$work/state/rollout-staging.jsonl" --record "$work/canary-record.yaml" \
  | fold -s -w 118 || echo "exit code: $? (rolled back)"

say "production drift: the served inputs against the training data of the release that runs"
for _ in $(seq 300); do http "http://127.0.0.1:$agent_port/metrics" | grep -q served_dataset_drift && break; sleep 0.1; done
http "http://127.0.0.1:$agent_port/metrics" | grep '^gitops_ml_agent_served_dataset_drift' || true
touch "$work/shift"
for _ in $(seq 600); do [ -f "$work/retrain.json" ] && break; sleep 0.1; done
http "http://127.0.0.1:$agent_port/metrics" | grep -E '^gitops_ml_agent_served_(dataset_drift|drift_share)' || true
say "cat retrain.json   # the retraining signal (a repository_dispatch payload)"
cat "$work/retrain.json" 2>/dev/null || echo "(no signal yet)"
kill $traffic_pid 2>/dev/null || true
kill -TERM $agent && wait $agent
echo "agent stopped (SIGTERM): model server stopped, state in $work/state"
