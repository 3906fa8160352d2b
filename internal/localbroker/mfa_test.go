package localbroker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/codecommitd/codecommitd/internal/awsprofile"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/credmgr"
	"github.com/codecommitd/codecommitd/internal/credmgr/credmgrtest"
)

// mfaBroker is a Broker in memory only, built inside the test's bubble so
// that its waits run on the bubble's clock, and an MFA session of profile
// dev.
func mfaBroker(t *testing.T) (*Broker, *mfaSession) {
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	return b, &mfaSession{MFASession: &awsprofile.MFASession{Key: "mfa:src:serial", Serial: "arn:aws:iam::1:mfa/me"}, profile: "dev"}
}

func TestMFAOnePrompterOthersWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, s := mfaBroker(t)
		ctx := context.Background()
		err := b.ensureMFA(ctx, s, canAsk)
		if !errors.Is(err, broker.ErrMFARequired) {
			t.Fatalf("first caller: %v, want ErrMFARequired (it prompts)", err)
		}
		const waiters = 15
		results := make(chan error, waiters)
		for range waiters {
			go func() { results <- b.ensureMFA(ctx, s, canAsk) }()
		}
		synctest.Wait() // all 15 wait for the prompter, none prompts
		select {
		case err := <-results:
			t.Fatalf("a waiter returned before the prompter finished: %v", err)
		default:
		}
		// The prompter comes back with a code that works.
		src := &credmgrtest.Source{Life: 12 * time.Hour}
		spec := credmgr.Spec{Key: s.Key, Profile: s.profile, Interactive: true, Fetch: src.Fetch}
		if _, err := b.manager.Get(ctx, spec); err != nil {
			t.Fatal(err)
		}
		b.mfa.finish(s.Key, nil)
		for range waiters {
			if err := <-results; err != nil {
				t.Errorf("waiter: %v", err)
			}
		}
	})
}

func TestMFAWaitersLearnOfAWrongCodeAndGiveUpInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, s := mfaBroker(t)
		ctx := context.Background()
		b.ensureMFA(ctx, s, canAsk) // claims the prompt
		wrong := make(chan error, 1)
		go func() { wrong <- b.ensureMFA(ctx, s, canAsk) }()
		synctest.Wait()
		b.mfa.finish(s.Key, errors.New("AWS rejected the MFA code"))
		if err := <-wrong; !errors.Is(err, broker.ErrMFAInvalid) || !strings.Contains(err.Error(), "another git process") {
			t.Fatalf("waiter after a wrong code: %v", err)
		}

		// A prompter who never answers: waiters give up after the timeout.
		if err := b.ensureMFA(ctx, s, canAsk); !errors.Is(err, broker.ErrMFARequired) {
			t.Fatalf("new prompt not claimed: %v", err)
		}
		late := make(chan error, 1)
		go func() { late <- b.ensureMFA(ctx, s, canAsk) }()
		synctest.Wait()
		time.Sleep(DefaultMFAPromptTimeout + time.Second) // the bubble's clock: at once
		if err := <-late; !errors.Is(err, broker.ErrSourceFailed) || !strings.Contains(err.Error(), "gave up after") {
			t.Fatalf("waiter after the timeout: %v", err)
		}
		// After the timeout, the next caller may prompt again.
		if err := b.ensureMFA(ctx, s, canAsk); !errors.Is(err, broker.ErrMFARequired) {
			t.Fatalf("after the timeout: %v, want a new prompt", err)
		}
	})
}

var (
	canAsk    = mfaAsk{canPrompt: true}
	cannotAsk = mfaAsk{canPrompt: false}
)

func TestACallerThatCannotPromptNeverHoldsThePrompt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, s := mfaBroker(t)
		ctx := context.Background()
		// An IDE's background fetch: no terminal, no askpass.
		err := b.ensureMFA(ctx, s, cannotAsk)
		var be *broker.Error
		if !errors.As(err, &be) || !be.CannotPrompt || !strings.Contains(err.Error(), "cannot ask for a code") {
			t.Fatalf("caller without a prompt: %v", err)
		}
		// A terminal git right after gets the prompt at once, no wait.
		if err := b.ensureMFA(ctx, s, canAsk); !errors.Is(err, broker.ErrMFARequired) || errors.As(err, &be) && be.CannotPrompt {
			t.Fatalf("terminal caller after an IDE's: %v, want to be the prompter", err)
		}
		// While the terminal prompts, the IDE waits for its outcome rather
		// than failing.
		waiting := make(chan error, 1)
		go func() { waiting <- b.ensureMFA(ctx, s, cannotAsk) }()
		synctest.Wait()
		select {
		case err := <-waiting:
			t.Fatalf("the caller without a prompt did not wait: %v", err)
		default:
		}
		// The terminal's prompt fails (Ctrl-C): the claim is released, and a
		// waiter that can prompt takes over at once.
		asker := make(chan error, 1)
		go func() { asker <- b.ensureMFA(ctx, s, canAsk) }()
		synctest.Wait()
		b.ensureMFA(ctx, s, mfaAsk{promptFailed: true})
		synctest.Wait()
		if err := <-asker; !errors.Is(err, broker.ErrMFARequired) {
			t.Fatalf("waiter after an abandoned prompt: %v, want to become the prompter", err)
		}
		// The caller without a prompt waits on the new prompter, or (if it
		// woke first) says it needs a terminal; it never becomes the
		// prompter itself.
		select {
		case err := <-waiting:
			if !errors.As(err, &be) || !be.CannotPrompt {
				t.Fatalf("the caller without a prompt ended with %v", err)
			}
		default:
			b.mfa.finish(s.Key, errors.New("wrong code"))
			if err := <-waiting; !errors.Is(err, broker.ErrMFAInvalid) {
				t.Fatalf("the waiting caller learned %v of the new prompter's outcome", err)
			}
		}
	})
}
