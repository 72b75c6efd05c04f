#!/usr/bin/env bash
# Packs what a run on the GPU device machine needs (Node, the installed node_modules, built dist/
# and build/ folders, the Vulkan loader), like ../shared/device/pack.sh, but leaves out what a
# run there never loads (lint/format/build tools, tfjs's browser bundles and per-file ESM copies)
# so the carried folder stays under the device tool's 64 MiB limit.
# Use: npm ci && npm run build && bash scripts/device-pack.sh; then run with carry [".device"]
# and a command that starts with `source .device/setup.sh`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
shared="$(cd ../shared/device && pwd)"
out=.device
rm -rf "$out"; mkdir -p "$out/debs"
xz -T0 -4 -c "$(command -v node)" > "$out/node.xz"
debs="libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2"
if ! (cd "$out/debs" && apt-get download $debs >/dev/null 2>&1); then
  apt-get update >/dev/null 2>&1 && (cd "$out/debs" && apt-get download $debs >/dev/null 2>&1)
fi
list=$(mktemp)
{
  find node_modules packages/*/node_modules apps/*/node_modules \
    \( -name '@biomejs' -o -name '@turbo' -o -name 'turbo' -o -name 'typescript' -o -name 'prettier' \
       -o -name '@changesets' -o -name 'onnxruntime-node' -o -name 'onnxruntime-web' -o -name '@esbuild' -o -name 'esbuild' -o -name 'lightningcss-*' -o -name '@types' \
       -o -name '.cache' -o -name 'darwin-*' -o -name 'win32-*' -o -name 'linux-arm64' -o -name 'miniprogram' \) -prune -o \
    \( -type f -o -type l \) -print 2>/dev/null |
    grep -vE '\.map$|\.html$|/@tensorflow/[^/]+/dist/[^/]+/.*\.js$|/@tensorflow/[^/]+/dist/[a-z_0-9]+\.js$' |
    grep -vE '/@tensorflow/[^/]+/dist/tf[^/]*\.js$' || true
  find node_modules/@tensorflow -path '*/dist/*.node.js' 2>/dev/null || true
  ls -d packages/*/dist apps/*/dist packages/*/build apps/*/build packages/*/cuda 2>/dev/null || true
} > "$list"
tar -cf - -T "$list" | xz -T0 -4 > "$out/deps.tar.xz"
rm -f "$list"
cp "$shared/setup.sh" "$out/setup.sh"
du -sh "$out"/* "$out"
