#!/usr/bin/env bash
# Fill fuzz/corpus/<target>/ with valid inputs made by the CLI itself (run from the repository
# root or from fuzz/). Uses the release binary: BGMM=/path/to/bgmm, else `cargo run --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
if [ -z "${BGMM:-}" ]; then
  cargo build --release --quiet
  BGMM="${CARGO_TARGET_DIR:-$root/target}/release/bgmm"
fi
corpus=$root/fuzz/corpus
mkdir -p "$corpus"/{model_toml,csv_table,npy,fit_json,run_dir}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
q() { "$BGMM" "$@" > /dev/null; }

# model_toml: every example model
cp examples/models/*.toml "$corpus/model_toml/"

# csv_table: the heads of the example data, simulated data with and without assignments
for f in examples/data/*.csv; do head -n 25 "$f" > "$corpus/csv_table/$(basename "$f")"; done
for m in homework-1d homework-2d-shared homework-2d-component; do
  [ -f "examples/models/$m.toml" ] || continue
  q simulate "examples/models/$m.toml" -n 12 --seed 1 --with-assignments --out "$tmp/$m"
  cp "$tmp/$m/data.csv" "$corpus/csv_table/$m.csv"
done
printf 'id,x,y\r\na,1.5,"2"\r\n\r\nb,-3e2,4\r\n' > "$corpus/csv_table/quoted_crlf.csv"

# npy: little-endian f8 in C order from the CLI; f4, Fortran order and shape (N,) by hand
q simulate examples/models/homework-1d.toml -n 10 --seed 2 --format npy --out "$tmp/n1"
q simulate examples/models/homework-2d-component.toml -n 10 --seed 2 --format npy --out "$tmp/n2"
cp "$tmp/n1/data.npy" "$corpus/npy/c_1d.npy"
cp "$tmp/n2/data.npy" "$corpus/npy/c_2d.npy"
python3 - "$corpus/npy" <<'PY'
import struct, sys
out = sys.argv[1]
def npy(name, descr, fortran, shape, values, fmt):
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
    body = b"".join(struct.pack(fmt, v) for v in values)
    open(f"{out}/{name}", "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + body)
npy("f4_2d.npy", "<f4", "False", "(3, 2)", [1, 2, 3, 4, 5, 6], "<f")
npy("fortran_2d.npy", "<f8", "True", "(3, 2)", [1, 2, 3, 4, 5, 6], "<d")
npy("vector.npy", "<f8", "False", "(4,)", [0.5, -1, 2, 3], "<d")
PY

# fit_json: fits of a 1-D, a 2-D and a 4-D data set
q fit builtin:tutorial -k 2 --restarts 5 --out "$tmp/f1"
q fit "$tmp/homework-2d-component/data.csv" examples/models/homework-2d-component.toml --columns x0,x1 --restarts 5 --out "$tmp/f2"
q fit builtin:iris -k 3 --scale diagonal --restarts 5 --out "$tmp/f4"
for f in f1 f2 f4; do cp "$tmp/$f/fit.json" "$corpus/fit_json/$f.json"; done

# run_dir: the trees the target makes (same commands, relative paths), each file prefixed
# with the byte that picks it (tree * 5 + file, in the target's order)
(
  cd "$tmp"
  printf 'k = 2\nd = 1\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 5.0\n[scale]\nprior = "lognormal"\nmu = 0.0\nsigma = 1.0\n' > model.toml
  printf 'k = 2\nd = 2\n[weights]\nconcentration = 1.0\n[locs]\nloc = 0.0\nscale = 5.0\n[scale]\nsharing = "diagonal"\nprior = "lognormal"\nmu = 0.0\nsigma = 1.0\n' > model2.toml
  t=0
  for tree in d1 d2; do
    model=model.toml; [ $tree = d2 ] && model=model2.toml
    q simulate $model -n 30 --seed 3 --out $tree
    q fit $tree/data.csv -k 2 --restarts 5 --out $tree/run
    q classify $tree/run $tree/data.csv --out $tree/run
    q sample $tree/data.csv -k 2 --chains 2 --warmup 30 --draws 15 --quiet --out $tree/run/sample
    i=0
    for f in run/fit.json run/classify.json run/sample/summary.json run/sample/chain-0.csv data.csv; do
      b=$((t * 5 + i))
      { printf "\\$(printf %03o $b)"; cat "$tree/$f"; } > "$corpus/run_dir/$tree-$(basename "$f")"
      i=$((i + 1))
    done
    t=$((t + 1))
  done
)
for d in "$corpus"/*; do echo "$(basename "$d"): $(ls "$d" | wc -l) seeds"; done
