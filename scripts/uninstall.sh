#!/usr/bin/env bash
# Removes what make install put in PREFIX (default ~/.local): first the
# service (codecommitd uninstall: it stops the service and any daemon still
# running; with --purge also the cache, its key and the log), then the
# binaries, man pages and completions, saying each file it removes. It
# removes only those files (scripts/installed.sh names them), never a
# folder: share/man and the like hold other programs' files too.
set -euo pipefail
prefix=${1:-$HOME/.local}
purge=${2:-}
cd "$(dirname "$0")/.."
. scripts/installed.sh
if [ -x "$prefix/bin/codecommitd" ]; then
	"$prefix/bin/codecommitd" uninstall $purge
else
	echo "uninstall: $prefix/bin/codecommitd is not there; the service, if any, is left as it is (remove it with the codecommitd that installed it: codecommitd uninstall)"
fi
removed=0 pages=0
for f in $(installed_files "$prefix"); do
	[ -e "$f" ] || [ -L "$f" ] || continue
	rm -f "$f"
	removed=$((removed + 1))
	case "$f" in
	"$prefix/$MAN_DIR"/*) pages=$((pages + 1)) ;;
	*) echo "removed $f" ;;
	esac
done
[ "$pages" -eq 0 ] || echo "removed $pages man pages from $prefix/$MAN_DIR (codecommitd*.1, git-remote-codecommit.1, git-credential-codecommit.1)"
[ "$removed" -gt 0 ] || echo "nothing of make install's was left in $prefix"
