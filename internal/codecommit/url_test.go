package codecommit

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRemote(t *testing.T) {
	tests := []struct {
		url  string
		want Remote
	}{
		{"codecommit://repo", Remote{Repository: "repo"}},
		{"codecommit://repo/", Remote{Repository: "repo"}},
		{"codecommit://profile@repo", Remote{Profile: "profile", Repository: "repo"}},
		{"codecommit://my.profile-1@My_Repo.2", Remote{Profile: "my.profile-1", Repository: "My_Repo.2"}},
		{"eu-west-1://repo", Remote{Region: "eu-west-1", Repository: "repo"}},
		{"us-gov-west-1://prof@repo", Remote{Profile: "prof", Region: "us-gov-west-1", Repository: "repo"}},
		{"ca-central-1://test_repo", Remote{Region: "ca-central-1", Repository: "test_repo"}},
		// A well-formed region nobody has heard of yet is accepted here;
		// whether to warn is the caller's business.
		{"xx-mars-7://repo", Remote{Region: "xx-mars-7", Repository: "repo"}},
		// The profile is everything before the first "@".
		{"codecommit://a@b@repo", Remote{}},
		{"codecommit://" + strings.Repeat("r", 100), Remote{Repository: strings.Repeat("r", 100)}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := ParseRemote(tt.url)
			if tt.want == (Remote{}) {
				if err == nil {
					t.Fatalf("ParseRemote(%q) = %+v, want an error", tt.url, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRemote(%q): %v", tt.url, err)
			}
			if got != tt.want {
				t.Errorf("ParseRemote(%q) = %+v, want %+v", tt.url, got, tt.want)
			}
		})
	}
}

func TestParseRemoteMalformed(t *testing.T) {
	for _, url := range []string{
		"", "boom",
		"codecommit:/r",   // missing a slash
		"codecommit//r",   // missing colon
		"://r",            // missing protocol
		"codecommit://",   // missing repository
		"codecommit:://r", // extra colon
		"codecommit:///r", // extra slash
		"github://r",
		"https://git-codecommit.us-east-1.amazonaws.com/v1/repos/r",
		"codecommit://https://git-codecommit.us-east-1.amazonaws.com/v1/repos/r",
		"codecommit://git-codecommit.us-east-1.amazonaws.com",
		"codecommit://@repo",
		"codecommit://profile@",
		"codecommit://repo/extra",
		"codecommit://repo?x=1",
		"codecommit://repo#frag",
		"codecommit://re po",
		"codecommit://..",
		"codecommit://" + strings.Repeat("r", 101),
		"Us-East-1://repo",
		"us-east://repo",
		"codecommit::us-east-1://repo", // git strips "codecommit::"; we never see it
	} {
		t.Run(url, func(t *testing.T) {
			_, err := ParseRemote(url)
			var me *MalformedURLError
			if !errors.As(err, &me) {
				t.Fatalf("ParseRemote(%q) error = %v, want *MalformedURLError", url, err)
			}
			want := "The following URL is malformed: " + url + ". A URL must be in one of the two following formats: " +
				"codecommit://<profile>@<repository> or codecommit::<region>://<profile>@<repository>. What is wrong: "
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error = %q\nwant prefix %q", err, want)
			}
		})
	}
}

func TestMalformedURLsSayWhichPart(t *testing.T) {
	for url, reason := range map[string]string{
		"nowhere-9://p@repo":                       `"nowhere-9" (from codecommit::nowhere-9://) is not an AWS region name, like eu-west-1`,
		"codecommit://p@repo/extra":                `after the repository name comes "/extra"; the URL holds only [<profile>@]<repository>`,
		"codecommit://@repo":                       "the profile before @ is empty; name one, or leave out the @",
		"codecommit://p@re po":                     `the repository name: "re po" may hold only letters, digits, '.', '_' and '-'`,
		"codecommit://":                            "it names no repository after ://",
		"https://h/v1/repos/r":                     "it is an https:// URL; use it with git as it is, and git-credential-codecommit for the password (see README)",
		"boom":                                     "it has no :// (write codecommit://<repository>)",
		"codecommit://" + strings.Repeat("r", 101): "the repository name: 101 characters, the limit is 100",
	} {
		_, err := ParseRemote(url)
		if err == nil || !strings.HasSuffix(err.Error(), ". What is wrong: "+reason) {
			t.Errorf("ParseRemote(%q) = %v\nwant it to end: What is wrong: %s", url, err, reason)
		}
	}
	// A 100 KB profile name is not echoed whole.
	_, err := ParseRemote("codecommit://" + strings.Repeat("p", 100<<10) + "@repo/x")
	if err == nil || len(err.Error()) > 600 {
		t.Errorf("an oversized URL gives a %d-byte message", len(err.Error()))
	}
}

func TestValidateRepositoryName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"a", true},
		{"My-Repo_1.0", true},
		{strings.Repeat("x", 100), true},
		{"", false},
		{strings.Repeat("x", 101), false},
		{".", false},
		{"..", false},
		{"a/b", false},
		{"a b", false},
		{"ünï", false},
		{"a%2f", false},
		{"repo.amazonaws.com", false},
	} {
		err := ValidateRepositoryName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateRepositoryName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidRepositoryName) {
			t.Errorf("ValidateRepositoryName(%q) = %v, does not wrap ErrInvalidRepositoryName", tt.name, err)
		}
	}
}

func FuzzParseRemote(f *testing.F) {
	for _, s := range []string{"codecommit://repo", "codecommit://p@r", "eu-west-1://p@r", "codecommit:///r", "://", "a@b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRemote(s)
		if err != nil {
			var me *MalformedURLError
			if !errors.As(err, &me) || me.URL != s {
				t.Fatalf("ParseRemote(%q) error %v is not a MalformedURLError for the input", s, err)
			}
			return
		}
		if ValidateRepositoryName(r.Repository) != nil {
			t.Fatalf("ParseRemote(%q) accepted invalid repository %q", s, r.Repository)
		}
		if r.Region != "" && !ValidRegionName(r.Region) {
			t.Fatalf("ParseRemote(%q) accepted invalid region %q", s, r.Region)
		}
		if strings.ContainsAny(r.Profile, "/?#") || (r.Profile == "" && strings.Contains(s, "@")) {
			t.Fatalf("ParseRemote(%q) gave profile %q", s, r.Profile)
		}
		// Re-rendering the parse gives back an equivalent URL.
		scheme := "codecommit"
		if r.Region != "" {
			scheme = r.Region
		}
		u := scheme + "://" + r.Repository
		if r.Profile != "" {
			u = scheme + "://" + r.Profile + "@" + r.Repository
		}
		if r2, err := ParseRemote(u); err != nil || r2 != r {
			t.Fatalf("round trip of %q via %q = %+v, %v; want %+v", s, u, r2, err, r)
		}
	})
}
