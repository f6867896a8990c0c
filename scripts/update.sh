#!/usr/bin/env bash
# Bring upstream changes into this (possibly customised) copy of Carapace: fetch, show what changed, merge with
# the local commits kept, rebuild and test, and go back to the previous commit if anything fails. The copy is
# never left half-updated: it ends either at the merged, tested commit or exactly where it started.
#
#   scripts/update.sh [--check]      --check only shows what an update would bring
#
# CARAPACE_UPSTREAM_REMOTE (default upstream) and CARAPACE_UPSTREAM_BRANCH (default main) name what to merge;
# CARAPACE_UPDATE_TEST (default "npm run build && npm run check:structure && npm test") is what must pass.
set -euo pipefail
cd "$(dirname "$0")/.."
remote=${CARAPACE_UPSTREAM_REMOTE:-upstream}
branch=${CARAPACE_UPSTREAM_BRANCH:-main}
test_cmd=${CARAPACE_UPDATE_TEST:-npm run build && npm run check:structure && npm test}
say() { echo "update: $*"; }

if ! git remote get-url "$remote" >/dev/null 2>&1; then
  say "no git remote \"$remote\"; add it: git remote add $remote <url of the Carapace repository>" >&2
  exit 1
fi
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  say "uncommitted changes; commit them (they are your customisation) or stash them, then run this again" >&2
  git status --short --untracked-files=no >&2
  exit 1
fi

git fetch --quiet "$remote" "$branch"
target="$remote/$branch"
before=$(git rev-parse HEAD)
incoming=$(git rev-list --count "HEAD..$target")
if [ "$incoming" = 0 ]; then
  say "already up to date with $target"
  exit 0
fi
say "$incoming new commit(s) from $target:"
git log --oneline --no-decorate "HEAD..$target"
git diff --stat "HEAD...$target"
if [ "${1:-}" = --check ]; then exit 0; fi

rollback() {
  say "$1; going back to ${before:0:12}" >&2
  git merge --abort >/dev/null 2>&1 || true
  git reset --quiet --hard "$before"
  # the merge brought other dependencies: put the old ones back
  if [ "${deps_changed:-0}" = 1 ]; then npm ci --silent >/dev/null 2>&1 || say "npm ci failed; run it by hand" >&2; fi
  say "nothing changed; your copy is at ${before:0:12} as before" >&2
  exit 1
}

if ! git merge --no-edit --quiet "$target"; then
  conflicts=$(git diff --name-only --diff-filter=U | tr '\n' ' ')
  if [ -n "$conflicts" ]; then rollback "the merge conflicts with your changes in: $conflicts(resolve them by hand: git merge $target)"; fi
  rollback "git could not merge (its message is above)"
fi
deps_changed=0
if ! git diff --quiet "$before" HEAD -- package-lock.json; then
  deps_changed=1
  npm ci || rollback "npm ci failed after the merge"
fi
say "merged; testing: $test_cmd"
bash -c "$test_cmd" || rollback "the tests failed after the merge"
say "updated ${before:0:12} -> $(git rev-parse --short=12 HEAD); restart Carapace to run it (carapace service install restarts the service)"
