package daemon

import (
	"testing"

	"github.com/codecommitd/codecommitd/internal/wire"
)

// TestTheGraceOutlastsASignRequest: a connection the daemon asked to move
// on is closed only after any request a helper waits for has ended (or
// been given up), never while one may still be under way.
func TestTheGraceOutlastsASignRequest(t *testing.T) {
	if MaxConnectionAgeGrace <= wire.SignTimeout {
		t.Errorf("MaxConnectionAgeGrace %s does not outlast wire.SignTimeout %s: a request in its last moments would be cut", MaxConnectionAgeGrace, wire.SignTimeout)
	}
}
