package codecommit

import "testing"

func TestEndpoint(t *testing.T) {
	tests := []struct {
		region, override string
		fips             bool
		want             string
	}{
		{"us-east-1", "", false, "git-codecommit.us-east-1.amazonaws.com"},
		{"eu-west-2", "", false, "git-codecommit.eu-west-2.amazonaws.com"},
		{"cn-north-1", "", false, "git-codecommit.cn-north-1.amazonaws.com.cn"},
		{"cn-northwest-1", "", false, "git-codecommit.cn-northwest-1.amazonaws.com.cn"},
		{"us-gov-west-1", "", false, "git-codecommit.us-gov-west-1.amazonaws.com"},
		{"us-gov-east-1", "", true, "git-codecommit-fips.us-gov-east-1.amazonaws.com"},
		{"us-east-2", "", true, "git-codecommit-fips.us-east-2.amazonaws.com"},
		{"us-east-1", "localhost:8443", true, "localhost:8443"},
		{"us-east-1", "vpce-1.git-codecommit.us-east-1.vpce.amazonaws.com", false, "vpce-1.git-codecommit.us-east-1.vpce.amazonaws.com"},
	}
	for _, tt := range tests {
		if got := Endpoint(tt.region, tt.fips, tt.override); got != tt.want {
			t.Errorf("Endpoint(%q, %v, %q) = %q, want %q", tt.region, tt.fips, tt.override, got, tt.want)
		}
	}
}

func TestRegions(t *testing.T) {
	for _, r := range []string{"us-east-1", "eu-central-2", "us-gov-west-1", "cn-north-1"} {
		if !ValidRegionName(r) || !KnownRegion(r) || UnknownRegionWarning(r) != "" {
			t.Errorf("%s: want a valid, known region with no warning", r)
		}
	}
	if !ValidRegionName("xx-mars-7") || KnownRegion("xx-mars-7") || UnknownRegionWarning("xx-mars-7") == "" {
		t.Error("xx-mars-7: want well-formed, unknown, with a warning")
	}
	for _, r := range []string{"", "us-east", "US-EAST-1", "us_east_1", "useast1", "us-east-1a", "codecommit"} {
		if ValidRegionName(r) {
			t.Errorf("ValidRegionName(%q) = true", r)
		}
	}
}
