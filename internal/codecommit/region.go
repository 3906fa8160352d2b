package codecommit

import (
	"fmt"
	"strings"
)

// knownRegions are the regions CodeCommit was offered in when this list was
// last updated. AWS keeps adding regions, so a region missing from it is a
// warning, never an error.
var knownRegions = map[string]bool{
	"af-south-1": true, "ap-east-1": true, "ap-northeast-1": true, "ap-northeast-2": true,
	"ap-northeast-3": true, "ap-south-1": true, "ap-south-2": true, "ap-southeast-1": true,
	"ap-southeast-2": true, "ap-southeast-3": true, "ap-southeast-4": true, "ca-central-1": true,
	"cn-north-1": true, "cn-northwest-1": true, "eu-central-1": true, "eu-central-2": true,
	"eu-north-1": true, "eu-south-1": true, "eu-south-2": true, "eu-west-1": true,
	"eu-west-2": true, "eu-west-3": true, "il-central-1": true, "me-central-1": true,
	"me-south-1": true, "sa-east-1": true, "us-east-1": true, "us-east-2": true,
	"us-gov-east-1": true, "us-gov-west-1": true, "us-west-1": true, "us-west-2": true,
}

// KnownRegion reports whether CodeCommit is known to be offered in region.
func KnownRegion(region string) bool { return knownRegions[region] }

// UnknownRegionWarning returns the warning to print for a well-formed region
// CodeCommit is not known in, or "" when there is nothing to say.
func UnknownRegionWarning(region string) string {
	if KnownRegion(region) {
		return ""
	}
	return fmt.Sprintf("warning: region %s is not one this version knows CodeCommit in; trying it anyway (check the name, or update codecommitd)", region)
}

// Endpoint returns the host[:port] of the CodeCommit git endpoint for region.
// A non-empty override (CODE_COMMIT_ENDPOINT) wins over everything else;
// otherwise fips selects the git-codecommit-fips host, and regions of the
// China partition use the amazonaws.com.cn domain.
func Endpoint(region string, fips bool, override string) string {
	if override != "" {
		return override
	}
	name := "git-codecommit"
	if fips {
		name = "git-codecommit-fips"
	}
	domain := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		domain = "amazonaws.com.cn"
	}
	return name + "." + region + "." + domain
}

// RepositoryPath is the URL path of repo on a CodeCommit git endpoint.
func RepositoryPath(repo string) string { return "/v1/repos/" + repo }
