package awsprofile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/codecommitd/codecommitd/internal/broker"
)

// MaxConfigFile bounds the AWS config and credentials files codecommitd
// reads: far more than any real file, far less than a mistake costs.
const MaxConfigFile = 4 << 20

// checkFile refuses a config or credentials file that is not a regular
// file (a FIFO would block, a device would never end) or is implausibly
// large, naming the file. A missing file is fine: the SDK treats it as
// empty.
func checkFile(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("cannot read %s: %w", path, errors.Unwrap(err))
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (it is a %s); point AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE at a file", path, kind(fi.Mode()))
	case fi.Size() > MaxConfigFile:
		return fmt.Errorf("%s is %d MiB, more than the %d MiB an AWS config file can sensibly be; is it the right file?", path, fi.Size()>>20, MaxConfigFile>>20)
	}
	return nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// keyName is what a key on a config line may look like to be named in a
// message; anything else is not echoed.
var keyName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// parseError describes a config file a parser refused, from what we know:
// the file, the line number and, when the line is `key = value`, the key.
// The parser's own text, which quotes the line (a pasted secret key, a
// half-edited credentials file), is used only to find the line and is
// never shown.
func parseError(profile string, files []string, cause error) error {
	text := cause.Error()
	for _, path := range files {
		n, key, ok := findLine(path, text)
		if !ok {
			continue
		}
		what := fmt.Sprintf("line %d is not `key = value`, a [section] or a comment", n)
		if key != "" {
			what = fmt.Sprintf("line %d (key %s) has a value that cannot be read", n, key)
		}
		return broker.Errorf(broker.ErrInvalidRequest, profile,
			"cannot read the AWS configuration for profile %s: %s %s; fix that line", profile, path, what).WithCause(cause)
	}
	return broker.Errorf(broker.ErrInvalidRequest, profile,
		"cannot read the AWS configuration for profile %s: %s cannot be parsed; check it with `aws configure list --profile %s`",
		profile, strings.Join(files, " or "), profile).WithCause(cause)
}

// findLine returns the line of path that text quotes: one it quotes
// whole, else one whose key and value it both names, else one whose value
// it names. The key of that line comes with it when it is presentable.
func findLine(path, text string) (n int, key string, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", false
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, MaxConfigFile))
	sc.Buffer(nil, 1<<20)
	best := 0
	for i := 1; sc.Scan(); i++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' || line[0] == ';' {
			continue
		}
		k, v, hasValue := strings.Cut(string(line), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		rank := 0
		switch {
		case len(line) >= 3 && strings.Contains(text, string(line)):
			rank = 3
		case hasValue && len(v) >= 3 && strings.Contains(text, v) && strings.Contains(text, k):
			rank = 2
		case hasValue && len(v) >= 3 && strings.Contains(text, v):
			rank = 1
		}
		if rank <= best {
			continue
		}
		best, n, key = rank, i, ""
		if hasValue && keyName.MatchString(k) {
			key = k
		}
	}
	return n, key, best > 0
}
