# Shared set-up for Kaze's scripts: installs what is missing on a Debian 12 machine (as root),
# checks the Swift toolchain, builds the test guest image and the package.
set -euo pipefail

KAZE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KAZE_PACKAGES=(qemu-system-x86 qemu-utils busybox-static cpio ovmf iproute2 libsqlite3-dev curl etcd-server novnc)
KAZE_BUILD_FLAGS=(-Xswiftc -warnings-as-errors)

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_packages() {
  local missing=()
  for package in "${KAZE_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
  done
  if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    if [[ $(id -u) -ne 0 ]]; then
      echo "these Debian packages are missing: ${missing[*]}; run as root to install them" >&2
      exit 1
    fi
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
}

ensure_swift() {
  if ! command -v swift >/dev/null; then
    for dir in /opt/swift/usr/bin /usr/share/swift/usr/bin; do
      [[ -x $dir/swift ]] && export PATH=$dir:$PATH && break
    done
  fi
  command -v swift >/dev/null || {
    echo "Swift 6 is not installed: get the toolchain from swift.org and put its usr/bin on PATH" >&2
    exit 1
  }
}

ensure_test_image() {
  "$KAZE_ROOT/scripts/build-test-image.sh" "$KAZE_ROOT/.test-image"
}

build_all() {
  say "building Kaze (debug, warnings are errors)"
  (cd "$KAZE_ROOT" && swift build --build-tests "${KAZE_BUILD_FLAGS[@]}")
}

setup_all() {
  ensure_packages
  ensure_swift
  ensure_test_image
  build_all
}
