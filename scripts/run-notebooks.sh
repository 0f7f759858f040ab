#!/usr/bin/env bash
# Executes the teaching notebooks (notebooks/*.ipynb) headlessly with the Deno
# Jupyter kernel (scripts/execute-notebook.py, an nbclient that waits for the
# Deno kernel's late outputs) and fails when any cell fails or runs past the
# per-cell timeout.
#
#   scripts/run-notebooks.sh                   execute every notebook, write outputs in place
#   scripts/run-notebooks.sh --check           execute into a temporary directory, leave the files as they are
#   scripts/run-notebooks.sh --output-dir DIR  write the executed notebooks to DIR
#   scripts/run-notebooks.sh [OPTION] notebooks/02-cache-line-bouncing.ipynb ...
#
# Environment:
#   CELL_TIMEOUT   seconds one cell may run (default 300)
#   DENO           the deno binary (default: node_modules/.bin/deno, then deno on PATH)
#
# Needs: nbclient (Debian: python3-nbclient python3-nbformat jupyter-client)
# and deno (npm package `deno`). The kernel spec is written to a temporary
# JUPYTER_PATH, so nothing is installed into the user's Jupyter directories.
# Exit status: 0 all notebooks ran, 1 a notebook failed, 3 a tool is missing.
set -euo pipefail

check=false
output_dir=
notebooks=()
while [ $# -gt 0 ]; do
  case "$1" in
    --check) check=true ;;
    --output-dir) output_dir=$(realpath -m -- "${2:?--output-dir needs a directory}"); shift ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "run-notebooks: unknown option $1" >&2; exit 2 ;;
    *) notebooks+=("$(realpath -- "$1")") ;;
  esac
  shift
done
# Paths above are resolved from the caller's directory; the rest runs from the repository.
cd "$(dirname "$0")/.."
ROOT=$(pwd)
if [ ${#notebooks[@]} -eq 0 ]; then
  notebooks=(notebooks/*.ipynb)
fi

deno=${DENO:-}
if [ -z "$deno" ]; then
  if [ -x node_modules/.bin/deno ]; then deno="$ROOT/node_modules/.bin/deno"
  elif command -v deno >/dev/null 2>&1; then deno=$(command -v deno)
  fi
fi
if [ -z "$deno" ] || ! "$deno" --version >/dev/null 2>&1; then
  echo "run-notebooks: deno not found (npm install deno, or set DENO=/path/to/deno)" >&2
  exit 3
fi
# A python3 with nbclient: Debian's first (a pyenv or venv python3 earlier on PATH usually lacks it).
python=
for p in /usr/bin/python3 python3; do
  if "$p" -c 'import nbclient, nbformat' >/dev/null 2>&1; then python=$p; break; fi
done
if [ -z "$python" ]; then
  echo "run-notebooks: no python3 with nbclient (Debian: apt-get install python3-nbclient python3-nbformat jupyter-client)" >&2
  exit 3
fi
case "$deno" in /*) ;; *) deno="$ROOT/$deno" ;; esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The notebooks name the kernel "deno"; JUPYTER_PATH comes first in Jupyter's
# search path, so this spec is the one used whatever else is installed.
mkdir -p "$work/jupyter/kernels/deno"
cat > "$work/jupyter/kernels/deno/kernel.json" <<EOF
{
  "argv": ["$deno", "jupyter", "--kernel", "--conn", "{connection_file}"],
  "display_name": "Deno",
  "language": "typescript"
}
EOF
export JUPYTER_PATH="$work/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
# No "a new deno is available" check from a kernel started by a script.
export DENO_NO_UPDATE_CHECK=1

timeout=${CELL_TIMEOUT:-300}
args=(--timeout "$timeout")
if [ -n "$output_dir" ]; then args+=(--output-dir "$output_dir")
elif $check; then args+=(--output-dir "$work/out"); fi
# The kernel's stderr is ours; its "deno jupyter is unstable" banner on every start tells a log reader nothing.
"$python" scripts/execute-notebook.py "${args[@]}" "${notebooks[@]}" 2> >(grep -v '"deno jupyter" is unstable' >&2)
