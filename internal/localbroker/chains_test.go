package localbroker

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/internal/broker"
)

// TestAProfilesChainIsBuiltOnce: the chain a cold request builds (to learn
// the MFA sessions it needs) is the one its manager entry retrieves from at
// every refresh, which runs the credential_process once each; an edit to the
// profile gives it a new chain, and Reload drops them all.
func TestAProfilesChainIsBuiltOnce(t *testing.T) {
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, ".aws"), 0o700)
	runs := filepath.Join(home, "runs")
	proc := filepath.Join(home, "proc.sh")
	os.WriteFile(proc, []byte(fmt.Sprintf("#!/bin/sh\necho run >> %s\necho '{\"Version\": 1, \"AccessKeyId\": \"ASIAEXAMPLE\", \"SecretAccessKey\": \"secret\", \"SessionToken\": \"token\", \"Expiration\": %q}'\n",
		runs, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))), 0o755)
	config := filepath.Join(home, ".aws", "config")
	os.WriteFile(config, []byte("[profile proc]\ncredential_process = "+proc+"\nregion = us-east-1\n"+
		"[profile stand-in]\ncredential_process = sh -c 'echo stand-in >> "+runs+"; "+proc+"'\nregion = us-east-1\n"), 0o600)
	ran := func() int { b, _ := os.ReadFile(runs); return strings.Count(string(b), "run") }

	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	env := map[string]string{"HOME": home}
	if _, err := b.SignURL(ctx, &broker.SignRequest{Profile: "proc", Repository: "repo", Env: env}); err != nil {
		t.Fatal(err)
	}
	if len(b.chains.m) != 1 || ran() != 1 {
		t.Fatalf("after the first request: %d chains, %d runs; want 1 and 1", len(b.chains.m), ran())
	}
	p, err := b.resolver.Resolve(ctx, "proc", env)
	if err != nil {
		t.Fatal(err)
	}
	fetch := b.fetcher(p, "us-east-1") // what the manager calls at each refresh
	for range 2 {
		if _, err := fetch(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.chains.m) != 1 || ran() != 3 {
		t.Fatalf("after two refreshes: %d chains, %d runs; want 1 and 3", len(b.chains.m), ran())
	}
	// A refresh retrieves from the chain kept, not from one built anew:
	// put a stand-in's chain in its place.
	q, err := b.resolver.Resolve(ctx, "stand-in", env)
	if err != nil {
		t.Fatal(err)
	}
	standIn, err := b.resolver.Chain(ctx, q, "us-east-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	b.chains.m[chainKey{p.Key, "us-east-1"}] = standIn
	if _, err := fetch(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(runs); strings.Count(string(b), "stand-in") != 1 {
		t.Fatalf("the refresh did not use the chain kept:\n%s", b)
	}

	// An edit changes the profile's key: a new entry, a new chain.
	os.WriteFile(config, []byte("[profile proc]\ncredential_process = "+proc+"\nregion = us-east-1\ncredential_process_timeout = 30\n"), 0o600)
	future := time.Now().Add(time.Minute)
	os.Chtimes(config, future, future) // the stat cache must see it within the second
	if _, err := b.SignURL(ctx, &broker.SignRequest{Profile: "proc", Repository: "repo", Env: env}); err != nil {
		t.Fatal(err)
	}
	if len(b.chains.m) != 2 || ran() != 5 {
		t.Fatalf("after an edit: %d chains, %d runs; want 2 and 5", len(b.chains.m), ran())
	}
	b.Reload()
	if len(b.chains.m) != 0 {
		t.Errorf("Reload kept %d chains", len(b.chains.m))
	}
}
