#!/usr/bin/env bash
# Runs clang-tidy with the checks of .clang-tidy over every translation unit of ours in the
# compile database (src/, tests/chain, bench; not generated sources), prints each finding once and
# a one-line summary, and fails when there is any finding. Run scripts/build.sh first.
# With --fix, applies the fixes clang-tidy offers (review them), then checks again.
# NSL_TIDY_JOBS sets how many files are analysed at once (default: the number of cores).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_DIR="${NSL_BUILD_DIR:-$ROOT/build}"
DB="$BUILD_DIR/compile_commands.json"
JOBS="${NSL_TIDY_JOBS:-$(nproc)}"
TIDY="$(command -v clang-tidy-14 || command -v clang-tidy || true)"
if [ -z "$TIDY" ]; then
  echo "check-tidy: clang-tidy is not installed (scripts/setup.sh installs it)" >&2
  exit 2
fi
if [ ! -f "$DB" ]; then
  echo "check-tidy: $DB is missing; run scripts/build.sh first" >&2
  exit 2
fi

mapfile -t files < <(python3 - "$DB" "$ROOT" <<'EOF'
import json, os, sys
db, root = sys.argv[1], sys.argv[2]
ours = tuple(os.path.join(root, d) + os.sep for d in ("src", "tests", "bench"))
seen = set()
for entry in json.load(open(db)):
    f = os.path.normpath(os.path.join(entry["directory"], entry["file"]))
    if f.startswith(ours) and f not in seen and os.path.exists(f):
        seen.add(f)
        print(f)
EOF
)
if ((${#files[@]} == 0)); then
  echo "check-tidy: no translation units of ours in $DB" >&2
  exit 2
fi

if [ "${1:-}" = "--fix" ]; then
  # run-clang-tidy collects every file's fixes and applies each once, so two translation units
  # that include one header do not edit it at the same time.
  "$(command -v run-clang-tidy-14 || command -v run-clang-tidy)" -p "$BUILD_DIR" -j "$JOBS" -quiet -fix \
    -clang-tidy-binary "$TIDY" "${files[@]}" >/dev/null 2>&1 || true
  exec "$0"
fi

LOGS="$(mktemp -d)"
trap 'rm -rf "$LOGS"' EXIT
started=$SECONDS
export TIDY BUILD_DIR LOGS
# One log per translation unit; a file that clang-tidy cannot analyse at all counts as a failure.
printf '%s\0' "${files[@]}" | xargs -0 -n 1 -P "$JOBS" bash -c '
  log="$LOGS/$(printf "%s" "$1" | sha1sum | cut -c1-16)"
  "$TIDY" -p "$BUILD_DIR" --quiet "$1" >"$log.out" 2>&1 || echo "$1" >"$log.failed"' _

# A .clang-tidy that does not parse is dropped with only a message: a failure here.
unparsed="$(cat "$LOGS"/*.out | grep '^Error parsing .*\.clang-tidy' | sort -u || true)"
if [ -n "$unparsed" ]; then
  echo "$unparsed" >&2
  echo "check-tidy: a .clang-tidy file does not parse (above)" >&2
  exit 1
fi

# A finding in a header shows up once per file that includes it: print each once.
findings="$(cat "$LOGS"/*.out | grep -E '^/.*:[0-9]+:[0-9]+: (warning|error): .*\]$' |
  sed -e "s|^$ROOT/||" -e 's/,-warnings-as-errors\]$/]/' | sort -u || true)"
count=0
[ -n "$findings" ] && count="$(printf '%s\n' "$findings" | wc -l)"
failed=0
if compgen -G "$LOGS/*.failed" >/dev/null; then failed="$(cat "$LOGS"/*.failed | wc -l)"; fi
elapsed=$((SECONDS - started))
if ((count == 0 && failed == 0)); then
  echo "check-tidy: ${#files[@]} translation units clean in ${elapsed}s"
  exit 0
fi
if ((count > 0)); then
  printf '%s\n' "$findings"
  per_check="$(printf '%s\n' "$findings" | grep -oE '\[[^]]+\]$' | sort | uniq -c | sort -rn |
    awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), substr($2, 2, length($2) - 2), $1}')"
  echo "check-tidy: $count finding(s) in ${#files[@]} translation units (${per_check}) in ${elapsed}s" >&2
fi
if ((failed > 0)); then
  # clang-tidy failed without a finding we could show (a crash, an unreadable file): show its log.
  for f in "$LOGS"/*.failed; do
    [ -n "$(grep -E ': (warning|error): ' "${f%.failed}.out" || true)" ] && continue
    echo "check-tidy: clang-tidy failed on $(cat "$f"):" >&2
    tail -n 20 "${f%.failed}.out" >&2
  done
fi
echo "check-tidy: run scripts/check-tidy.sh --fix for the mechanical fixes; see .clang-tidy for the checks" >&2
exit 1
