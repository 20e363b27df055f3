#!/usr/bin/env bash
# Runs each fuzz target for SECONDS (default 60), seeded from fixtures/.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#   fuzz/run.sh 600            # ten minutes per target
#   fuzz/run.sh 60 predictaid_parse
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spektr_parse_batch batch_parse_lenient predictaid_parse inbox_plan_spektr)

# Seeds: Spektr batches (each single-event fixture wrapped in a batch, and the
# whole-delivery fixtures) and PredictaID events.
for target in spektr_parse_batch batch_parse_lenient inbox_plan_spektr; do
    mkdir -p "corpus/$target"
    for f in ../fixtures/spektr/*.json ../fixtures/spektr/unknown/*.json; do
        { printf '{"results": ['; cat "$f"; printf ']}'; } > "corpus/$target/seed-$(basename "$f")"
    done
    cp ../fixtures/spektr/batches/*.json "corpus/$target/"
done
# Broken shapes that once sent the inbox's scan into a loop, and the envelope's
# edges (text before, bytes after, a nested or second "results").
hostile=(
    '{"results": [}' '{"results": [1}' '{"results": [{"id":"a"}}' '{"results":[{},{}]} garbage'
    'x {"results":[{}]}' '{"a":{"results":[1]},"results":[{}]}' '{"results":[],"results":[{}]}'
)
for i in "${!hostile[@]}"; do
    printf '%s' "${hostile[$i]}" > "corpus/inbox_plan_spektr/hostile-$i"
done
mkdir -p corpus/predictaid_parse
cp ../fixtures/predictaid/*.json ../fixtures/predictaid/unknown/*.json corpus/predictaid_parse/

for target in "${targets[@]}"; do
    echo "== $target for ${seconds}s"
    cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=10 -max_len=65536 -print_final_stats=1
done
