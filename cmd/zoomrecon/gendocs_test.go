package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
)

func TestGenDocs(t *testing.T) {
	t.Parallel()

	dir := t.TempDir()
	res := runCLI(t, map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, "gen-docs", "--dir", dir)
	require.Equal(t, 0, res.code, "stderr: %s", res.stderr)

	t.Run("WritesAManPageForEveryCommand", func(t *testing.T) {
		t.Parallel()
		root := newRootCmd(testEnvOnly())
		root.InitDefaultCompletionCmd()
		var want []string
		var walk func(c *cobra.Command)
		walk = func(c *cobra.Command) {
			if !c.IsAvailableCommand() && c != root {
				return
			}
			want = append(want, strings.ReplaceAll(c.CommandPath(), " ", "-")+".1")
			for _, sub := range c.Commands() {
				walk(sub)
			}
		}
		walk(root)
		for _, name := range want {
			b, err := os.ReadFile(filepath.Join(dir, "man", name))
			require.NoError(t, err, "man page for %s", name)
			require.Contains(t, string(b), ".TH \"ZOOMRECON\" \"1\"", name)
		}
		for _, name := range []string{"zoomrecon.1", "zoomrecon-serve.1", "zoomrecon-config-check.1"} {
			require.Contains(t, want, name)
		}
		got, err := filepath.Glob(filepath.Join(dir, "man", "*.1"))
		require.NoError(t, err)
		require.Len(t, got, len(want), "got %v, want %v", got, want)
		_, err = os.Stat(filepath.Join(dir, "man", "zoomrecon-gen-docs.1"))
		require.ErrorIs(t, err, os.ErrNotExist, "the hidden gen-docs command gets no page")
	})

	t.Run("WritesCompletionsForBashZshAndFish", func(t *testing.T) {
		t.Parallel()
		for name, want := range map[string]string{
			"zoomrecon":      "__start_zoomrecon",
			"_zoomrecon":     "#compdef zoomrecon",
			"zoomrecon.fish": "complete -c zoomrecon",
		} {
			b, err := os.ReadFile(filepath.Join(dir, "completions", name))
			require.NoError(t, err, name)
			require.Contains(t, string(b), want, name)
		}
	})
}

// testEnvOnly is an env for building the command tree without running it.
func testEnvOnly() env {
	e, _, _ := testEnv(nil)
	return e
}
