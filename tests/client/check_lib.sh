#!/bin/sh
# SPDX-License-Identifier: MIT
# libwarren as a shared library (make test-lib): it exports the warren_*
# API and nothing else, carries its soname, and installs (make install
# DESTDIR=...) with its symlinks, warren.h and warren.pc so that an
# application builds with pkg-config and runs against it.
# Environment: BUILD (build directory), CC, APP_FLAGS (extra compiler and
# linker flags, the sanitizers in make asan), MAKE.
set -e
BUILD=${BUILD:-build}
CC=${CC:-cc}
MAKE=${MAKE:-make}
lib=$BUILD/libwarren.so
fail=0
bad() { echo "test-lib: $*"; fail=1; }

# 1. Exports: only warren_*, and every function warren.h declares.
exports=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | sort)
[ -n "$exports" ] || bad "$lib exports nothing"
other=$(echo "$exports" | grep -v '^warren_' || true)
[ -z "$other" ] || bad "$lib exports non-API symbols:
$(echo "$other" | sed 's/^/  /')"
declared=$(sed -n 's/.*\(warren_[a-z0-9_]*\)(.*/\1/p' client/warren.h |
    grep -v '_cb$' | sort -u)
missing=$(echo "$declared" | grep -vxF "$exports" || true)
[ -z "$missing" ] || bad "warren.h declares but $lib does not export:
$(echo "$missing" | sed 's/^/  /')"

# 2. The soname, and the link-time name pointing at it.
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = libwarren.so.0 ] || bad "soname is '$soname', want libwarren.so.0"
[ "$(readlink "$lib")" = libwarren.so.0 ] ||
    bad "$lib is not a symlink to libwarren.so.0"

# 3. make install into a staging directory, then build and run a program
# with pkg-config as the README says.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
stage=$tmp/stage
prefix=/opt/warren
$MAKE -s install BUILD="$BUILD" DESTDIR="$stage" PREFIX=$prefix >"$tmp/log" 2>&1 ||
    { cat "$tmp/log"; bad "make install failed"; exit 1; }
libdir=$stage$prefix/lib
[ -f "$stage$prefix/include/warren.h" ] || bad "warren.h not installed"
[ "$(readlink "$libdir/libwarren.so")" = libwarren.so.0 ] ||
    bad "installed libwarren.so is not a symlink to libwarren.so.0"
[ -f "$libdir/$(readlink "$libdir/libwarren.so.0")" ] ||
    bad "installed libwarren.so.0 does not point at the library"
grep -qx "libdir=$prefix/lib" "$libdir/pkgconfig/warren.pc" ||
    bad "warren.pc has the wrong libdir"

cat >"$tmp/app.c" <<'EOF'
#include <stdio.h>
#include <string.h>
#include <warren.h>

int
main(void)
{
    struct warren_table *t;

    if (warren_table_new(&t) != WARREN_OK)
        return 1;
    warren_table_free(t);
    puts(warren_version());
    return strcmp(warren_version(), WARREN_VERSION) != 0;
}
EOF
flags=$(PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_PATH=$libdir/pkgconfig \
    pkg-config --cflags --libs warren) || bad "pkg-config does not find warren"
# shellcheck disable=SC2086 # flags are words
$CC -std=c11 $APP_FLAGS -o "$tmp/app" "$tmp/app.c" $flags ||
    bad "cannot build an application with: $flags"
if [ -x "$tmp/app" ]; then
    needed=$(readelf -d "$tmp/app" | sed -n 's/.*(NEEDED).*\[\(libwarren.*\)\]/\1/p')
    [ "$needed" = libwarren.so.0 ] ||
        bad "the application needs '$needed', want libwarren.so.0"
    out=$(LD_LIBRARY_PATH=$libdir "$tmp/app") ||
        bad "the application failed against the installed library"
    echo "test-lib: an application built with pkg-config runs: libwarren $out"
fi

# 4. The static build as the README writes it: the archive named through
# pkg-config's libdir (a plain -lwarren would pick the .so).
pc() {
    PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_PATH=$libdir/pkgconfig pkg-config "$@"
}
# shellcheck disable=SC2046 # flags are words
$CC -std=c11 $APP_FLAGS -o "$tmp/app-static" "$tmp/app.c" \
    $(pc --cflags warren) "$(pc --variable=libdir warren)/libwarren.a" \
    $(pc --libs openssl) || bad "cannot build the static application"
if [ -x "$tmp/app-static" ]; then
    if readelf -d "$tmp/app-static" | grep -q 'NEEDED.*libwarren'; then
        bad "the static application still needs libwarren.so"
    fi
    "$tmp/app-static" >/dev/null || bad "the static application failed"
fi
[ $fail -eq 0 ] && echo "test-lib: ok ($(echo "$exports" | wc -l) warren_* exports, soname $soname)"
exit $fail
