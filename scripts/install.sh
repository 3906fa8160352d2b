#!/usr/bin/env bash
# Installs the binaries from bin/ into PREFIX/bin (default ~/.local/bin),
# installs and starts the per-user service where a service manager answers,
# and prints one summary: where the binaries went, whether PATH has them
# (and the line to add when it does not), and whether the service runs.
set -euo pipefail
prefix=${1:-$HOME/.local}
cd "$(dirname "$0")/.."
dest="$prefix/bin"
mkdir -p "$dest"
for b in codecommitd git-remote-codecommit git-credential-codecommit; do
	if [ ! -f "bin/$b" ]; then
		echo "install: bin/$b is missing; run make build first" >&2
		exit 1
	fi
	install -m 0755 "bin/$b" "$dest/$b"
done

# The line that puts dest on PATH, in the file the user's shell reads.
shell_name=$(basename "${SHELL:-sh}")
case "$shell_name" in
zsh)  rc="~/.zshrc";  line="export PATH=\"$dest:\$PATH\"" ;;
bash) rc="~/.bashrc"; [ "$(uname)" = Darwin ] && rc="~/.bash_profile"; line="export PATH=\"$dest:\$PATH\"" ;;
fish) rc="~/.config/fish/config.fish"; line="fish_add_path $dest" ;;
*)    rc="~/.profile"; line="export PATH=\"$dest:\$PATH\"" ;;
esac
case ":$PATH:" in
*":$dest:"*) path_line="$dest is on your PATH" ;;
*) path_line="$dest is NOT on your PATH, so git will not find git-remote-codecommit; add this line to $rc and open a new shell:
            $line" ;;
esac

service=$("$dest/codecommitd" install 2>&1 | grep -v '^stopped the daemon' | tail -1) || true
[ -n "$service" ] || service="service: not installed (codecommitd install failed); git starts the daemon when it needs it"

cat <<SUMMARY
codecommitd $("$dest/codecommitd" --version | awk '{print $NF}') installed
  binaries: $dest/codecommitd, git-remote-codecommit, git-credential-codecommit
  PATH:     $path_line
  $service
SUMMARY
