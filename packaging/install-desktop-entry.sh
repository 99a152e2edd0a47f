#!/usr/bin/env sh
# Install the desktop entry and icon for the current user (Linux, freedesktop menus).
# Run after `pip install` so that `jepa-studio` is on PATH.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
apps="${XDG_DATA_HOME:-$HOME/.local/share}/applications"
icons="${XDG_DATA_HOME:-$HOME/.local/share}/icons/hicolor/scalable/apps"
mkdir -p "$apps" "$icons"
cp "$here/jepa-studio.desktop" "$apps/jepa-studio.desktop"
cp "$here/../resources/icons/jepa-studio.svg" "$icons/jepa-studio.svg"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database "$apps" || true
echo "installed $apps/jepa-studio.desktop"
