#!/bin/sh
# Compares two builds of kanade on this machine, in one run, by ratios: each build's
# `kanade bench --json` runs ROUNDS times, alternating A and B so that load changes hit
# both, and every inference row prints the ratio of B's best p50 to A's (below 1: B is
# faster). Absolute times depend on the machine; the ratios are what to compare.
#   bench/compare.sh BUILD_A BUILD_B [ROUNDS] [-- extra kanade bench arguments]
#   bench/compare.sh /tmp/main-build build 3 -- --quick
#   bench/compare.sh bench/results/cpu-2core-xeon-vnni.json build 1 -- --quick
# BUILD_A and BUILD_B are build folders (holding bin/kanade) or kanade binaries; A may
# also be a `kanade bench --json` result of record, compared as it is (CI's smoke check:
# a step twice as slow as the record shows as a ratio near 2 in the log; nothing fails on it).
set -eu

usage() { echo "usage: $0 BUILD_A|RESULT.json BUILD_B [ROUNDS] [-- kanade bench arguments]" >&2; exit 2; }
[ $# -ge 2 ] || usage
binary() { if [ -d "$1" ]; then echo "$1/bin/kanade"; else echo "$1"; fi; }
record=""
case "$1" in *.json) record=$1 ;; esac
a=$(binary "$1"); b=$(binary "$2"); shift 2
rounds=3
if [ $# -gt 0 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
[ $# -gt 0 ] && [ "$1" = "--" ] && shift
if [ -n "$record" ]; then
    [ -f "$record" ] || { echo "$0: no result file $record" >&2; exit 1; }
else
    [ -x "$a" ] || { echo "$0: no kanade binary at $a" >&2; exit 1; }
fi
[ -x "$b" ] || { echo "$0: no kanade binary at $b" >&2; exit 1; }

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
i=1
while [ "$i" -le "$rounds" ]; do
    echo "round $i of $rounds" >&2
    if [ -n "$record" ]; then cp "$record" "$out/a$i.json"; else "$a" bench --json "$@" 2>/dev/null > "$out/a$i.json"; fi
    "$b" bench --json "$@" 2>/dev/null > "$out/b$i.json"
    i=$((i + 1))
done

python3 - "$out" "$rounds" <<'PY'
import json, sys
folder, rounds = sys.argv[1], int(sys.argv[2])
def best(prefix):
    rows = {}
    for i in range(1, rounds + 1):
        for row in json.load(open(f"{folder}/{prefix}{i}.json"))["inference"]:
            if "p50_ms" not in row:  # a row that failed (its "error" says why)
                continue
            key = (row["arch"], row["mode"], row["device"], row.get("path", ""), row.get("precision", ""), row["batch"])
            rows[key] = min(rows.get(key, float("inf")), row["p50_ms"])
    return rows
a, b = best("a"), best("b")
if not a.keys() & b.keys():
    print("no inference row in common: nothing to compare")
print(f"{'arch':7} {'mode':10} {'dev':5} {'path':8} {'weights':8} {'batch':>6} {'A p50':>9} {'B p50':>9} {'B/A':>6}")
for key in sorted(a.keys() & b.keys()):
    print(f"{key[0]:7} {key[1]:10} {key[2]:5} {key[3]:8} {key[4]:8} {key[5]:6} {a[key]:9.3f} {b[key]:9.3f} {b[key] / a[key]:6.2f}")
PY
