package localbroker

import (
	"context"
	"testing"

	"github.com/codecommitd/codecommitd/internal/broker"
)

// BenchmarkSignURLWarm measures one warm request in-process: profile
// resolution from the stat cache, the cached credentials and the signature.
func BenchmarkSignURLWarm(b *testing.B) {
	br, home := staticService(b)
	req := &broker.SignRequest{Profile: "dev", Repository: "repo", Env: map[string]string{"HOME": home}}
	ctx := context.Background()
	if _, err := br.SignURL(ctx, req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := br.SignURL(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
