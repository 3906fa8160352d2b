#!/usr/bin/env bash
# Installs the binaries from bin/ into PREFIX/bin (default ~/.local/bin),
# then installs and starts the per-user service where a service manager
# answers. Says what it did, and what to do where it could not.
set -euo pipefail
prefix=${1:-$HOME/.local}
cd "$(dirname "$0")/.."
dest="$prefix/bin"
mkdir -p "$dest"
for b in codecommitd git-remote-codecommit git-credential-codecommit; do
	if [ -f "bin/$b" ]; then
		install -m 0755 "bin/$b" "$dest/$b"
		echo "installed $dest/$b"
	fi
done
case ":$PATH:" in
*":$dest:"*) ;;
*) echo "warning: $dest is not on PATH; git will not find git-remote-codecommit. Add it, e.g.:"
   echo "    echo 'export PATH=\"$dest:\$PATH\"' >> ~/.profile" ;;
esac
if "$dest/codecommitd" install --help >/dev/null 2>&1; then
	if out=$("$dest/codecommitd" install 2>&1); then
		echo "$out"
	else
		echo "$out"
		echo "the daemon will start on demand when git first needs it (no service manager answered)"
	fi
else
	echo "the daemon starts on demand when git first needs it"
fi
