package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/codecommitd/codecommitd/client"
	"github.com/codecommitd/codecommitd/internal/broker"
	"github.com/codecommitd/codecommitd/internal/testprobe"
)

func TestQuietWhenTheLastConnectionCloses(t *testing.T) {
	sock := filepath.Join(testprobe.ShortDir(t), "x", "d.sock")
	fired := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready, stopped := make(chan error, 1), make(chan error, 1)
	go func() {
		stopped <- Run(ctx, Config{Socket: sock, Ready: func(err error) { ready <- err }, testQuiet: func() { fired <- struct{}{} }})
	}()
	if err := <-ready; err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		if err := <-stopped; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	c, _ := client.Dial(sock)
	c.Status(ctx)
	c.SignURL(ctx, &broker.SignRequest{Repository: "r"})
	c.Close()
	select {
	case <-fired:
		t.Log("fired")
	case <-time.After(5 * time.Second):
		t.Fatal("never quiet")
	}
}
