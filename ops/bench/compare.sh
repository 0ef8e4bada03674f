#!/usr/bin/env bash
# ops/bench/compare.sh — this checkout against an earlier revision on the same machine at the same
# time: the benchmarks of this checkout (ops/bench/*.sh, ops/lib.sh, ops/redis-acl.conf) run alternately
# on this tree's build and on REV's (REV is checked out into a temporary git worktree and built there
# with the same scripts), and both results are printed side by side. Machine load moves both the same
# way; the ratios to redis-benchmark inside each run are the figures to compare.
#
#   ./ops/bench/compare.sh [REV] [--rounds N] [--only bench|diagnostics]   (REV default: HEAD~1)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

rev="HEAD~1"
rounds=1
only=""
while (($#)); do
    case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) mn_die "неизвестный аргумент: $1" ;;
    *) rev="$1"; shift ;;
    esac
done
[[ "$rounds" =~ ^[1-9]$ ]] || mn_die "--rounds: число от 1 до 9"
sha="$(git -C "$MN_ROOT" rev-parse --verify "$rev^{commit}" 2>/dev/null)" || mn_die "нет такой ревизии: $rev"
short="${sha:0:9}"
other="$(mktemp -d "/tmp/metodnet-compare-$short.XXXXXX")"
cleanup() {
    git -C "$MN_ROOT" worktree remove --force "$other" >/dev/null 2>&1 || rm -rf "$other"
}
trap cleanup EXIT
git -C "$MN_ROOT" worktree add --detach -q "$other" "$sha" || mn_die "не удалось взять $short в $other"
# the same measurement on both: this checkout's scripts and Redis users drive REV's binaries
cp "$MN_ROOT/ops/lib.sh" "$MN_ROOT/ops/redis-acl.conf" "$other/ops/"
mkdir -p "$other/ops/bench"
cp "$MN_ROOT"/ops/bench/* "$other/ops/bench/"
mn_say "Сборка $short (Release) в $other/build-release"
(MN_ROOT="$other" mn_build "$other/build-release" Release)
mn_build "$MN_ROOT/build-release" Release

benches=(bench.sh diagnostics_peak.sh)
case "$only" in
bench) benches=(bench.sh) ;;
diagnostics) benches=(diagnostics_peak.sh) ;;
"") ;;
*) mn_die "--only: bench или diagnostics" ;;
esac

results="$other/results"
mkdir -p "$results"
for ((r = 1; r <= rounds; r++)); do
    for b in "${benches[@]}"; do
        for side in "$short" "этот"; do
            tree="$MN_ROOT"
            [[ "$side" == "$short" ]] && tree="$other"
            mn_say "Раунд $r: $b на $side"
            (cd "$tree" && METODNET_BENCH_BUILD_DIR="$tree/build-release" "./ops/bench/$b") \
                >"$results/$b.$r.$side.log" 2>&1 || true
        done
    done
done

echo
for b in "${benches[@]}"; do
    echo "== $b"
    for ((r = 1; r <= rounds; r++)); do
        for side in "$short" "этот"; do
            echo "-- раунд $r, $side:"
            grep -E '^(PASS|FAIL|NOTE)' "$results/$b.$r.$side.log" | sed 's/^/   /' ||
                { echo "   (замер не дошёл до итогов, хвост журнала:)"; tail -n 5 "$results/$b.$r.$side.log" | sed 's/^/   /'; }
        done
    done
done
