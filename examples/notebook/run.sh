#!/usr/bin/env bash
# Executes development-loop.ipynb headless on the evcxr Jupyter kernel and checks its outputs
# (check.py: no errors, no panics, the expected values). Installs what it needs when missing:
# evcxr_jupyter (cargo install, ~6-8 min the first time) and a Python virtualenv with Jupyter's
# client libraries. It writes under target/notebook and evcxr's build directory (see below);
# nothing under $HOME but cargo's own install.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$root/target/notebook"
mkdir -p "$work"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

if ! command -v evcxr_jupyter >/dev/null 2>&1; then
  echo "installing evcxr_jupyter ..." >&2
  cargo install evcxr_jupyter --locked
fi

venv="$work/venv"
if [ ! -x "$venv/bin/jupyter-nbconvert" ] || ! "$venv/bin/python" -c "import nbclient, ipykernel" 2>/dev/null; then
  echo "installing jupyter-client, nbclient, nbconvert, ipykernel into $venv ..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q jupyter-client nbclient nbconvert ipykernel
fi

# Keep Jupyter and evcxr out of $HOME; evcxr reads JUPYTER_PATH as one directory.
export JUPYTER_PATH="$venv/share/jupyter"
export JUPYTER_CONFIG_DIR="$work/jupyter/config"
export JUPYTER_DATA_DIR="$work/jupyter/data"
export JUPYTER_RUNTIME_DIR="$work/jupyter/runtime"
export XDG_CONFIG_HOME="$work/xdg/config"
export XDG_CACHE_HOME="$work/xdg/cache"
# A persistent build directory, so that reruns reuse the compiled engine. Outside the repository:
# evcxr's scratch crate must not sit inside weft's cargo workspace.
export EVCXR_TMPDIR="${TMPDIR:-/tmp}/weft-notebook-evcxr"
mkdir -p "$JUPYTER_CONFIG_DIR" "$JUPYTER_DATA_DIR" "$JUPYTER_RUNTIME_DIR" "$XDG_CONFIG_HOME" \
  "$XDG_CACHE_HOME" "$EVCXR_TMPDIR"
evcxr_jupyter --install >/dev/null

echo "executing examples/notebook/development-loop.ipynb ..." >&2
"$venv/bin/jupyter" nbconvert --to notebook --execute \
  --ExecutePreprocessor.timeout=1800 --ExecutePreprocessor.kernel_name=rust \
  "$here/development-loop.ipynb" --output-dir "$work" --output executed.ipynb
"$venv/bin/python" "$here/check.py" "$work/executed.ipynb"
