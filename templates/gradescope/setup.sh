#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# It installs Node/npm and OpenBLAS from apt, Deno from npm (pinned), and
# pre-fetches every npm module the lab imports, so grading needs no download.
# Every root path can be overridden (see run_autograder).
set -euo pipefail
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="${AUTOGRADER_SOURCE:-$ROOT/source}"
DENO_VERSION="${DENO_VERSION:-@DENO_VERSION@}"

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends ca-certificates nodejs npm libopenblas0-pthread
npm install --global "deno@${DENO_VERSION}"
deno --version

cd "$SOURCE/lab"
# Every npm package of the lockfile (what grading and graded code can import:
# the packages deno.json lists and their dependencies), and the module graphs
# of the grader and the library, into Deno's cache. Grading then runs with
# --frozen --cached-only and never contacts a registry.
deno install --frozen
deno cache --frozen grader/gradescope/autograder.ts grader/sandbox/child.ts grader/sandbox/child_backend.ts mod.ts \
  models/mod.ts tasks/mod.ts data.ts
# Decode the shipped archive once into the cache the grader reads.
NOTMNIST_DIR="${NOTMNIST_DIR:-$SOURCE/data}" NOTMNIST_CACHE="${NOTMNIST_CACHE:-$ROOT/cache}" \
  deno run --allow-read --allow-write --allow-env --allow-ffi --allow-sys data/cli.ts --protocol small
