package credhelper

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Request is what git sends a credential helper: key=value lines up to a
// blank line or the end of input. Only the attributes codecommitd uses are
// kept; others (wwwauth[], capability[]…) are ignored.
type Request struct {
	Protocol string
	Host     string
	Path     string
	Username string
}

// maxRequest bounds what is read from git, which never sends this much.
const maxRequest = 64 << 10

// ParseRequest reads git's credential request.
func ParseRequest(r io.Reader) (Request, error) {
	var req Request
	sc := bufio.NewScanner(io.LimitReader(r, maxRequest))
	sc.Buffer(make([]byte, 4096), maxRequest)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			break
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return Request{}, fmt.Errorf("malformed line from git (no '='): %q", truncate(line))
		}
		if strings.ContainsRune(v, 0) {
			return Request{}, errors.New("NUL byte in a value from git")
		}
		switch k {
		case "protocol":
			req.Protocol = v
		case "host":
			req.Host = v
		case "path":
			req.Path = v
		case "username":
			req.Username = v
		case "url":
			// git ≥ 2.26 may send url= instead of its parts.
			if err := req.fromURL(v); err != nil {
				return Request{}, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Request{}, fmt.Errorf("reading from git: %w", err)
	}
	return req, nil
}

func (r *Request) fromURL(u string) error {
	proto, rest, ok := strings.Cut(u, "://")
	if !ok {
		return fmt.Errorf("malformed url from git: %q", truncate(u))
	}
	host, path, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(host, "@"); at >= 0 {
		r.Username, host = host[:at], host[at+1:]
	}
	r.Protocol, r.Host, r.Path = proto, host, path
	return nil
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

// Response is what a credential helper answers.
type Response struct {
	Username string
	Password string
	// ExpiryUnix is password_expiry_utc (git ≥ 2.41 drops the password
	// then); zero leaves it out.
	ExpiryUnix int64
}

// Write writes r in git's format. Values may not hold newlines or NULs.
func (r Response) Write(w io.Writer) error {
	for _, v := range []string{r.Username, r.Password} {
		if strings.ContainsAny(v, "\n\x00") {
			return errors.New("credential value holds a newline or NUL")
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "username=%s\npassword=%s\n", r.Username, r.Password)
	if r.ExpiryUnix > 0 {
		fmt.Fprintf(&b, "password_expiry_utc=%d\n", r.ExpiryUnix)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
