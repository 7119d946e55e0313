#!/bin/sh
# Install pyv without a usable host Python: fetch a python-build-standalone
# interpreter, verify its sha256, install pyv into it and put a `pyv` launcher
# on PATH. POSIX sh; needs curl or wget, tar (with gzip) and sha256sum or shasum.
#
#   sh install.sh [--prefix DIR] [--bin-dir DIR] [--wheel FILE] [--bundle FILE]
#                 [--python-mirror URL|DIR] [--builds FILE] [--print-build]
#
# Exit codes: 0 done, 2 usage, 1 anything else (one line on stderr says what).
set -eu

PBS_PREFIX="https://github.com/astral-sh/python-build-standalone/releases/download"

# The builds this script installs, one per host: os arch libc url sha256.
# Generated from the bundled catalog by scripts/generate_catalog.py; do not edit.
# A variable, not comments read back from "$0": the script also runs piped into sh.
# BEGIN BOOTSTRAP BUILDS
BUILDS='
darwin aarch64 none https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-aarch64-apple-darwin-install_only_stripped.tar.gz 423717c485b9ee7822590b9d973c1b5fb2cda0fe43448ab82a3d44f823bd329c
darwin x86_64 none https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-x86_64-apple-darwin-install_only_stripped.tar.gz e085b44e21d9c60acd866680747e1f82800cf9a1630a369da1723976d87bead1
linux aarch64 gnu https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-aarch64-unknown-linux-gnu-install_only_stripped.tar.gz 86dfb106b303fa6a1991f7da42ced3e11576f777be299b3162e06617b6d22542
linux aarch64 musl https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-aarch64-unknown-linux-musl-install_only_stripped.tar.gz 1bdbb1d5267120b5ba8531332be695693ba49567d28c40dd670545b6a25b70a7
linux armv7 gnueabi https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-armv7-unknown-linux-gnueabi-install_only_stripped.tar.gz b7af682bd74770d7c7d1696bf7ef205d4456421376d39ee78e05d8e783a0c0e6
linux armv7 gnueabihf https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-armv7-unknown-linux-gnueabihf-install_only_stripped.tar.gz 6c9d2888bbee0f3d32aceb9701acd754425cfb5cececc6032280e4018e433faf
linux i686 gnu https://github.com/astral-sh/python-build-standalone/releases/download/20230826/cpython-3.11.5%2B20230826-i686-unknown-linux-gnu-install_only.tar.gz 82de7e2551c015145c017742a5c0411d67a7544595df43c02b5efa4762d5123e
linux powerpc64le gnu https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-ppc64le-unknown-linux-gnu-install_only_stripped.tar.gz 4c64e243334a51950ad144917dedbce58b6e0ae06fa93f93d60fc6b2e5d0f777
linux riscv64 gnu https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-riscv64-unknown-linux-gnu-install_only_stripped.tar.gz c23b81983c03e18cc95b3048e656f94d34498256b8d82f5c92f7b03fa13003b6
linux s390x gnu https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-s390x-unknown-linux-gnu-install_only_stripped.tar.gz 05803a942de41913768b11714e16042d86c7c7a7124ad3507d706671b98c9db1
linux x86_64 gnu https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz cefba034445d2875408d1fd4d5700ae6731563aeb54dcb39fd8164ab5c457533
linux x86_64 musl https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-x86_64-unknown-linux-musl-install_only_stripped.tar.gz d92793e7c75f88e0ebfe3f6dc9a80b1571e287537938c536b07c60f9c23d6360
'
# END BOOTSTRAP BUILDS

prog=install.sh
usage() {
    cat <<'USAGE'
usage: sh install.sh [--prefix DIR] [--bin-dir DIR] [--wheel FILE] [--bundle FILE.tar]
                     [--python-mirror URL|DIR] [--builds FILE] [--print-build]

Installs pyv onto a python-build-standalone interpreter of its own (sha256
verified) and writes a `pyv` launcher into --bin-dir (default ~/.local/bin).
  --prefix DIR         where the interpreter and pyv go
                       (default ${XDG_DATA_HOME:-~/.local/share}/pyv-bootstrap)
  --wheel FILE         install this pyv wheel instead of `pyv` from PyPI
  --bundle FILE.tar    take the interpreter from a `pyv mirror --pack` bundle
  --python-mirror URL  a python-build-standalone mirror (URL or directory;
                       default $PYV_PYTHON_INSTALL_MIRROR, else upstream)
  --builds FILE        read the "os arch libc url sha256" table from FILE
  --print-build        print the URL and sha256 for this host and stop
Exit status: 0 done, 2 wrong option, 1 anything else (one line on stderr).
USAGE
}
die() { printf '%s: error: %s\n' "$prog" "$*" >&2; exit 1; }
usage_error() { printf '%s: error: %s (see --help)\n' "$prog" "$*" >&2; exit 2; }

