#!/usr/bin/env bash
# One command on a fresh Debian machine: install, build, and run the quickstart on the embedded MNIST.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
node packages/cli/dist/src/main.js quickstart "$@"
