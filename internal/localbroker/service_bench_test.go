package localbroker

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/codecommitd/codecommitd/internal/broker"
)

// BenchmarkSignURLWarm measures one warm request in-process: profile
// resolution from the stat cache, the cached credentials and the signature.
func BenchmarkSignURLWarm(b *testing.B) {
	home := b.TempDir()
	os.MkdirAll(filepath.Join(home, ".aws"), 0o700)
	os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[dev]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = secret\n"), 0o600)
	os.WriteFile(filepath.Join(home, ".aws", "config"), []byte("[profile dev]\nregion = us-east-1\n"), 0o600)
	svc, err := NewService(nil, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	req := &broker.SignRequest{Profile: "dev", Repository: "repo", Env: map[string]string{"HOME": home}}
	ctx := context.Background()
	if _, err := svc.SignURL(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.SignURL(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
