#!/usr/bin/env bash
# Builds the Rust core for iPhones (aarch64-apple-ios) and simulators
# (aarch64-apple-ios-sim, x86_64-apple-ios), packs it as PatrolCoreFFI.xcframework,
# and copies the generated Swift bindings into PatrolKit. Needs macOS with Xcode.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -s)" = Darwin ] || { echo "build-xcframework.sh needs macOS with Xcode" >&2; exit 1; }

export IPHONEOS_DEPLOYMENT_TARGET=16.0
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
  echo "==> patrol-core for $t"
  # The static library is asked for here, not listed in Cargo.toml: every test build
  # would otherwise archive a 300 MB libpatrol_core.a nobody on the JVM or server uses.
  cargo rustc -p patrol-core --lib --release --target "$t" --crate-type staticlib
done

# The bindings do not depend on the target: generate them from the host library with
# the pinned generator, as for Android.
scripts/bindings --release

kit=ios/PatrolKit
work=target/ios
rm -rf "$work" && mkdir -p "$work/headers" "$work/sim"
cp target/bindings/swift/*.h "$work/headers/"
# One module map naming both C modules (patrol_coreFFI, patrol_protocolFFI).
cat target/bindings/swift/*.modulemap > "$work/headers/module.modulemap"

# Both Swift files go into one module (PatrolKit): patrol_core.swift uses the protocol
# types without importing another module.
rm -rf "$kit/Sources/PatrolKit/Generated"
mkdir -p "$kit/Sources/PatrolKit/Generated"
cp target/bindings/swift/*.swift "$kit/Sources/PatrolKit/Generated/"

lipo -create \
  target/aarch64-apple-ios-sim/release/libpatrol_core.a \
  target/x86_64-apple-ios/release/libpatrol_core.a \
  -output "$work/sim/libpatrol_core.a"

rm -rf "$kit/PatrolCoreFFI.xcframework"
xcodebuild -create-xcframework \
  -library target/aarch64-apple-ios/release/libpatrol_core.a -headers "$work/headers" \
  -library "$work/sim/libpatrol_core.a" -headers "$work/headers" \
  -output "$kit/PatrolCoreFFI.xcframework"
echo "==> $kit/PatrolCoreFFI.xcframework and $kit/Sources/PatrolKit/Generated are ready"
