package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

func newVersionCmd(e env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version (the same as zoomrecon --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(e.stdout, versionLine())
			return err
		},
	}
}

// versionLine is what "zoomrecon version" and "zoomrecon --version" print.
func versionLine() string {
	return fmt.Sprintf("zoomrecon %s (%s, %s/%s)", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// buildVersion is the version zoomrecon reports everywhere: the version
// command, --version, the build_info metric and the start log.
func buildVersion() string {
	info, _ := debug.ReadBuildInfo()
	return resolveVersion(version, info)
}

// resolveVersion picks the version from what the build left. The Makefile
// sets linked with -ldflags; "go install module@v1.2.3" cannot, but the
// toolchain records v1.2.3 as the main module's version, and a build in a git
// checkout records the commit, so neither reports a bare "dev".
func resolveVersion(linked string, info *debug.BuildInfo) string {
	if linked != "" && linked != "dev" {
		return linked
	}
	v := "dev"
	if info == nil {
		return v
	}
	// "(devel)" is what the toolchain says when it knows no version.
	if mv := info.Main.Version; mv != "" && mv != "(devel)" {
		v = mv
	}
	var revision string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	// Twelve hex digits, as Go's pseudo-versions shorten a commit.
	if len(revision) > 12 {
		revision = revision[:12]
	}
	// Since Go 1.24 a build in a checkout already carries the commit and
	// "+dirty" in a pseudo-version; say each only once.
	if revision != "" && !strings.Contains(v, revision) {
		v += "-" + revision
	}
	if modified && !strings.HasSuffix(v, "+dirty") {
		v += "+dirty"
	}
	return v
}
