#!/usr/bin/env bash
# Runs Kaze's whole test suite: unit tests, the store contract suite, the QMP client against a
# real QEMU, and the integration tests with real kazed processes and QEMU guests (TCG).
# Installs what is missing first (as root on Debian 12). Extra arguments go to `swift test`.
source "$(dirname "$0")/lib/setup.sh"
# The web UI's tests drive a real headless browser.
KAZE_PACKAGES+=(chromium chromium-driver python3-selenium fonts-ipafont-gothic)
setup_all
say "running the tests"
cd "$KAZE_ROOT"
swift test --skip-build "${KAZE_BUILD_FLAGS[@]}" "$@"
