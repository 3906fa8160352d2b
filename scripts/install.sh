#!/usr/bin/env bash
# Installs what make build and make man put in bin/ into PREFIX (default
# ~/.local): the binaries in PREFIX/bin, the man pages in
# PREFIX/share/man/man1, shell completions under PREFIX/share; then installs
# and starts the per-user service where a service manager answers, and
# prints one summary: where everything went, whether PATH has the binaries
# (and the line to add when it does not), and what the service does.
# scripts/uninstall.sh removes exactly these files.
set -euo pipefail
prefix=${1:-$HOME/.local}
cd "$(dirname "$0")/.."
. scripts/installed.sh
for b in $BINARIES; do
	if [ ! -f "bin/$b" ]; then
		echo "install: bin/$b is missing; run make build first" >&2
		exit 1
	fi
done
if [ ! -f bin/man/codecommitd.1 ]; then
	echo "install: bin/man is missing; run make man first" >&2
	exit 1
fi
mkdir -p "$prefix/bin" "$prefix/$MAN_DIR" "$prefix/$BASH_DIR" "$prefix/$ZSH_DIR" "$prefix/$FISH_DIR"
for b in $BINARIES; do
	install -m 0755 "bin/$b" "$prefix/bin/$b"
done
install -m 0644 bin/man/*.1 "$prefix/$MAN_DIR/"
"$prefix/bin/codecommitd" completion bash > "$prefix/$BASH_DIR/codecommitd"
"$prefix/bin/codecommitd" completion zsh > "$prefix/$ZSH_DIR/_codecommitd"
"$prefix/bin/codecommitd" completion fish > "$prefix/$FISH_DIR/codecommitd.fish"

# The line that puts the binaries on PATH, in the file the user's shell reads.
dest="$prefix/bin"
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
zsh_line=""
[ "$shell_name" = zsh ] && zsh_line=" (zsh: add fpath+=($prefix/$ZSH_DIR) to ~/.zshrc)"

service=$("$dest/codecommitd" install 2>&1 | tail -1) || true
[ -n "$service" ] || service="service: not installed (codecommitd install failed); git starts the daemon when it needs it"

cat <<SUMMARY
codecommitd $("$dest/codecommitd" --version | awk '{print $NF}') installed
  binaries: $dest/codecommitd, git-remote-codecommit, git-credential-codecommit
  manuals:  $prefix/$MAN_DIR (man codecommitd, man git-remote-codecommit, man git-credential-codecommit)
  completions: bash, zsh, fish, in $prefix/share$zsh_line
  PATH:     $path_line
  $service
SUMMARY
