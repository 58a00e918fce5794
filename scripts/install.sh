#!/usr/bin/env bash
# Installs what robusta needs on a fresh Debian machine (as root) and builds it:
#   libtorch (Debian's libtorch-dev; or LIBTORCH=/path/to/libtorch for a CUDA/pip build),
#   PyTorch for Python (the reference oracle of the tests), Chromium for the dashboard tests,
#   PostgreSQL, Slurm (slurm-wlm) and munge for the cluster tests (they start their own instances),
#   npm dependencies, the native addon and the TypeScript packages.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(python3-torch python3-torchvision python3-scipy chromium fonts-dejavu-core g++ make postgresql slurm-wlm munge)
[ -z "${LIBTORCH:-}" ] && apt_packages+=(libtorch-dev)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "== npm ci"
npm ci --no-audit --no-fund

echo "== native addon (libtorch: $(node packages/torch/scripts/libtorch.cjs libdir))"
npm run build:native >/dev/null

echo "== TypeScript"
npm run build:ts
echo "== installed"

# robusta on the PATH: a link to the command's launcher (npx robusta works inside the repository without it).
bin_dir="${ROBUSTA_BIN_DIR:-/usr/local/bin}"
if mkdir -p "$bin_dir" 2>/dev/null && [ -w "$bin_dir" ]; then
  ln -sf "$PWD/packages/cli/bin/robusta.js" "$bin_dir/robusta"
  echo "== robusta -> $bin_dir/robusta"
else
  echo "== cannot write $bin_dir: use 'npx robusta' in the repository, or set ROBUSTA_BIN_DIR to a folder on your PATH"
fi
