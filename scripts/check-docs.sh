#!/bin/sh
# Documentation checks: the man pages lint clean and render, kernel-doc has
# nothing to say about our files, and the man page's example program is
# extracted to build/man/uffd-example.c (the man plan builds and runs it).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/scripts/lib.sh"
cd "$top"
out=$(mandoc -Tlint -W warning man/man2/*.2 2>&1; groff -ww -man -z man/man2/*.2 2>&1)
[ -z "$out" ] || { printf '%s\n' "$out"; die "man pages: lint reports"; }
for m in man/man2/*.2; do
	man -l "$m" >/dev/null 2>&1 || die "man -l cannot render $m"
done
echo "man pages: lint clean, render"
files="fs/userfaultfd.c mm/userfaultfd.c include/linux/userfaultfd_k.h
include/uapi/linux/userfaultfd.h"
out=$(cd build/linux && scripts/kernel-doc -none $files 2>&1)
[ -z "$out" ] || { printf '%s\n' "$out"; die "kernel-doc reports"; }
echo "kernel-doc: no warnings"
mkdir -p build/man
scripts/man-example.sh build/man/uffd-example.c
echo "man example: build/man/uffd-example.c"
