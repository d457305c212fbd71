package webhook_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fieldExceptions are the fixture fields that differ from the reference on
// purpose, each because zoom-platform.md documents the difference.
var fieldExceptions = map[string]string{
	// §4: some deliveries carry the meeting id as a JSON number.
	"meeting.ended.numeric_id.json payload.object.id": "number",
	// §4: webinar events may carry practice_session, which the generated
	// types leave out.
	"webinar.ended.json payload.object.practice_session": "boolean",
}

// TestFixturesMatchZoomReference holds every payload fixture to the field
// names and types of zoom-api-reference.json, which is taken from the types
// Zoom generates from its own specifications: a fixture that invents a field
// or gets a type wrong would let the handler pass against a Zoom that does not
// exist.
func TestFixturesMatchZoomReference(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "testdata", "zoom", "zoom-api-reference.json"))
	require.NoError(t, err)
	var ref struct {
		WebhookEvents map[string]map[string]string `json:"webhook_events"`
	}
	require.NoError(t, json.Unmarshal(raw, &ref))
	require.NotEmpty(t, ref.WebhookEvents)

	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			body, err := os.ReadFile(file)
			require.NoError(t, err)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(body, &doc))
			event, _ := doc["event"].(string)
			fields, ok := ref.WebhookEvents[event]
			if event == "endpoint.url_validation" {
				// Not a subscribable event, so not in the reference; its shape is
				// zoom-platform.md §2: payload.plainToken and event_ts only.
				fields, ok = map[string]string{
					"event": "string", "event_ts": "number", "payload": "object", "payload.plainToken": "string",
				}, true
			}
			require.True(t, ok, "event %q is not in the reference", event)
			got := map[string]string{}
			flatten("", doc, got)
			require.NotEmpty(t, got)
			for path, typ := range got {
				want, known := fields[path]
				if exc, ok := fieldExceptions[name+" "+path]; ok {
					want, known = exc, true
				}
				require.True(t, known, "%s is not a field of %s in the reference", path, event)
				require.Equal(t, want, typ, "type of %s", path)
			}
		})
	}
}

// flatten records the JSON type of every field under dotted paths, with []
// marking the objects of an array, as the reference writes them.
func flatten(prefix string, v any, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		if prefix != "" {
			out[prefix] = "object"
		}
		for k, child := range v {
			flatten(strings.TrimPrefix(prefix+"."+k, "."), child, out)
		}
	case []any:
		for _, child := range v {
			flatten(prefix+"[]", child, out)
		}
	case string:
		out[prefix] = "string"
	case float64:
		out[prefix] = "number"
	case bool:
		out[prefix] = "boolean"
	}
}
