package config

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// TestExampleEnvFileLoads proves deploy/zoomrecon.env.example, which the
// packages install as /etc/zoomrecon/zoomrecon.env, loads as shipped: serve
// starts with it before any key is filled in.
func TestExampleEnvFileLoads(t *testing.T) {
	t.Parallel()

	vars := readEnvFile(t, "../deploy/zoomrecon.env.example")
	if len(vars) == 0 {
		t.Fatal("got no variables from the example env file")
	}
	for k := range vars {
		if knownKey(k) {
			continue
		}
		t.Errorf("got unknown key %s in the example env file", k)
	}
	// systemd adds CREDENTIALS_DIRECTORY only with LoadCredential=, which the
	// shipped unit leaves commented out.
	cfg, err := Load("", func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	if err != nil {
		t.Fatalf("Load(example env): got %v, want no error", err)
	}
	if got, want := cfg.ListenAddr, ":8080"; got != want {
		t.Errorf("ListenAddr: got %q, want %q", got, want)
	}
}

// readEnvFile reads KEY=VALUE lines as systemd's EnvironmentFile= does for
// the plain lines the example uses: blank lines and # comments are skipped.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: got line %q, want KEY=VALUE", path, line)
		}
		vars[strings.TrimSpace(k)] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vars
}

func knownKey(env string) bool {
	for _, k := range keys {
		if k.env == env {
			return true
		}
	}
	return false
}
