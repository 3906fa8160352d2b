// Package testbrowser drives Debian's chromium, headless, for tests of the
// pages a person uses during a sign-in: open a URL, click a button by its
// id or text, follow the navigation it starts (form posts, redirects), read
// where the browser ended up.
//
// It owns one browser per test: started by New with a fresh profile under
// t.TempDir(), closed (and waited for) when the test ends. Where chromium is
// not installed, New skips the test, saying how to install it. It is test
// infrastructure: nothing in the shipped binaries imports it.
package testbrowser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/codecommitd/codecommitd/internal/testprobe"
)

// ExecPath is Debian's chromium (apt-get install chromium).
const ExecPath = "/usr/bin/chromium"

// flags are the command line of the browser, besides the profile folder and
// what chromedp adds to talk to it (--remote-debugging-pipe, about:blank):
// headless, no background traffic, nothing but the pages a test opens.
var flags = []string{
	"headless", "no-sandbox", "disable-gpu", "disable-background-networking", "disable-component-update",
	"disable-sync", "no-first-run", "disable-quic",
}

// timeout bounds each action: a page that never loads fails the test
// rather than hanging it.
const timeout = 30 * time.Second

// Browser is a headless chromium with one tab.
type Browser struct {
	ctx context.Context
}

// Page is where a navigation ended: the final URL after any redirects, and
// the HTTP status of the document there.
type Page struct {
	URL    string
	Status int
}

// New starts a browser for t, or skips t where chromium is not installed.
func New(t testing.TB) *Browser {
	t.Helper()
	if _, err := exec.LookPath(ExecPath); err != nil {
		t.Skip("chromium is not installed: apt-get install chromium")
	}
	// chromium puts its singleton socket in TMPDIR, which may be too long
	// for one.
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(ExecPath), chromedp.UserDataDir(t.TempDir()),
		chromedp.Env("TMPDIR=" + testprobe.ShortDir(t))}
	for _, f := range flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		// Close the browser gracefully, so that its helper processes end
		// with it, then wait for the process to exit.
		closeCtx, cancelClose := context.WithTimeout(ctx, timeout)
		defer cancelClose()
		if err := chromedp.Cancel(closeCtx); err != nil && !errors.Is(err, context.Canceled) {
			t.Logf("closing chromium: %v", err)
		}
		cancel()
		cancelAlloc()
	})
	// The first action starts the browser; it must run on ctx itself, not
	// on a context with a deadline, or the deadline would end the browser.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", ExecPath, err)
	}
	return &Browser{ctx: ctx}
}

// Open loads url and returns where it ended, after any redirects.
func (b *Browser) Open(url string) (Page, error) {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		return Page{}, fmt.Errorf("open %s: %w", url, err)
	}
	return Page{resp.URL, int(resp.Status)}, nil
}

// findButton is JavaScript that returns the element whose id is the label,
// else the first button, submit input or link whose text is the label.
const findButton = `((label) => document.getElementById(label) ||
	[...document.querySelectorAll('button, input[type=submit], input[type=button], a')]
		.find(e => (e.tagName === 'INPUT' ? e.value : e.textContent).trim() === label) || null)(%s)`

// Click clicks the button or link whose id or text is label on the page
// shown now, and returns where the navigation it starts ended (after any
// redirects). Clicking something that navigates nowhere times out.
func (b *Browser) Click(label string) (Page, error) {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	quoted, err := json.Marshal(label) // a JSON string is a JavaScript string
	if err != nil {
		return Page{}, err
	}
	find := fmt.Sprintf(findButton, quoted)
	found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](find+" !== null"))
	if err != nil {
		return Page{}, fmt.Errorf("click %q: %w", label, err)
	}
	if !found {
		text, _ := b.Text()
		return Page{}, fmt.Errorf("click %q: the page has no such button or link; it says: %.300q", label, text)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.JSPath(find)))
	if err != nil {
		return Page{}, fmt.Errorf("click %q: %w", label, err)
	}
	return Page{resp.URL, int(resp.Status)}, nil
}

// URL returns the address of the page shown now.
func (b *Browser) URL() (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Location())
}

// Text returns the text of the page shown now, as a person reads it.
func (b *Browser) Text() (string, error) {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
}
