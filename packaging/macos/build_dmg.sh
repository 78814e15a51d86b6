#!/usr/bin/env bash
# Build a drag-to-install .dmg from the PyInstaller app bundle.
#
#   packaging/macos/build_dmg.sh dist/Denoiser.app dist/installer/Denoiser-1.2.3-macos-arm64.dmg
#
# Signing and notarization run only when their variables are set:
#   CODESIGN_IDENTITY   "Developer ID Application: ..." certificate name in the keychain;
#                       signs the app (hardened runtime) and the dmg.
#   NOTARY_PROFILE      a `xcrun notarytool store-credentials` profile name, or else
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD  (an app-specific password).
#                       With either, the dmg is notarized and stapled
#                       (needs CODESIGN_IDENTITY too).
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 <path/to/App.app> <output.dmg>" >&2
    exit 2
fi
app=$1
dmg=$2
here=$(cd "$(dirname "$0")" && pwd)
entitlements="$here/entitlements.plist"
volume=$(basename "$app" .app)

[[ -d "$app" ]] || { echo "no app bundle at $app" >&2; exit 1; }
mkdir -p "$(dirname "$dmg")"

notary_args=()
if [[ -n "${NOTARY_PROFILE:-}" ]]; then
    notary_args=(--keychain-profile "$NOTARY_PROFILE")
elif [[ -n "${APPLE_ID:-}" && -n "${APPLE_TEAM_ID:-}" && -n "${APPLE_APP_PASSWORD:-}" ]]; then
    notary_args=(--apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" --password "$APPLE_APP_PASSWORD")
fi

sign() {
    codesign --force --timestamp --options runtime --entitlements "$entitlements" \
        --sign "$CODESIGN_IDENTITY" "$1"
}

if [[ -n "${CODESIGN_IDENTITY:-}" ]]; then
    echo "Signing $app inside-out"
    # Apple advises against --deep: sign every nested Mach-O file first,
    # deepest paths first, then the executables, then the bundle itself.
    while IFS= read -r -d '' file; do
        if file -b "$file" | grep -q "Mach-O"; then
            sign "$file"
        fi
    done < <(find "$app/Contents/Frameworks" "$app/Contents/Resources" -type f -print0 2>/dev/null \
             | perl -0 -e 'print sort { ($b =~ tr{/}{}) <=> ($a =~ tr{/}{}) } <>')
    for executable in "$app"/Contents/MacOS/*; do
        sign "$executable"
    done
    sign "$app"
    codesign --verify --deep --strict --verbose=2 "$app"
    if [[ ${#notary_args[@]} -gt 0 ]]; then
        echo "Notarizing $app"
        zip=$(mktemp -d)/app.zip
        ditto -c -k --keepParent "$app" "$zip"
        xcrun notarytool submit "$zip" "${notary_args[@]}" --wait
        xcrun stapler staple "$app"
    fi
else
    echo "CODESIGN_IDENTITY not set: leaving the app ad-hoc signed"
fi

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
ditto "$app" "$stage/$(basename "$app")"  # ditto keeps the bundle's symlinks
ln -s /Applications "$stage/Applications"

rm -f "$dmg"
# hdiutil now and then fails with "Resource busy" on CI machines; retry.
for attempt in 1 2 3; do
    if hdiutil create -volname "$volume" -srcfolder "$stage" -fs HFS+ -format UDZO -ov "$dmg"; then
        break
    fi
    if [[ $attempt -eq 3 ]]; then
        echo "hdiutil create failed" >&2
        exit 1
    fi
    sleep 10
done

if [[ -n "${CODESIGN_IDENTITY:-}" ]]; then
    codesign --force --timestamp --sign "$CODESIGN_IDENTITY" "$dmg"
fi

if [[ -n "${CODESIGN_IDENTITY:-}" && ${#notary_args[@]} -gt 0 ]]; then
    echo "Notarizing $dmg"
    xcrun notarytool submit "$dmg" "${notary_args[@]}" --wait
    xcrun stapler staple "$dmg"
elif [[ ${#notary_args[@]} -gt 0 ]]; then
    echo "notarization needs a signed app: set CODESIGN_IDENTITY" >&2
    exit 1
else
    echo "No notarization credentials: skipping notarization"
fi

echo "$dmg"
