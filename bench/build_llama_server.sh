#!/usr/bin/env bash
# Build llama.cpp's own `llama-server` for bench/llama_server.py, from the llama.cpp tree that
# the llama-cpp-python sdist of the version installed in .venv vendors, so both engines run
# the same llama.cpp code. The build goes to a cache outside the repo and is skipped when the
# binary is already there:
#
#     bash bench/build_llama_server.sh            # version: the one installed in .venv
#     bash bench/build_llama_server.sh 0.3.36     # or a given llama-cpp-python version
#
# Prints the binary's path as its last line. OPENSCOPE_BENCH_CACHE overrides the cache root
# (default ~/.cache/openscope-bench); JOBS the make parallelism (default: all cores).
# Takes about 8 minutes on 2 cores.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$here/.venv/bin/python}"

version="${1:-}"
if [[ -z "$version" ]]; then
    version="$("$python" -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')"
fi

cache_root="${OPENSCOPE_BENCH_CACHE:-$HOME/.cache/openscope-bench}"
prefix="$cache_root/llama-server-$version"
binary="$prefix/bin/llama-server"

if [[ -x "$binary" ]] && "$binary" --version >/dev/null 2>&1; then
    echo "llama-server $version already built" >&2
    echo "$binary"
    exit 0
fi

# The same portable CPU flags the Makefile gives llama-cpp-python's own build (no
# GGML_NATIVE: it picks up AMX kernels that crash on some virtualised Xeons). A static
# binary, so the cache needs nothing but bin/llama-server; no web UI and nothing fetched.
cmake_flags=(
    -DCMAKE_BUILD_TYPE=Release
    -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
    -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF
)

work="$(mktemp -d "${TMPDIR:-/tmp}/llama-server-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "downloading the llama-cpp-python $version sdist" >&2
# Any pip will do for a download; the system one keeps .venv untouched.
pip_cmd=(python3 -m pip download --no-deps --no-binary :all: "llama-cpp-python==$version" -d "$work")
"${pip_cmd[@]}" -q || "${pip_cmd[@]}" -q --no-build-isolation
shopt -s nullglob
sdists=("$work"/llama_cpp_python-*.tar.gz "$work"/llama-cpp-python-*.tar.gz)
[[ ${#sdists[@]} -gt 0 ]] || { echo "no sdist downloaded into $work" >&2; exit 1; }
tar -xzf "${sdists[0]}" -C "$work"
trees=("$work"/llama*cpp*python-*/vendor/llama.cpp)
shopt -u nullglob
[[ ${#trees[@]} -gt 0 && -f "${trees[0]}/CMakeLists.txt" ]] ||
    { echo "no vendor/llama.cpp in ${sdists[0]}" >&2; exit 1; }
src="${trees[0]}"

echo "configuring $src: ${cmake_flags[*]}" >&2
cmake -S "$src" -B "$work/build" "${cmake_flags[@]}" >"$work/configure.log" 2>&1 ||
    { tail -40 "$work/configure.log" >&2; exit 1; }
echo "building llama-server (-j ${JOBS:-$(nproc)})" >&2
cmake --build "$work/build" --target llama-server -j "${JOBS:-$(nproc)}" >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log" >&2; exit 1; }

mkdir -p "$prefix/bin"
cp "$work/build/bin/llama-server" "$binary.tmp"
mv "$binary.tmp" "$binary"
printf '%s\n' "${cmake_flags[@]}" >"$prefix/cmake-flags.txt"
"$binary" --version >&2 || true
echo "$binary"
