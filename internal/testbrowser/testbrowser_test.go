package testbrowser

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// site is a form whose buttons post to /submit, which redirects to /done;
// it remembers which button was pressed.
type site struct {
	mu      sync.Mutex
	pressed []string
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/":
		fmt.Fprint(w, `<!doctype html><title>form</title><form method="post" action="/submit">
<button type="submit" id="go" name="b" value="first">Go on</button>
<input type="submit" name="b" value="Second">
</form><a href="/done?via=link">Just a link</a>`)
	case "/submit":
		r.ParseForm()
		s.mu.Lock()
		s.pressed = append(s.pressed, r.PostForm.Get("b"))
		s.mu.Unlock()
		http.Redirect(w, r, "/done?via="+r.PostForm.Get("b"), http.StatusFound)
	case "/done":
		fmt.Fprintf(w, "<!doctype html><title>done</title><p>done via %s</p>", r.URL.Query().Get("via"))
	default:
		http.NotFound(w, r)
	}
}

func TestClickFollowsFormPostAndRedirect(t *testing.T) {
	b := New(t)
	s := &site{}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)

	tests := []struct {
		label   string
		wantURL string
		pressed string
	}{
		{"go", "/done?via=first", "first"},       // by id
		{"Go on", "/done?via=first", "first"},    // by a button's text
		{"Second", "/done?via=Second", "Second"}, // by a submit input's value
		{"Just a link", "/done?via=link", ""},    // a link: no form post
	}
	for _, tt := range tests {
		t.Run(tt.label, func(t *testing.T) {
			s.mu.Lock()
			s.pressed = nil
			s.mu.Unlock()
			if p, err := b.Open(srv.URL + "/"); err != nil || p.Status != 200 {
				t.Fatalf("Open = %+v, %v", p, err)
			}
			p, err := b.Click(tt.label)
			if err != nil {
				t.Fatal(err)
			}
			if p.URL != srv.URL+tt.wantURL || p.Status != 200 {
				t.Errorf("Click(%q) ended at %+v, want %s with 200", tt.label, p, tt.wantURL)
			}
			if u, err := b.URL(); err != nil || u != p.URL {
				t.Errorf("URL() = %q, %v; want %q", u, err, p.URL)
			}
			text, err := b.Text()
			if want := "done via " + strings.TrimPrefix(tt.wantURL, "/done?via="); err != nil || !strings.Contains(text, want) {
				t.Errorf("Text() = %q, %v; want it to contain %q", text, err, want)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if tt.pressed != "" && (len(s.pressed) != 1 || s.pressed[0] != tt.pressed) {
				t.Errorf("the server saw %q pressed, want [%s]", s.pressed, tt.pressed)
			}
		})
	}
}

func TestClickMissingButtonSaysSo(t *testing.T) {
	b := New(t)
	srv := httptest.NewServer(&site{})
	t.Cleanup(srv.Close)
	if _, err := b.Open(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	_, err := b.Click("Allow")
	if err == nil || !strings.Contains(err.Error(), `no such button`) || !strings.Contains(err.Error(), "Just a link") {
		t.Errorf("Click(missing) = %v, want an error naming the page's text", err)
	}
}
