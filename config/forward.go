package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// ForwardDestination is an application zoomrecon forwards events to. It comes
// from the env form (ZOOMRECON_FORWARD_URL and friends, named "default") or
// from an item of the YAML forward list.
type ForwardDestination struct {
	// Name is unique among the destinations and matches [a-z0-9][a-z0-9_-]*.
	// The env form's destination is named "default".
	Name string
	// URL is the absolute http(s) URL the events are POSTed to. It carries no
	// user name or password: the signature authenticates each delivery.
	URL string
	// SecretToken is the destination's own Zoom-style Secret Token: each
	// delivery is signed with it as Zoom signs webhooks (the v0 scheme,
	// zoom-platform.md §2), so the application verifies it as it would Zoom's.
	SecretToken Secret
	// Events are the filters; empty means every event. A filter is an exact
	// event name ("meeting.ended"), a prefix with ".*" ("meeting.*"), or "*".
	Events []string
}

// Matches reports whether event passes the destination's filters.
func (d ForwardDestination) Matches(event string) bool {
	if len(d.Events) == 0 {
		return true
	}
	for _, f := range d.Events {
		switch {
		case f == "*", f == event:
			return true
		case strings.HasSuffix(f, ".*") && strings.HasPrefix(event, f[:len(f)-1]):
			// The prefix keeps its dot: "meeting.*" takes "meeting.ended"
			// but not "meetings.ended".
			return true
		}
	}
	return false
}

const (
	// forwardYAMLKey is the top-level YAML key of the destinations list.
	forwardYAMLKey = "forward"
	// envDestination is the name of the env form's destination.
	envDestination = "default"

	forwardURLKey    = "ZOOMRECON_FORWARD_URL"
	forwardSecretKey = "ZOOMRECON_FORWARD_SECRET_TOKEN"
	forwardEventsKey = "ZOOMRECON_FORWARD_EVENTS"

	forwardURLExample = "https://app.example.com/zoom/events"
	filterForms       = "use an event name as Zoom sends it (e.g. meeting.ended), a prefix ending in .* (e.g. meeting.*), or * for every event"
)

// destinationKeys are the keys of an item of the forward list, in the order
// messages list them.
var destinationKeys = []string{"name", "url", "secret_token", "events"}

// listedSource says where a destination of the YAML list was read and where
// each of its values came from, as Entry.Source spells it. It holds no value,
// so printing a Config cannot reveal one through it.
type listedSource struct {
	line                     int
	url, secretToken, events string
}

// secretEnvName returns the env name that supplies the secret token of the
// YAML destination called name: ZOOMRECON_FORWARD_<NAME>_SECRET_TOKEN.
func secretEnvName(name string) string {
	return "ZOOMRECON_FORWARD_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_SECRET_TOKEN"
}

// validDestinationName reports whether s matches [a-z0-9][a-z0-9_-]*.
func validDestinationName(s string) bool {
	if s == "" || s[0] == '_' || s[0] == '-' {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validEventName reports whether s looks like a Zoom event name: lower-case
// words joined by dots, such as meeting.participant_joined or
// app_deauthorized.
func validEventName(s string) bool {
	for seg := range strings.SplitSeq(s, ".") {
		if seg == "" {
			return false
		}
		for i := range len(seg) {
			if c := seg[i]; !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') && c != '_' {
				return false
			}
		}
	}
	return true
}

// validFilter reports whether f is "*", an event name, or an event name
// followed by ".*".
func validFilter(f string) bool {
	if f == "*" {
		return true
	}
	name, _ := strings.CutSuffix(f, ".*")
	return validEventName(name)
}

// parseFilters trims the filters, drops empty ones and checks the rest. No
// filter left means every event.
func parseFilters(items []string) ([]string, error) {
	var out, bad []string
	for _, it := range items {
		if it = strings.TrimSpace(it); it == "" {
			continue
		}
		if !validFilter(it) {
			bad = append(bad, fmt.Sprintf("%q", it))
		}
		out = append(out, it)
	}
	switch len(bad) {
	case 0:
		return out, nil
	case 1:
		return nil, fmt.Errorf("%s is not an event filter; %s", bad[0], filterForms)
	default:
		return nil, fmt.Errorf("%s and %s are not event filters; %s", strings.Join(bad[:len(bad)-1], ", "), bad[len(bad)-1], filterForms)
	}
}

// showFilters prints filters as they are written, and none as "*".
func showFilters(events []string) string {
	if len(events) == 0 {
		return "*"
	}
	return strings.Join(events, ",")
}

// parseForwardURL takes an absolute http(s) URL without userinfo. Its
// messages show the URL with any userinfo replaced, since it may be a
// password or a token.
func parseForwardURL(s, eg string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil: // url.Error repeats the value
		return "", fmt.Errorf("is not a valid URL; use an absolute http(s) URL, e.g. %s", eg)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "", fmt.Errorf("%q must be an absolute http(s) URL, e.g. %s", hideUserinfo(u), eg)
	case u.User != nil:
		return "", fmt.Errorf("%q must not carry a user name or password: each delivery is signed with the destination's secret token instead; use e.g. %s",
			hideUserinfo(u), eg)
	}
	return s, nil
}

