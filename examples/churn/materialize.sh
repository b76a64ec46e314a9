#!/usr/bin/env bash
# Builds the churn example as a git repository with a meaningful history, in the folder you name:
#
#   main               the champion: logistic regression on tenure, charges and contract (tag churn@v1.0.0)
#   challenger/better  more features: a better challenger
#   challenger/worse   the wrong features: a worse challenger
#   data/refresh       new training data with a shifted population, model retrained
#
# Standard library Python and git only. Deterministic: the same commit ids every time.
#   examples/churn/materialize.sh /tmp/churn
set -euo pipefail

dest=${1:?usage: materialize.sh DIR}
src=$(cd "$(dirname "$0")" && pwd)
if [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
  echo "materialize.sh: $dest exists and is not empty" >&2
  exit 2
fi
mkdir -p "$dest"
cd "$dest"

export GIT_AUTHOR_NAME="Dana Scientist" GIT_AUTHOR_EMAIL="dana@example.com"
export GIT_COMMITTER_NAME="Dana Scientist" GIT_COMMITTER_EMAIL="dana@example.com"
export GIT_CONFIG_NOSYSTEM=1 PYTHONDONTWRITEBYTECODE=1
clock=1767261600  # 2026-01-01T10:00:00Z; each commit one hour later
commit() {
  clock=$((clock + 3600))
  GIT_AUTHOR_DATE="@$clock +0000" GIT_COMMITTER_DATE="@$clock +0000" git commit -q -m "$1" -m "${2:-}"
}

git init -q -b main
git config user.name "$GIT_AUTHOR_NAME"
git config user.email "$GIT_AUTHOR_EMAIL"
cp "$src"/{generate_data.py,model_lib.py,train.py,serve.py,smoke.json,params.yaml,dvc.yaml,gitops-ml.yaml,.gitignore} .
cp -r "$src/policies" .

python3 generate_data.py --out data --seed 7 >/dev/null
git add -A
commit "Add churn data, training code and serving" "Training data: 2000 customers; evaluation set: 1000 fixed customers."
python3 train.py >/dev/null
git add -A
commit "Train champion model" "Logistic regression on tenure, monthly charges and contract."
clock=$((clock + 60))
GIT_COMMITTER_DATE="@$clock +0000" git tag -a churn@v1.0.0 -m "Registering artifact churn version v1.0.0"

git checkout -q -b challenger/better main
cp "$src/variants/params-better.yaml" params.yaml
python3 train.py >/dev/null
git add -A
commit "Challenger: add support calls, age and paperless billing" "More features, 40 epochs."

git checkout -q -b challenger/worse main
cp "$src/variants/params-worse.yaml" params.yaml
python3 train.py >/dev/null
git add -A
commit "Challenger: age, charges and region only" "Fewer epochs and stronger regularisation."

git checkout -q -b data/refresh main
python3 generate_data.py --out data --seed 8 --shift 0.8 >/dev/null
python3 train.py >/dev/null
git add -A
commit "Refresh training data" "A newer population: older customers, higher charges, more support calls."

git checkout -q main
echo "churn example materialised in $dest: branches main, challenger/better, challenger/worse, data/refresh"
