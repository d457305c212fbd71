package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestResolveVersion(t *testing.T) {
	t.Parallel()
	const rev = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(revision, modified string) []debug.BuildSetting {
		s := []debug.BuildSetting{{Key: "-compiler", Value: "gc"}, {Key: "vcs", Value: "git"}}
		if revision != "" {
			s = append(s, debug.BuildSetting{Key: "vcs.revision", Value: revision})
		}
		if modified != "" {
			s = append(s, debug.BuildSetting{Key: "vcs.modified", Value: modified})
		}
		return s
	}
	cases := []struct {
		name   string
		linked string
		info   *debug.BuildInfo
		want   string
	}{
		{name: "LinkerFlagWins", linked: "v1.4.0-3-gabcdef", info: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, want: "v1.4.0-3-gabcdef"},
		{name: "NoBuildInfo", linked: "dev", info: nil, want: "dev"},
		{name: "EmptyLinkedIsDev", linked: "", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, want: "dev"},
		{name: "GoInstallAtATag", linked: "dev", info: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, want: "v1.2.3"},
		{name: "DevelBuildInACheckout", linked: "dev", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "false")},
			want: "dev-0123456789ab"},
		{name: "ModifiedCheckout", linked: "dev", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs(rev, "true")},
			want: "dev-0123456789ab+dirty"},
		{name: "ShortRevisionKeptWhole", linked: "dev", info: &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("abc123", "")},
			want: "dev-abc123"},
		{name: "PseudoVersionAlreadyNamesTheCommit", linked: "dev",
			info: &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261123140000-0123456789ab+dirty"}, Settings: vcs(rev, "true")},
			want: "v0.0.0-20261123140000-0123456789ab+dirty"},
		{name: "TaggedCheckout", linked: "dev", info: &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: vcs(rev, "false")},
			want: "v1.2.3-0123456789ab"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, resolveVersion(tc.linked, tc.info), tc.name)
		})
	}
}

// TestVersionFlag checks that --version and -v print what the version
// command prints.
func TestVersionFlag(t *testing.T) {
	t.Parallel()
	want := runCLI(t, nil, "version")
	require.Equal(t, 0, want.code, want.stderr)
	require.Equal(t, versionLine()+"\n", want.stdout)
	for _, flag := range []string{"--version", "-v"} {
		got := runCLI(t, nil, flag)
		require.Equal(t, 0, got.code, "%s: %s", flag, got.stderr)
		require.Equal(t, want.stdout, got.stdout, flag)
		require.Empty(t, got.stderr, flag)
	}
}