// hideUserinfo prints u with any user name and password replaced by xxxxx.
func hideUserinfo(u *url.URL) string {
	if u.User == nil {
		return u.String()
	}
	v := *u
	v.User = url.User("xxxxx")
	return v.String()
}

// showURL prints a destination's URL for Entries, without userinfo.
func showURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return redacted // cannot tell where a password would be; hide it all
	}
	return hideUserinfo(u)
}

// envForward is a field of the env form's destination. While Load reads the
// keys, that destination is the only one in Config.Forward; the YAML list's
// join it afterwards.
type envForward struct {
	setFunc  func(d *ForwardDestination, s, eg string) error
	showFunc func(d ForwardDestination) string
}

func (f envForward) set(c *Config, s, eg string) error {
	if len(c.Forward) == 0 {
		c.Forward = []ForwardDestination{{Name: envDestination}}
	}
	return f.setFunc(&c.Forward[0], s, eg)
}

func (f envForward) show(c *Config) string {
	d, ok := c.envForward()
	if !ok {
		return ""
	}
	return f.showFunc(d)
}

// envForward returns the env form's destination, when Load found one.
func (c *Config) envForward() (ForwardDestination, bool) {
	if c.sources[forwardURLKey] != sourceEnv || len(c.Forward) == 0 {
		return ForwardDestination{}, false
	}
	return c.Forward[0], true
}

// listedForward returns the destinations of the YAML list: all of Forward,
// less the env form's.
func (c *Config) listedForward() []ForwardDestination {
	if _, ok := c.envForward(); ok {
		return c.Forward[1:]
	}
	return c.Forward
}

var (
	forwardURLField = envForward{
		func(d *ForwardDestination, s, eg string) (err error) { d.URL, err = parseForwardURL(s, eg); return err },
		func(d ForwardDestination) string { return showURL(d.URL) },
	}
	forwardSecretField = envForward{
		func(d *ForwardDestination, s, _ string) error { d.SecretToken = Secret(s); return nil },
		func(d ForwardDestination) string { return d.SecretToken.String() },
	}
	forwardEventsField = envForward{
		func(d *ForwardDestination, s, _ string) (err error) {
			d.Events, err = parseFilters(strings.Split(s, ","))
			return err
		},
		func(d ForwardDestination) string { return showFilters(d.Events) },
	}
)

// forwardEntries returns the Entries of the YAML list's destinations: the env
// form's are rows of the keys table.
func (c *Config) forwardEntries() []Entry {
	var out []Entry
	for _, d := range c.listedForward() {
		src := c.forwardSources[d.Name]
		p := forwardYAMLKey + "[" + d.Name + "]."
		out = append(out,
			Entry{Key: p + "url", YAMLKey: p + "url", Value: showURL(d.URL), Source: src.url},
			Entry{Key: p + "secret_token", YAMLKey: p + "secret_token", Value: d.SecretToken.String(), Source: src.secretToken},
			Entry{Key: p + "events", YAMLKey: p + "events", Value: showFilters(d.Events), Source: src.events},
		)
	}
	return out
}

// forwardReader reads the YAML forward list. Its problems are the file's:
// each names the line and the destination.
type forwardReader struct {
	path     string
	lookup   func(string) (string, bool)
	credDir  string
	problems []Problem
}

func (r *forwardReader) problem(format string, args ...any) {
	r.problems = append(r.problems, Problem{Key: r.path, Message: fmt.Sprintf(format, args...)})
}

