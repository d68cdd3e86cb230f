#!/bin/sh
# Adds Studio to the desktop's application menu and to "Open With" for PNGs, for this user.
# Run from the unpacked folder: ./install.sh   (./install.sh --uninstall removes it again)
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
data="${XDG_DATA_HOME:-$HOME/.local/share}"
desktop="$data/applications/studio.desktop"
if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$desktop"
    find "$data/icons/hicolor" -path '*/apps/studio.png' -delete 2>/dev/null || true
else
    mkdir -p "$data/applications"
    for icon in "$here"/share/icons/hicolor/*/apps/studio.png; do
        size="$(basename "$(dirname "$(dirname "$icon")")")"
        mkdir -p "$data/icons/hicolor/$size/apps"
        cp "$icon" "$data/icons/hicolor/$size/apps/studio.png"
    done
    sed "s|^Exec=studio|Exec=\"$here/studio\"|" "$here/share/applications/studio.desktop" \
        > "$desktop"
    echo "Studio added to the applications menu ($desktop)."
fi
command -v update-desktop-database >/dev/null && update-desktop-database "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q "$data/icons/hicolor" 2>/dev/null || true