data_home=${XDG_DATA_HOME:-${HOME:?HOME is not set}/.local/share}
prefix=$data_home/pyv-bootstrap
bin_dir=$HOME/.local/bin
wheel=
bundle=
builds_file=
print_build=
mirror=${PYV_PYTHON_INSTALL_MIRROR:-}

while [ $# -gt 0 ]; do
    case $1 in
        --prefix|--bin-dir|--wheel|--bundle|--python-mirror|--builds)
            [ $# -ge 2 ] || usage_error "$1 needs a value"
            case $1 in
                --prefix) prefix=$2 ;;
                --bin-dir) bin_dir=$2 ;;
                --wheel) wheel=$2 ;;
                --bundle) bundle=$2 ;;
                --python-mirror) mirror=$2 ;;
                --builds) builds_file=$2 ;;
            esac
            shift 2 ;;
        --print-build) print_build=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
done

# Absolute paths: the work below changes neither directory nor meaning of "."
case $prefix in /*) ;; *) prefix=$PWD/$prefix ;; esac
case $bin_dir in /*) ;; *) bin_dir=$PWD/$bin_dir ;; esac
prefix=${prefix%/}
if [ -n "$wheel" ]; then
    [ -f "$wheel" ] || die "wheel $wheel does not exist; give the path of a pyv-*.whl file"
    case $wheel in /*) ;; *) wheel=$PWD/$wheel ;; esac
fi
if [ -n "$bundle" ]; then
    [ -f "$bundle" ] || die "bundle $bundle does not exist; make one with 'pyv mirror --pack'"
    case $bundle in /*) ;; *) bundle=$PWD/$bundle ;; esac
fi

# --- which build ----------------------------------------------------------------
case $(uname -s) in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    *) die "no python-build-standalone interpreter for $(uname -s); install pyv with pip instead" ;;
esac
case $(uname -m) in
    x86_64|amd64) arch=x86_64 ;;
    aarch64|arm64) arch=aarch64 ;;
    armv7*) arch=armv7 ;;
    i?86) arch=i686 ;;
    ppc64le) arch=powerpc64le ;;
    *) arch=$(uname -m) ;;
esac
libc=none
if [ "$os" = linux ]; then
    libc=gnu
    [ "$arch" = armv7 ] && libc=gnueabihf
    for loader in /lib/ld-musl-*.so.1; do
        [ -e "$loader" ] && libc=musl
    done
fi

if [ -n "$builds_file" ]; then
    [ -f "$builds_file" ] || die "build table $builds_file does not exist"
    table=$(sed -n p "$builds_file")
else
    table=$BUILDS
fi
url=
sha256=
while read -r t_os t_arch t_libc t_url t_sha; do
    if [ "$t_os" = "$os" ] && [ "$t_arch" = "$arch" ] && [ "$t_libc" = "$libc" ]; then
        url=$t_url
        sha256=$t_sha
        break
    fi
done <<TABLE
$table
TABLE
[ -n "$url" ] || die "no bootstrap interpreter for $os-$arch-$libc; install pyv with pip on a Python >= 3.9"
if [ -n "$print_build" ]; then
    printf '%s %s\n' "$url" "$sha256"
    exit 0
fi

# --- staging beside the target, removed on any exit that did not finish -------------
parent=${prefix%/*}
mkdir -p "$parent" "$bin_dir" || die "cannot create $parent or $bin_dir"
stage=$prefix.installing.$$
old=$prefix.replaced.$$
link_tmp=$bin_dir/.pyv.installing.$$
cleanup() { rm -rf "$stage" "$link_tmp"; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$stage" || die "cannot create $stage"

if [ -n "$bundle" ]; then
    mkdir "$stage/bundle"
    tar -xf "$bundle" -C "$stage/bundle" 2>/dev/null \
        || die "cannot unpack bundle $bundle; is it a file made by 'pyv mirror --pack'?"
    mirror=$stage/bundle
fi

# Map the upstream URL onto the mirror as pyv does: a directory names files as
# they are on disk ('+', not '%2B'), a URL keeps the URL's spelling.
source=$url
# file:// is a directory too (wget cannot fetch it; the name on disk has '+').
case $mirror in file://*) mirror=${mirror#file://} ;; esac
if [ -n "$mirror" ]; then
    case $url in
        "$PBS_PREFIX"/*) rest=${url#"$PBS_PREFIX"} ;;
        *) die "bootstrap build $url is not a python-build-standalone release URL" ;;
    esac
    case $mirror in
        *://*) source=${mirror%/}$rest ;;
        *)
            tail=$rest
            rest=
            while :; do
                case $tail in
                    *%2B*) rest=$rest${tail%%%2B*}+; tail=${tail#*%2B} ;;
                    *) rest=$rest$tail; break ;;
                esac
            done
            source=${mirror%/}$rest ;;
    esac
fi
archive=$stage/${url##*/}

