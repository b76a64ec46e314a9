#!/usr/bin/env python3
"""The sync agent on the churn example with the local target: idle memory, webhook-to-healthy time for a
promotion, and rollback time for a promotion that fails its smoke prediction.

Flux's controllers idle at 64-80 MiB RSS each and Argo CD's application controller at several hundred; no
peer rolls back through git by default, so the rollback time has no peer number here. The model server's
own start (python3 serve.py until /readyz answers) is measured apart, so the agent's share is visible.

    python3 benchmarks/bench_agent.py --gitops-ml .build/release/gitops-ml [--runs 5] [--cycles 1000]

With --cycles N, N more rollout-and-rollback cycles follow (a good promotion rolled out, then a broken one
rolled back): open files, RSS and private memory after them, and the rollback time with N deployment
records in the notes against the first one's — what grows per cycle shows there.
"""
import argparse
import hashlib
import hmac
import json
import os
import pathlib
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
SECRET = "bench-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.read().decode()
    except Exception:
        return None


def git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def wait(condition, seconds=60.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.005)
    raise SystemExit("timed out")


def rss_kib(pid, field="VmRSS"):
    """VmRSS (all resident pages) or RssAnon (private memory: heap and stacks, no file pages)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def open_files(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gitops-ml", required=True)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cycles", type=int, default=0)
    args = parser.parse_args()
    binary = str(pathlib.Path(args.gitops_ml).resolve())
    temp = pathlib.Path(tempfile.mkdtemp(prefix="bench-agent-"))
    project, remote, work = temp / "churn", temp / "churn.git", temp / "gitops-work"
    subprocess.run(["bash", str(ROOT / "examples/churn/materialize.sh"), str(project)], check=True,
                   capture_output=True)
    git("checkout", "-q", "-b", "broken", "challenger/better", cwd=project)
    model = json.loads((project / "model/model.json").read_text())
    model["numeric"] = model.get("numeric", []) + ["mystery_feature"]
    (project / "model/model.json").write_text(json.dumps(model))
    git("commit", "-q", "-am", "A model serving cannot feed", cwd=project)
    git("checkout", "-q", "main", cwd=project)
    subprocess.run(["git", "clone", "-q", "--bare", str(project), str(remote)], check=True)
    subprocess.run(["git", "clone", "-q", str(remote), str(work)], check=True)
    git("checkout", "-q", "--orphan", "gitops", cwd=work)
    git("rm", "-rq", "--cached", ".", cwd=work)
    for entry in work.iterdir():
        if entry.name != ".git":
            subprocess.run(["rm", "-rf", str(entry)], check=True)

    def promote(revision, version):
        """A release record as `promote` writes it (the gates are benchmarked in bench_check.py)."""
        source = git("rev-parse", revision, cwd=project)
        blob = subprocess.run(["git", "show", f"{source}:model/model.json"], cwd=project, check=True,
                              capture_output=True).stdout
        record = (f"apiVersion: gitops-ml/v1\nkind: Release\nmodel: churn\nenvironment: bench\nversion: {version}\n"
                  f"source_commit: {source}\nartifact:\n  path: model/model.json\n"
                  f"  digest: sha256:{hashlib.sha256(blob).hexdigest()}\n")
        (work / "environments/bench").mkdir(parents=True, exist_ok=True)
        (work / "environments/bench/churn.yaml").write_text(record)
        git("add", "-A", cwd=work)
        git("-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m",
            f"Promote churn {version}", cwd=work)
        git("push", "-q", "origin", "HEAD:gitops", cwd=work)
        return git("rev-parse", "HEAD", cwd=work)

    model_port, agent_port = free_port(), free_port()
    (temp / "agent.yaml").write_text(f"""version: 1
repository: {remote}
interval: 3600
state_dir: {temp}/state
webhook: {{secret_env: BENCH_WEBHOOK_SECRET}}
environments:
  - name: bench
    branch: gitops
    namespace: bench
    target: local
    port: {model_port}
    health:
      deadline: 30
      probes: [{{path: /readyz, period: 0.05, timeout: 2, success_threshold: 1, failure_threshold: 600}}]
      smoke: {{sample: smoke.json, required_fields: [predictions.0.churn_probability], latency_budget: 1}}
