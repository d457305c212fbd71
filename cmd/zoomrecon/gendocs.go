package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// newGenDocsCmd writes the man pages and shell completions that packages and
// "make install" ship. It is hidden: users read its output, not run it.
func newGenDocsCmd(e env) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:    "gen-docs",
		Short:  "Write man pages (DIR/man) and bash, zsh and fish completions (DIR/completions)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := genDocs(cmd.Root(), dir, e.lookupEnv); err != nil {
				return err
			}
			_, err := fmt.Fprintf(e.stdout, "wrote man pages and completions under %s\n", dir)
			return err
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "docs", "directory to write man/ and completions/ into")
	return cmd
}

// genDocs writes one man page per available command to dir/man and the
// completion scripts to dir/completions, under the names their packaged
// paths use: zoomrecon (bash), _zoomrecon (zsh), zoomrecon.fish.
func genDocs(root *cobra.Command, dir string, lookup func(string) (string, bool)) error {
	manDir := filepath.Join(dir, "man")
	compDir := filepath.Join(dir, "completions")
	for _, d := range []string{manDir, compDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("gen-docs --dir: %w", err)
		}
	}
	// The "completion" command cobra adds at Execute gets a man page too.
	root.InitDefaultCompletionCmd()
	root.DisableAutoGenTag = true // keeps pages identical between builds
	header := &doc.GenManHeader{Title: "ZOOMRECON", Section: "1", Source: "zoomrecon " + buildVersion(), Manual: "zoomrecon manual"}
	// Reproducible builds pin the date through SOURCE_DATE_EPOCH.
	if s, ok := lookup("SOURCE_DATE_EPOCH"); ok {
		var sec int64
		if _, err := fmt.Sscan(s, &sec); err == nil {
			t := time.Unix(sec, 0).UTC()
			header.Date = &t
		}
	}
	if err := doc.GenManTree(root, header, manDir); err != nil {
		return fmt.Errorf("write man pages: %w", err)
	}
	for name, gen := range map[string]func(string) error{
		"zoomrecon":      func(p string) error { return root.GenBashCompletionFileV2(p, true) },
		"_zoomrecon":     root.GenZshCompletionFile,
		"zoomrecon.fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
	} {
		if err := gen(filepath.Join(compDir, name)); err != nil {
			return fmt.Errorf("write completion %s: %w", name, err)
		}
	}
	return nil
}