// readForward reads the YAML forward list n (nil when the file has none).
// A destination's secret token may come from its own env name, KEY_FILE or
// credential, which win over the file's as the environment does for every
// key.
func readForward(path string, n *yaml.Node, lookup func(string) (string, bool), credDir string) ([]ForwardDestination, map[string]listedSource, []Problem) {
	if n == nil {
		return nil, nil, nil
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	r := &forwardReader{path: path, lookup: lookup, credDir: credDir}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		r.problem("line %d: forward must be a list of destinations, each a mapping of keys: %s", n.Line, strings.Join(destinationKeys, ", "))
		return nil, nil, r.problems
	}
	var dests []ForwardDestination
	sources := map[string]listedSource{}
	byEnvName := map[string]string{} // secret env name → destination name
	for i, item := range n.Content {
		d, src, ok := r.destination(i, item)
		if !ok {
			continue
		}
		if first, dup := sources[d.Name]; dup {
			r.problem("line %d: forward item %d: name %q is already the name of the destination at line %d; give each destination its own name",
				src.line, i+1, d.Name, first.line)
			continue
		}
		env := secretEnvName(d.Name)
		if other, dup := byEnvName[env]; dup {
			r.problem("line %d: forward[%s]: its secret token's variable %s is also forward[%s]'s (line %d); rename one of them",
				src.line, d.Name, env, other, sources[other].line)
			continue
		}
		byEnvName[env] = d.Name
		sources[d.Name] = src
		dests = append(dests, d)
	}
	return dests, sources, r.problems
}

// destination reads item i of the forward list. ok is false when it has no
// valid name, so it cannot be told apart from the others.
func (r *forwardReader) destination(i int, item *yaml.Node) (d ForwardDestination, src listedSource, ok bool) {
	if item.Kind == yaml.AliasNode {
		item = item.Alias
	}
	src.line = item.Line
	label := fmt.Sprintf("forward item %d", i+1)
	if item.Kind != yaml.MappingNode {
		r.problem("line %d: %s must be a mapping of keys: %s", item.Line, label, strings.Join(destinationKeys, ", "))
		return d, src, false
	}

	// Collect the values first: the name labels every other message.
	vals := map[string]*yaml.Node{}
	var unknown, repeated []*yaml.Node
	for j := 0; j+1 < len(item.Content); j += 2 {
		kn, v := item.Content[j], item.Content[j+1]
		if v.Kind == yaml.AliasNode {
			v = v.Alias
		}
		switch {
		case !slices.Contains(destinationKeys, kn.Value):
			unknown = append(unknown, kn)
		case vals[kn.Value] != nil:
			repeated = append(repeated, kn)
		default:
			vals[kn.Value] = v
		}
	}

	named := true
	switch name, msg := scalar(vals["name"]); {
	case msg != "":
		r.problem("line %d: %s: name %s, e.g. billing", vals["name"].Line, label, msg)
		named = false
	case name == "":
		r.problem("line %d: %s has no name; give each destination its own, e.g. name: billing", item.Line, label)
		named = false
	case !validDestinationName(name):
		r.problem("line %d: %s: name %q must be lower-case letters, digits, _ and -, starting with a letter or digit, e.g. billing",
			vals["name"].Line, label, name)
		named = false
	default:
		d.Name = name
		label = forwardYAMLKey + "[" + name + "]"
	}

	for _, kn := range unknown {
		r.problem("line %d: unknown key %q in %s; known keys in a destination: %s", kn.Line, kn.Value, label, strings.Join(destinationKeys, ", "))
	}
	for _, kn := range repeated {
		r.problem("line %d: key %q appears twice in %s", kn.Line, kn.Value, label)
	}

	switch u, msg := scalar(vals["url"]); {
	case msg != "":
		r.problem("line %d: %s.url %s, e.g. %s", vals["url"].Line, label, msg, forwardURLExample)
	case u == "":
		r.problem("line %d: %s has no url; set it to the absolute http(s) URL the events are POSTed to, e.g. %s", item.Line, label, forwardURLExample)
	default:
		var err error
		if d.URL, err = parseForwardURL(u, forwardURLExample); err != nil {
			r.problem("line %d: %s.url: %s", vals["url"].Line, label, err)
		}
		src.url = sourceYAML
	}

	src.events = sourceDefault
	if n := vals["events"]; n != nil {
		items, msg := stringList(n)
		if msg != "" {
			r.problem("line %d: %s.events %s", n.Line, label, msg)
		} else if events, err := parseFilters(items); err != nil {
			r.problem("line %d: %s.events: %s", n.Line, label, err)
		} else if events != nil {
			d.Events, src.events = events, sourceYAML
		}
	}

	secret, msg := scalar(vals["secret_token"])
	if msg != "" {
		// Never echo the value, nor show an example of one.
		r.problem("line %d: %s.secret_token %s", vals["secret_token"].Line, label, msg)
	}
	if !named {
		// The env name that could supply the secret depends on the name.
		return d, src, false
	}
	env := secretEnvName(d.Name)
	in, p := resolve(&key{env: env, secret: true}, r.lookup, r.credDir, nil)
	switch {
	case p != nil:
		r.problems = append(r.problems, *p)
	case in.text != "":
		d.SecretToken, src.secretToken = Secret(in.text), in.source
	case secret != "":
		d.SecretToken, src.secretToken = Secret(secret), sourceYAML
	case msg == "":
		r.problem("line %d: %s has no secret_token; set secret_token, or %s, %s_FILE or the credential %s, to the Secret Token the application verifies deliveries with",
			item.Line, label, env, env, env)
	}
	return d, src, true
}

