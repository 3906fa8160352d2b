# What make install puts in PREFIX, for scripts/install.sh and
# scripts/uninstall.sh (sourced, so both name the same files).
BINARIES="codecommitd git-remote-codecommit git-credential-codecommit"
MAN_DIR=share/man/man1
BASH_DIR=share/bash-completion/completions
ZSH_DIR=share/zsh/site-functions
FISH_DIR=share/fish/vendor_completions.d
# installed_files PREFIX lists every file make install put there.
installed_files() {
	local p=$1 b
	for b in $BINARIES; do echo "$p/bin/$b"; done
	for b in $BINARIES; do
		ls "$p/$MAN_DIR/$b".1 "$p/$MAN_DIR/$b"-*.1 2>/dev/null || true
	done
	echo "$p/$BASH_DIR/codecommitd"
	echo "$p/$ZSH_DIR/_codecommitd"
	echo "$p/$FISH_DIR/codecommitd.fish"
}