""")

    def version():
        text = get(f"http://127.0.0.1:{model_port}/readyz")
        return json.loads(text)["version"] if text else None

    def webhook():
        body = b'{"ref": "refs/heads/gitops"}'
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            f"http://127.0.0.1:{agent_port}/webhook", data=body, method="POST",
            headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": signature})
        urllib.request.urlopen(request, timeout=5).read()

    # The model server's own start: spawn to the first answer of /readyz.
    starts = []
    for _ in range(args.runs):
        port = free_port()
        began = time.monotonic()
        server = subprocess.Popen(["python3", "serve.py", "--port", str(port)], cwd=project,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait(lambda: get(f"http://127.0.0.1:{port}/readyz", timeout=0.2) is not None)
        starts.append(time.monotonic() - began)
        server.terminate()
        server.wait()

    promote("main", "v0.0.0")
    environment = dict(os.environ, BENCH_WEBHOOK_SECRET=SECRET)
    agent = subprocess.Popen(
        [binary, "agent", "run", "--config", str(temp / "agent.yaml"), "--listen", f"127.0.0.1:{agent_port}",
         "--log-level", "warning"], env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait(lambda: version() == "v0.0.0")
        time.sleep(5)
        idle, idle_anon = rss_kib(agent.pid), rss_kib(agent.pid, "RssAnon")

        rollouts = []
        for run in range(1, args.runs + 1):
            promote("challenger/better" if run % 2 else "main", f"v{run}.0.0")
            began = time.monotonic()
            webhook()
            wait(lambda: version() == f"v{run}.0.0")
            rollouts.append(time.monotonic() - began)

        def rollback(name):
            good = version()
            failed = promote("broken", name)
            began = time.monotonic()
            webhook()
            wait(lambda: git("rev-parse", "gitops", cwd=remote) != failed and version() == good)
            git("pull", "-q", "--ff-only", "origin", "gitops", cwd=work)
            return time.monotonic() - began

        rollbacks = [rollback(f"broken{run}") for run in range(args.runs)]
        peak, peak_anon = rss_kib(agent.pid), rss_kib(agent.pid, "RssAnon")
        files = open_files(agent.pid)

        cycled = None
        for cycle in range(args.cycles):
            promote("challenger/better" if cycle % 2 else "main", f"v0.{cycle + 1}.0")
            webhook()
            wait(lambda: version() == f"v0.{cycle + 1}.0")
            last_rollback = rollback(f"cycle{cycle}")
            cycled = (open_files(agent.pid), rss_kib(agent.pid), rss_kib(agent.pid, "RssAnon"), last_rollback)
        # Quiet again: 30 s after its last busy pass the agent gives back the code pages the passes used.
        time.sleep(35)
        quiet, quiet_anon = rss_kib(agent.pid), rss_kib(agent.pid, "RssAnon")
    finally:
        agent.terminate()
        agent.wait()

    def ms(values):
        return f"{statistics.median(values) * 1000:,.0f} ms (min {min(values) * 1000:,.0f}, max {max(values) * 1000:,.0f})"

    print(f"## The sync agent, local target, churn example ({args.runs} runs, medians)\n")
    print("| measure | gitops-ml agent | peer |")
    print("|---|---|---|")
    print(f"| idle RSS of the agent (model server excluded) | {idle / 1024:.1f} MiB | Flux controllers 64–80 MiB each |")
    print(f"| of which private (RssAnon; the rest is pages of the binary and libraries) | {idle_anon / 1024:.1f} MiB | |")
    print(f"| RSS after {2 * args.runs} rollouts and rollbacks (private) | {peak / 1024:.1f} MiB ({peak_anon / 1024:.1f} MiB) | |")
    print(f"| model server's own start (python3 serve.py to /readyz) | {ms(starts)} | |")
    print(f"| webhook to healthy: promotion rolled out, smoke-tested, serving | {ms(rollouts)} | |")
    print(f"| rollback: webhook to old version serving and revert commit pushed | {ms(rollbacks)} | none by default |")
    print(f"| agent's share of a rollout (median rollout − median server start) | "
          f"{(statistics.median(rollouts) - statistics.median(starts)) * 1000:,.0f} ms | |")
    print(f"| RSS (private) after all of them, then 35 s idle | {quiet / 1024:.1f} MiB ({quiet_anon / 1024:.1f} MiB) | |")
    if cycled:
        cycled_files, cycled_rss, cycled_anon, last = cycled
        print(f"| open files after {2 * args.runs} rollouts and rollbacks → after {args.cycles} more cycles | "
              f"{files} → {cycled_files} | |")
        print(f"| RSS (private) after {args.cycles} more cycles | {cycled_rss / 1024:.1f} MiB "
              f"({cycled_anon / 1024:.1f} MiB) | |")
        print(f"| rollback with {args.runs} → {args.runs + args.cycles} deployment records | "
              f"{statistics.median(rollbacks) * 1000:,.0f} ms → {last * 1000:,.0f} ms | |")


if __name__ == "__main__":
    main()
