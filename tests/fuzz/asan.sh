#!/usr/bin/env bash
# Build rdarray's Cython kernels with AddressSanitizer in a scratch copy and run the kernel tests
# (and optionally the atheris harnesses) against that build.
#
# Why: the kernels read untrusted buffers (frames, Blosc2 chunks) through raw pointers; ASan turns
# any read or write outside a buffer into an immediate report instead of silent damage.
#
# The normal build in rdarray/_core is left alone: the package is copied to a scratch directory
# (ASAN_BUILD_DIR, default a fresh temporary one), built there in place, and the tests run with
# that directory first on sys.path. Python itself is not instrumented, so libasan is preloaded,
# and PYTHONMALLOC=malloc sends Python's own small allocations (bytes objects holding frames)
# through ASan's allocator as well. C-Blosc2 is linked statically from the blosc2 wheel
# (setup.py) and is not instrumented: its own reads are checked only where they go through
# intercepted calls (memcpy, memmove, memset), while rdarray's code is checked everywhere.
#
# Usage:  tests/fuzz/asan.sh                 # build, then run the kernel tests
#         tests/fuzz/asan.sh -k frame        # extra arguments go to pytest
#         FUZZ_SECONDS=60 tests/fuzz/asan.sh # also run each atheris harness for 60 s under ASan
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BUILD="${ASAN_BUILD_DIR:-$(mktemp -d -t rdarray-asan-XXXXXX)}"
PYTHON="${PYTHON:-python}"
ASAN_LIB="$(gcc -print-file-name=libasan.so)"
[ -f "$ASAN_LIB" ] || { echo "asan.sh: libasan.so not found (gcc -print-file-name=libasan.so)" >&2; exit 2; }

echo "asan.sh: building in $BUILD"
mkdir -p "$BUILD"
rm -rf "$BUILD/rdarray"
cp -r "$ROOT/rdarray" "$ROOT/setup.py" "$ROOT/pyproject.toml" "$BUILD/"
find "$BUILD/rdarray" \( -name '*.so' -o -name '__pycache__' \) -prune -exec rm -rf {} +
(
  cd "$BUILD"
  CFLAGS="-fsanitize=address -fno-omit-frame-pointer -g -O1" \
  LDFLAGS="-fsanitize=address" \
    "$PYTHON" setup.py -q build_ext --inplace --force >"$BUILD/build.log" 2>&1 \
    || { tail -40 "$BUILD/build.log" >&2; exit 1; }
)

export LD_PRELOAD="$ASAN_LIB"
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1:print_summary=1"
export PYTHONMALLOC=malloc
export PYTHONPATH="$BUILD${PYTHONPATH:+:$PYTHONPATH}"  # the ASan copy before the editable install
cd "$BUILD"

"$PYTHON" - "$BUILD" <<'EOF'
import sys, rdarray._core.frame as f, rdarray._core.hashing as h
assert f.__file__.startswith(sys.argv[1]) and h.__file__.startswith(sys.argv[1]), (f.__file__, h.__file__)
print("asan.sh: testing", f.__file__)
EOF

status=0
"$PYTHON" -m pytest -q -p no:cacheprovider \
  "$ROOT/tests/test_frame.py" "$ROOT/tests/test_hashing.py" \
  "$ROOT/tests/test_fuzz.py" "$@" || status=$?

if [ "${FUZZ_SECONDS:-0}" -gt 0 ]; then
  for harness in frame meta wire; do
    log="$BUILD/fuzz_$harness.log"
    rc=0
    "$PYTHON" "$ROOT/tests/fuzz/fuzz_$harness.py" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
      >"$log" 2>&1 || rc=$?
    echo "asan.sh: fuzz_$harness exit status $rc, $(grep -o 'number_of_executed_units: [0-9]*' "$log" || true)"
    [ "$rc" -eq 0 ] || { tail -30 "$log"; status=1; }
  done
fi
echo "asan.sh: exit status $status (build kept in $BUILD)"
exit "$status"
