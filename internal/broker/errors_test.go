package broker

import (
	"context"
	"errors"
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
