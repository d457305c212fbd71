package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/zoomrecon/zoomrecon"

// allowed is the dependency table of STYLE.md §1: which of our packages each
// package may import. cmd/zoomrecon may import anything; a package missing
// from this table fails the test, so new packages must be placed in it.
var allowed = map[string][]string{
	"config":           nil,
	"migrations":       nil,
	"store":            {"migrations"},
	"store/storetest":  {"store"},
	"zoomapi":          nil,
	"zoomapi/zoomtest": nil, // it signs webhooks itself, so a signing mistake cannot hide on both sides
	"webhook":          {"store"},
	// zoomevent rebuilds the events a backfill stands for (reconciler/rebuild.go).
	"reconciler": {"store", "zoomapi", "relay/zoomevent"},
	"alerts":     {"store"},
	// webhook only in its tests: the code meets webhook and zoomapi through
	// Tokens and Ingester, and records gaps through store types.
	"wsintake": {"store", "webhook"},
	// The relay signs as the receiver verifies (webhook.Sign) and delivers
	// from the store's queue.
	"relay": {"store", "webhook"},
	// Zoom's event shapes only, so the reconciler rebuilds lost events
	// without depending on the relay's delivery.
	"relay/zoomevent": nil,
	// The application behind zoomrecon, for tests: it verifies signatures
	// with its own code, so a signing mistake cannot hide on both sides.
	"relay/relaytest": nil,
}

// testHelpers may be imported by any package's tests, which run real
// databases and a fake Zoom instead of mocks.
var testHelpers = []string{"store", "store/storetest", "zoomapi", "zoomapi/zoomtest", "relay/relaytest"}

// TestLayering fails on any import between our packages that STYLE.md forbids.
func TestLayering(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		if strings.HasPrefix(pkg, "cmd/") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("%s: package %q is not in the layering table; add it to allowed", path, pkg)
			return nil
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			dep, ours := strings.CutPrefix(p, module+"/")
			if !ours || dep == pkg {
				continue
			}
			if strings.HasSuffix(path, "_test.go") && slices.Contains(testHelpers, dep) {
				continue
			}
			if !slices.Contains(ok, dep) {
				t.Errorf("%s: %s must not import %s (STYLE.md §1)", path, pkg, dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
