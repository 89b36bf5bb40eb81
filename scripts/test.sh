#!/usr/bin/env bash
# Runs Kaze's whole test suite: unit tests, the store contract suite, the QMP client against a
# real QEMU, and the integration tests with real kazed processes and QEMU guests (TCG).
# Installs what is missing first (as root on Debian 12). Extra arguments go to `swift test`.
source "$(dirname "$0")/lib/setup.sh"
setup_all
say "running the tests"
cd "$KAZE_ROOT"
swift test --skip-build "${KAZE_BUILD_FLAGS[@]}" "$@"
