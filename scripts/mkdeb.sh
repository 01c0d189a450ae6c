#!/bin/sh
# SPDX-License-Identifier: MIT
# make deb: $BUILD/warren_VERSION_ARCH.deb with dpkg-deb, from `make
# install` staged with Debian's paths plus packaging/debian (control,
# conffiles, maintainer scripts). One package: the broker, warrenctl,
# libwarren and its development files (see packaging/debian/control.in).
set -e
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
MAKE=${MAKE:-make}
arch=$(dpkg --print-architecture)
root=$BUILD/deb/warren
rm -rf "$BUILD/deb"
mkdir -p "$root/DEBIAN"
$MAKE -s install BUILD="$BUILD" DESTDIR="$(pwd)/$root" PREFIX=/usr \
    SYSCONFDIR=/etc UNITDIR=/lib/systemd/system LIBDIR=/usr/lib \
    INCLUDEDIR=/usr/include >/dev/null
# The packaged configuration keeps the definitions and the log where the
# unit lets the broker write.
sed -i -e 's|^# definitions.file = /var/lib/warren/definitions.json|definitions.file = /var/lib/warren/definitions.json|' \
    -e 's|^# log.file = /var/log/warren/warren.log|log.file = /var/log/warren/warren.log|' \
    "$root/etc/warren/warren.conf"
grep -q '^definitions.file = /var/lib/warren' "$root/etc/warren/warren.conf"
grep -q '^log.file = /var/log/warren' "$root/etc/warren/warren.conf"
# Debian's documentation layout: the copyright file, compressed man pages.
cp LICENSE "$root/usr/share/doc/warren/copyright"
gzip -9n "$root"/usr/share/man/man*/*
# Depends: the packages of the shared libraries the programs link to
# directly (their NEEDED entries, found where ldd finds them).
deps=$(for f in "$root/usr/sbin/warren-server" "$root/usr/bin/warrenctl" \
    "$root/usr/bin/warren-bench" "$root/usr/lib/libwarren.so.0"; do
    ldd "$f" >"$BUILD/deb/ldd"
    objdump -p "$f" | awk '/NEEDED/ { print $2 }' | while read -r so; do
        sed -n "s|^[[:space:]]*$so => \(/[^ ]*\) .*|\1|p" "$BUILD/deb/ldd"
    done
done | sort -u | while read -r lib; do
    dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")" 2>/dev/null
done | sed 's/:.*//' | sort -u | paste -sd, | sed 's/,/, /g')
[ -n "$deps" ]
size=$(du -sk "$root" | cut -f1)
sed -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" \
    -e "s|@DEPENDS@|$deps|" packaging/debian/control.in >"$root/DEBIAN/control"
for f in conffiles triggers; do
    install -m 644 "packaging/debian/$f" "$root/DEBIAN/$f"
done
for f in postinst prerm postrm; do
    install -m 755 "packaging/debian/$f" "$root/DEBIAN/$f"
done
out=$BUILD/warren_${VERSION}_$arch.deb
rm -f "$BUILD"/warren_*.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
