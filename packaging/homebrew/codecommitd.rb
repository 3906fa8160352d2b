# Homebrew formula. The release process fills in url and sha256 for each
# tag; until then `brew install --HEAD ./packaging/homebrew/codecommitd.rb`
# builds from the main branch.
class Codecommitd < Formula
  desc "AWS CodeCommit git helpers backed by a per-user credential daemon"
  homepage "https://github.com/codecommitd/codecommitd"
  url "https://github.com/codecommitd/codecommitd/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  head "https://github.com/codecommitd/codecommitd.git", branch: "main"

  depends_on "go" => :build

  def install
    ldflags = "-s -w -X github.com/codecommitd/codecommitd/internal/version.Version=#{version}"
    %w[codecommitd git-remote-codecommit git-credential-codecommit].each do |name|
      system "go", "build", *std_go_args(output: bin/name, ldflags: ldflags), "-tags", "grpcnotrace", "./cmd/#{name}"
    end
    generate_completions_from_executable(bin/"codecommitd", "completion")
    system "go", "run", "-tags", "grpcnotrace", "./internal/cmd/gendocs", buildpath/"man"
    man1.install Dir[buildpath/"man/*.1"]
  end

  service do
    run [opt_bin/"codecommitd", "run"]
    keep_alive true
    process_type :background
    log_path var/"log/codecommitd.log"
    error_log_path var/"log/codecommitd.log"
  end

  test do
    assert_match "codecommitd", shell_output("#{bin}/codecommitd --version")
    assert_match "The following URL is malformed",
                 shell_output("#{bin}/git-remote-codecommit origin codecommit:///x 2>&1", 1)
  end
end
