package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestSecret(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		secret Secret
		want   string // every printed or marshalled form
	}{
		{"SetIsRedacted", "hunter2", "<redacted>"},
		{"EmptyIsEmpty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := tt.secret

			if got := s.Reveal(); got != string(tt.secret) {
				t.Errorf("Reveal: got %q, want %q", got, string(tt.secret))
			}
			printed := map[string]string{
				"String":   s.String(),
				"GoString": s.GoString(),
				"LogValue": s.LogValue().String(),
				"%v":       fmt.Sprintf("%v", s),
				//lint:ignore S1025 the point is what fmt prints for %s
				"%s":     fmt.Sprintf("%s", s),
				"%+v":    fmt.Sprintf("%+v", s),
				"%#v":    fmt.Sprintf("%#v", s),
				"%v ptr": fmt.Sprintf("%v", &s),
			}
			for what, got := range printed {
				if got != tt.want {
					t.Errorf("%s: got %q, want %q", what, got, tt.want)
				}
			}
			if got, want := fmt.Sprintf("%q", s), fmt.Sprintf("%q", tt.want); got != want {
				t.Errorf("%%q: got %s, want %s", got, want)
			}

			js, err := json.Marshal(map[string]any{"s": s, "list": []Secret{s}})
			if err != nil {
				t.Fatal(err)
			}
			wantJS, _ := json.Marshal(tt.want) // json escapes < and >
			if want := fmt.Sprintf(`{"list":[%s],"s":%s}`, wantJS, wantJS); string(js) != want {
				t.Errorf("json.Marshal: got %s, want %s", js, want)
			}
			ys, err := yaml.Marshal(map[string]Secret{"s": s})
			if err != nil {
				t.Fatal(err)
			}
			if want := "s: " + map[string]string{"": `""`, "<redacted>": "<redacted>"}[tt.want] + "\n"; string(ys) != want {
				t.Errorf("yaml.Marshal: got %q, want %q", ys, want)
			}
			text, err := s.MarshalText()
			if err != nil || string(text) != tt.want {
				t.Errorf("MarshalText: got %q, %v; want %q", text, err, tt.want)
			}

			var logs bytes.Buffer
			slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "secret", s)
			if want := fmt.Sprintf(`"secret":%q`, tt.want); !strings.Contains(logs.String(), want) {
				t.Errorf("slog JSON: got %s, want it to contain %s", logs.String(), want)
			}
			if tt.secret != "" && strings.Contains(logs.String()+string(js)+string(ys), string(tt.secret)) {
				t.Errorf("output reveals %q", string(tt.secret))
			}
		})
	}
}
