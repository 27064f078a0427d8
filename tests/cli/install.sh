# make install puts programs and man pages under DESTDIR/PREFIX.
[ "${IFG_SAN:-}" = 1 ] && { echo "installs the normal build only" >&2; exit 77; }
make -s -C "$IFG_TOP" install DESTDIR="$PWD/root" PREFIX=/usr >/dev/null || exit 1
test -x root/usr/bin/ifg-show && test -f root/usr/share/man/man5/ifg-records.5 &&
	test -f root/usr/share/man/man7/ifg.7 && test -f root/usr/share/man/man1/ifg-show.1
