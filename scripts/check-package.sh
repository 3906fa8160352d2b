#!/usr/bin/env bash
# Checks the .deb that `make package` built: its file list, then installs it
# with dpkg -i, runs the installed binaries, and removes it again.
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls dist/codecommitd_*.deb | head -1)
echo "checking $deb"
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for want in ./usr/bin/codecommitd ./usr/bin/git-remote-codecommit ./usr/bin/git-credential-codecommit \
	./usr/lib/systemd/user/codecommitd.service ./usr/share/doc/codecommitd/README.md \
	./usr/share/bash-completion/completions/codecommitd ./usr/share/zsh/vendor-completions/_codecommitd \
	./usr/share/fish/vendor_completions.d/codecommitd.fish ./usr/share/man/man1/codecommitd.1.gz; do
	grep -qx -- "$want" <<<"$files" || { echo "missing from the .deb: $want"; exit 1; }
done
cmp <(dpkg-deb --fsys-tarfile "$deb" | tar -xO ./usr/lib/systemd/user/codecommitd.service) packaging/systemd/codecommitd.service

sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
$sudo dpkg -i "$deb" >/dev/null
trap '$sudo dpkg -r codecommitd >/dev/null' EXIT
/usr/bin/codecommitd --version
/usr/bin/git-remote-codecommit --version
/usr/bin/git-credential-codecommit --version
out=$(/usr/bin/git-remote-codecommit origin codecommit:///x 2>&1 || true)
grep -q "The following URL is malformed" <<<"$out" || { echo "installed helper misbehaves: $out"; exit 1; }
echo "package ok"