// scalar returns a YAML string value, "" for a missing or null one, or a
// message ("must be a single value") for anything else.
func scalar(n *yaml.Node) (string, string) {
	switch {
	case n == nil, n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return "", ""
	case n.Kind == yaml.ScalarNode:
		return n.Value, ""
	default:
		return "", "must be a single value"
	}
}

// stringList returns a YAML list of strings, or a single string split at
// commas as the environment's value would be, or a message.
func stringList(n *yaml.Node) ([]string, string) {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return nil, ""
	case n.Kind == yaml.ScalarNode:
		return strings.Split(n.Value, ","), ""
	case n.Kind == yaml.SequenceNode:
		items := make([]string, 0, len(n.Content))
		for _, it := range n.Content {
			if it.Kind == yaml.AliasNode {
				it = it.Alias
			}
			if it.Kind != yaml.ScalarNode {
				return nil, fmt.Sprintf("items must be strings, e.g. %q", "meeting.*")
			}
			items = append(items, it.Value)
		}
		return items, ""
	default:
		return nil, `must be a list of event filters, e.g. [meeting.ended, "webinar.*"]`
	}
}

// checkForward validates the env form and what ties it to the YAML list and
// the other forward keys. The env form's destination is Forward[0] while
// Load has not yet added the list's.
func (c *Config) checkForward(failed map[string]bool, path string, listed map[string]listedSource) []Problem {
	var problems []Problem
	urlSet := c.sources[forwardURLKey] == sourceEnv
	switch {
	case failed[forwardURLKey]:
		// its value is unknown
	case urlSet:
		if !failed[forwardSecretKey] && c.Forward[0].SecretToken == "" {
			problems = append(problems, Problem{Key: forwardSecretKey, Message: fmt.Sprintf(
				"required when %s is set; set %s, %s_FILE or the credential %s to the Secret Token the application verifies deliveries with",
				forwardURLKey, forwardSecretKey, forwardSecretKey, forwardSecretKey)})
		}
		if d, ok := listed[envDestination]; ok {
			problems = append(problems, Problem{Key: forwardURLKey, Message: fmt.Sprintf(
				"sets the destination named %q, and the forward list in %s has one named %q too (line %d); rename that one, or move this destination into the list",
				envDestination, path, envDestination, d.line)})
		}
	default:
		for _, k := range []string{forwardSecretKey, forwardEventsKey} {
			if src := c.sources[k]; src != "" && src != sourceDefault && !failed[k] {
				problems = append(problems, Problem{Key: k, Message: fmt.Sprintf(
					"is only used with %s; set %s (e.g. %s) or %s", forwardURLKey, forwardURLKey, forwardURLExample, unsetHint(k, src))})
			}
		}
	}

	if !failed["ZOOMRECON_FORWARD_TIMEOUT"] && !failed["ZOOMRECON_FORWARD_GIVE_UP_AFTER"] && c.ForwardTimeout >= c.ForwardGiveUpAfter {
		problems = append(problems, Problem{Key: "ZOOMRECON_FORWARD_TIMEOUT", Message: fmt.Sprintf(
			"%q is not shorter than ZOOMRECON_FORWARD_GIVE_UP_AFTER (%s): a delivery would be given up before its first request timed out; use e.g. 10s",
			formatDuration(c.ForwardTimeout), formatDuration(c.ForwardGiveUpAfter))})
	}
	return problems
}

// unsetHint says how to remove a value that came from src.
func unsetHint(k, src string) string {
	switch src {
	case sourceEnvFile:
		return "unset " + k + "_FILE"
	case sourceCredentials:
		return "remove the credential " + k
	default:
		return "unset " + k
	}
}
