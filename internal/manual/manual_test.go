package manual

import (
	"os"
	"strings"
	"testing"

	"github.com/codecommitd/codecommitd/internal/envvar"
)

var pages = []*Page{&RemoteHelper, &CredentialHelper}

// terms splits an item's term into the names it lists ("AWS_REGION,
// AWS_DEFAULT_REGION").
func terms(it Item) []string { return strings.Split(it.Term, ", ") }

// TestHelpSaysEverything: --help prints every usage line, variable and
// exit status of the page, and nothing wider than 80 columns but a command
// to copy.
func TestHelpSaysEverything(t *testing.T) {
	for _, p := range pages {
		h := p.Help()
		var want []string
		want = append(want, p.Synopsis...)
		for _, group := range p.Environment {
			for _, it := range group {
				want = append(want, it.Term)
			}
		}
		for _, it := range p.Exit {
			want = append(want, "  "+it.Term+" ")
		}
		for _, s := range p.Sections {
			for _, it := range s.Items {
				want = append(want, it.Term)
			}
			want = append(want, s.Verbatim...)
		}
		for _, w := range want {
			if !strings.Contains(h, w) {
				t.Errorf("%s --help lacks %q", p.Name, w)
			}
		}
		for _, line := range strings.Split(h, "\n") {
			if len(line) > 80 && !strings.HasPrefix(line, "  git config") && !strings.HasPrefix(line, p.Name+": ") {
				t.Errorf("%s --help: a line of %d columns: %s", p.Name, len(line), line)
			}
		}
		if strings.Contains(h, "git remote-http with") {
			t.Errorf("%s --help says it runs git remote-http", p.Name)
		}
	}
}

// TestREADMEAgrees: README's usage block of each helper is its synopsis,
// and README's tables name every variable the helper reads and every URL
// form it takes.
func TestREADMEAgrees(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	for _, p := range pages {
		if block := "```\n" + strings.Join(p.Synopsis, "\n") + "\n```\n"; !strings.Contains(readme, block) {
			t.Errorf("README has no usage block of %s; want:\n%s", p.Name, block)
		}
		for _, group := range p.Environment {
			for _, it := range group {
				for _, v := range terms(it) {
					if !strings.Contains(readme, "| `"+v+"`") && !strings.Contains(readme, ", `"+v+"`") {
						t.Errorf("README's tables do not name %s, which %s reads", v, p.Name)
					}
				}
			}
		}
	}
	example := strings.NewReplacer("<repository>", "my-repo", "<profile>", "my-profile", "<region>", "eu-west-1")
	for _, s := range RemoteHelper.Sections {
		for _, it := range s.Items {
			if form := "| `" + example.Replace(it.Term) + "` |"; !strings.Contains(readme, form) {
				t.Errorf("README's table of URL forms lacks %s", form)
			}
		}
	}
}

// TestVariablesAreDeclared: every variable a page names is one
// internal/envvar declares as read by the helpers (themselves, or for a
// request), so the manual names no variable nothing reads.
func TestVariablesAreDeclared(t *testing.T) {
	for _, p := range pages {
		for _, group := range p.Environment {
			for _, it := range group {
				for _, name := range terms(it) {
					v, ok := envvar.Lookup(name)
					if !ok || v.Name != name || !v.ReadBy(envvar.Helper) && !v.ReadBy(envvar.Request) {
						t.Errorf("%s's manual names %s, which internal/envvar does not declare as read by the helpers (%+v, %v)", p.Name, name, v, ok)
					}
				}
			}
		}
	}
}