case $source in
    *://*)
        if command -v curl >/dev/null 2>&1; then
            curl -fsSL --retry 2 -o "$archive" "$source" 2>/dev/null \
                || die "cannot download $source; check the network or --python-mirror"
        elif command -v wget >/dev/null 2>&1; then
            wget -q -O "$archive" "$source" \
                || die "cannot download $source; check the network or --python-mirror"
        else
            die "neither curl nor wget is installed; install one of them"
        fi ;;
    *)
        [ -f "$source" ] || die "$source is not in the mirror; add it with 'pyv mirror' or fix --python-mirror"
        cp "$source" "$archive" || die "cannot copy $source" ;;
esac

if command -v sha256sum >/dev/null 2>&1; then
    actual=$(sha256sum "$archive")
elif command -v shasum >/dev/null 2>&1; then
    actual=$(shasum -a 256 "$archive")
else
    die "neither sha256sum nor shasum is installed; install coreutils or perl"
fi
actual=${actual%% *}
[ "$actual" = "$sha256" ] \
    || die "checksum mismatch for ${url##*/}: expected $sha256, got $actual; nothing was installed"

tar -xzf "$archive" -C "$stage" 2>/dev/null || die "cannot unpack ${url##*/}; the archive is damaged"
rm -f "$archive"
rm -rf "$stage/bundle"
python=$stage/python/bin/python3
[ -x "$python" ] || die "${url##*/} has no python/bin/python3; it is not an install_only archive"

# --- pyv into the interpreter ---------------------------------------------------------
if [ -n "$wheel" ]; then
    spec=$wheel
else
    spec=pyv
fi
pip_log=$stage/pip.log
PIP_DISABLE_PIP_VERSION_CHECK=1 "$python" -m pip install --quiet --no-warn-script-location \
    "$spec" >"$pip_log" 2>&1 \
    || die "pip could not install $spec (last line: $(sed -n '$p' "$pip_log")); for offline hosts give --wheel and PIP_FIND_LINKS"
rm -f "$pip_log"
"$python" -m pyv --version >/dev/null 2>&1 || die "pyv does not start on the new interpreter; nothing was installed"

# --- move into place: old installation aside, new one in, then the launcher ----------
if [ -e "$prefix" ]; then
    mv "$prefix" "$old" || die "cannot move the previous installation at $prefix aside"
fi
if ! mv "$stage" "$prefix"; then
    [ -e "$old" ] && mv "$old" "$prefix"
    die "cannot move the new installation to $prefix"
fi
rm -rf "$old"
# The launcher names the final path, so it is written only now. It calls pyv's entry
# point directly: `python -m pyv` would load runpy first (~6 ms on every command).
if ! { printf '#!/bin/sh\nexec "%s/python/bin/python3" -c '"'"'import sys; from pyv.cli.entry import main; sys.exit(main())'"'"' "$@"\n' \
            "$prefix" >"$link_tmp" \
        && chmod 755 "$link_tmp" && mv -f "$link_tmp" "$bin_dir/pyv"; }; then
    die "cannot write the launcher $bin_dir/pyv"
fi
printf 'installed pyv into %s; launcher %s/pyv\n' "$prefix" "$bin_dir"
case :${PATH:-}: in
    *:"$bin_dir":*) ;;
    *) printf 'add %s to PATH to run pyv\n' "$bin_dir" ;;
esac
