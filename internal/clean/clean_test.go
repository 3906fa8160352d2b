package clean

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 80, "plain"},
		{"  two\n lines\t here ", 80, "two lines here"},
		{"bell\x07and\x00nul", 80, "bell and nul"},
		{"bad \xff\xfe utf8", 80, "bad utf8"},
		{"the quick brown fox jumps over", 20, "the quick brown fox…"},
		{strings.Repeat("x", 30), 10, strings.Repeat("x", 10) + "…"},
		{"héllo wörld ünïcode", 9, "héllo…"},
		{"日本語のテキスト", 7, "日本…"},
	} {
		got := Line(tc.in, tc.max)
		if got != tc.want {
			t.Errorf("Line(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Line(%q) is not valid UTF-8", tc.in)
		}
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"dev":               "dev",
		"":                  `""`,
		"my profile":        `"my profile"`,
		"a\"b":              `"a'b"`,
		"x\ny":              `"x y"`,
		"\xffjunk\x00":      `"junk"`,
		"longlonglonglongx": `"longlonglong…"`,
	} {
		if got := Quote(in, 12); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzLine(f *testing.F) {
	f.Add("hello world", 5)
	f.Add("\xff\xfe\x00", 1)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 1 || max > 1<<12 {
			return
		}
		got := Line(s, max)
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\n\r\t\x00") {
			t.Fatalf("Line(%q) = %q: not one clean line", s, got)
		}
		if len(got) > max+len("…") {
			t.Fatalf("Line(%q, %d) is %d bytes", s, max, len(got))
		}
	})
}
