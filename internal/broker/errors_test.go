package broker

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

func TestErrorKeepsKindAndCause(t *testing.T) {
	e := Errorf(ErrSourceFailed, "dev", "STS did not answer for profile %s: %w", "dev", context.DeadlineExceeded)
	if !errors.Is(e, ErrSourceFailed) || !errors.Is(e, context.DeadlineExceeded) {
		t.Fatalf("errors.Is lost the kind or the cause: %v", e.Unwrap())
	}
	if want := "STS did not answer for profile dev: context deadline exceeded"; e.Error() != want {
		t.Errorf("message %q, want %q", e.Error(), want)
	}

	quiet := Errorf(ErrSourceFailed, "dev", "profile %s: the request was abandoned", "dev").WithCause(context.Canceled)
	if !errors.Is(quiet, context.Canceled) || errors.Is(quiet, context.DeadlineExceeded) {
		t.Fatal("WithCause did not set the cause")
	}
	if quiet.Error() != "profile dev: the request was abandoned" {
		t.Errorf("WithCause changed the message: %q", quiet.Error())
	}

	plain := Errorf(ErrInvalidRequest, "", "no %s", "profile")
	if plain.Err != nil || len(plain.Unwrap()) != 1 {
		t.Errorf("an error without a cause has one: %v", plain.Unwrap())
	}
	var be *Error
	if wrapped := errors.Join(errors.New("outer"), e); !errors.As(wrapped, &be) || be.Profile != "dev" {
		t.Error("errors.As does not find the broker error")
	}
}

// TestKindsListsEveryKind: every Err… this package declares is in Kinds,
// so the tables and tests built from it cannot miss one.
func TestKindsListsEveryKind(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	declared, listed := map[string]bool{}, map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
				for _, spec := range g.Specs {
					v := spec.(*ast.ValueSpec)
					for i, id := range v.Names {
						if strings.HasPrefix(id.Name, "Err") {
							declared[id.Name] = true
						}
						if id.Name == "Kinds" {
							for _, e := range v.Values[i].(*ast.CompositeLit).Elts {
								listed[e.(*ast.Ident).Name] = true
							}
						}
					}
				}
			}
		}
	}
	if len(declared) == 0 {
		t.Fatal("found no Err… variables")
	}
	for name := range declared {
		if !listed[name] {
			t.Errorf("%s is not in Kinds", name)
		}
	}
	if len(listed) != len(Kinds) || len(listed) != len(declared) {
		t.Errorf("Kinds has %d entries (%d names) for %d kinds", len(Kinds), len(listed), len(declared))
	}
}

func TestSay(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errors.New("the daemon on /s does not answer"), "codecommitd: the daemon on /s does not answer"},
		// A message that happens to start with the name is no refusal.
		{errors.New("codecommitd is not a profile name"), "codecommitd: codecommitd is not a profile name"},
		{&Error{Kind: ErrPermissionDenied, Msg: "codecommitd serves only its own user (uid 0)"}, "codecommitd serves only its own user (uid 0)"},
		{&Error{Kind: ErrUnavailable, Msg: "codecommitd does not trust what listens on /s", Err: ErrUntrustedDaemon},
			"codecommitd does not trust what listens on /s"},
		{&Error{Kind: ErrUnavailable, Msg: "no daemon answers on /s"}, "codecommitd: no daemon answers on /s"},
	} {
		if got := Say(tc.err); got != tc.want {
			t.Errorf("Say(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
