package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads an optional YAML file (path "" = none) and overlays the
// environment from lookup, usually os.LookupEnv. It returns every problem
// at once as a *ValidationError.
func Load(path string, lookup func(string) (string, bool)) (*Config, error) {
	var problems []Problem
	var doc map[string]*yaml.Node
	if path != "" {
		var fatal bool
		doc, problems, fatal = readYAML(path)
		if fatal {
			// Without the file's values, checks on the rest would only add noise.
			return nil, &ValidationError{Problems: problems}
		}
	}
	credDir, _ := lookup("CREDENTIALS_DIRECTORY")
	listed, listedSources, fp := readForward(path, doc[forwardYAMLKey], lookup, credDir)
	problems = append(problems, fp...)

	c := &Config{sources: make(map[string]string, len(keys))}
	failed := map[string]bool{}
	for i := range keys {
		k := &keys[i]
		in, p := resolve(k, lookup, credDir, doc)
		if p != nil {
			problems = append(problems, *p)
			failed[k.env] = true
			continue
		}
		c.sources[k.env] = in.source
		var err error
		switch {
		case in.items != nil:
			err = k.field.(listField).setList(c, in.items)
		case in.text != "":
			err = k.field.set(c, in.text, k.eg())
		}
		if err != nil {
			p := Problem{Key: k.env, Message: err.Error()}
			if in.source == sourceYAML {
				p.YAMLKey = k.yaml
			}
			problems = append(problems, p)
			failed[k.env] = true
		}
	}
	problems = append(problems, c.checkForward(failed, path, listedSources)...)
	c.Forward = append(c.Forward, listed...)
	c.forwardSources = listedSources
	problems = append(problems, c.check(failed)...)
	if len(problems) > 0 {
		return nil, &ValidationError{Problems: problems}
	}
	return c, nil
}

// input is a key's raw value and where it came from.
type input struct {
	source string
	text   string
	items  []string // set only for a YAML sequence
}

// resolve finds a key's value in precedence order: KEY, KEY_FILE,
// $CREDENTIALS_DIRECTORY/KEY, YAML, default. An empty value counts as unset.
func resolve(k *key, lookup func(string) (string, bool), credDir string, doc map[string]*yaml.Node) (input, *Problem) {
	env, _ := lookup(k.env)
	var file string
	if k.secret {
		file, _ = lookup(k.env + "_FILE")
	}
	switch {
	case env != "" && file != "":
		return input{}, &Problem{Key: k.env, Message: fmt.Sprintf("set either %s or %s_FILE, not both", k.env, k.env)}
	case env != "":
		return input{source: sourceEnv, text: env}, nil
	case file != "":
		s, err := readSecretFile(file)
		if err != nil {
			return input{}, &Problem{Key: k.env + "_FILE", Message: fmt.Sprintf("cannot read %q: %s", file, reason(err))}
		}
		if s != "" {
			return input{source: sourceEnvFile, text: s}, nil
		}
	}
	if k.secret && credDir != "" {
		name := filepath.Join(credDir, k.env)
		s, err := readSecretFile(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return input{}, &Problem{Key: k.env, Message: fmt.Sprintf("cannot read credential %q: %s", name, reason(err))}
		case s != "":
			return input{source: sourceCredentials, text: s}, nil
		}
	}
	if n := doc[k.yaml]; k.yaml != "" && n != nil {
		in, msg := yamlInput(k, n)
		if msg != "" {
			return input{}, &Problem{Key: k.env, YAMLKey: k.yaml, Message: msg}
		}
		if in.text != "" || in.items != nil {
			return in, nil
		}
	}
	return input{source: sourceDefault, text: k.def}, nil
}

// readSecretFile returns a file's content without the trailing newline that
// editors and `echo` add.
func readSecretFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	return strings.TrimRight(string(b), " \t\r\n"), err
}

// reason returns err without the path that *fs.PathError repeats.
func reason(err error) string {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// yamlInput turns a YAML value into a key's input, or returns a message.
func yamlInput(k *key, n *yaml.Node) (input, string) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	_, isList := k.field.(listField)
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag == "!!null":
		return input{}, ""
	case n.Kind == yaml.ScalarNode:
		return input{source: sourceYAML, text: n.Value}, ""
	case n.Kind == yaml.SequenceNode && isList:
		items := make([]string, 0, len(n.Content))
		for _, it := range n.Content {
			if it.Kind != yaml.ScalarNode {
				return input{}, fmt.Sprintf("line %d: list items must be strings", it.Line)
			}
			items = append(items, it.Value)
		}
		return input{source: sourceYAML, items: items}, ""
	case isList:
		return input{}, fmt.Sprintf("line %d: must be a string or a list of strings", n.Line)
	case k.secret:
		return input{}, fmt.Sprintf("line %d: must be a single value", n.Line)
	default:
		return input{}, fmt.Sprintf("line %d: must be a single value, e.g. %s", n.Line, k.eg())
	}
}

// readYAML returns the file's values by dotted key. fatal means the file
// could not be read or parsed at all.
func readYAML(path string) (doc map[string]*yaml.Node, problems []Problem, fatal bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, []Problem{{Key: path, Message: "cannot read config file: " + reason(err)}}, true
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		// yaml.v3 syntax errors give a line and a reason, not the content.
		return nil, []Problem{{Key: path, Message: err.Error()}}, true
	}
	r := yamlReader{path: path, vals: map[string]*yaml.Node{}}
	if len(root.Content) > 0 { // an empty file has no content
		top := root.Content[0]
		switch {
		case top.Kind == yaml.MappingNode:
			r.mapping(top, "")
		case top.Kind != yaml.ScalarNode || top.Tag != "!!null":
			return nil, []Problem{{Key: path, Message: fmt.Sprintf("line %d: must be a mapping of keys, e.g. listen_addr: \":8080\"", top.Line)}}, true
		}
	}
	return r.vals, r.problems, false
}

// yamlReader checks a YAML file's keys against the keys table, so the
// decoding is strict: an unknown or repeated key is a problem.
type yamlReader struct {
	path     string
	vals     map[string]*yaml.Node
	problems []Problem
}

func (r *yamlReader) mapping(n *yaml.Node, prefix string) {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, v := n.Content[i], n.Content[i+1]
		name := prefix + kn.Value
		sub := children(name + ".")
		switch {
		case seen[name]:
			r.problem("line %d: key %q appears twice", kn.Line, name)
		case name == forwardYAMLKey:
			r.vals[name] = v // a list, which readForward reads
		case name != "" && slices.ContainsFunc(keys, func(k key) bool { return k.yaml == name }):
			r.vals[name] = v
		case len(sub) > 0 && v.Kind == yaml.MappingNode:
			r.mapping(v, name+".")
		case len(sub) > 0 && (v.Kind != yaml.ScalarNode || v.Tag != "!!null"):
			r.problem("line %d: %s must be a mapping of keys: %s", v.Line, name, strings.Join(sub, ", "))
		case len(sub) == 0:
			where := "known keys"
			if prefix != "" {
				where += " under " + strings.TrimSuffix(prefix, ".")
			}
			r.problem("line %d: unknown key %q; %s: %s", kn.Line, name, where, strings.Join(children(prefix), ", "))
		}
		seen[name] = true
	}
}

func (r *yamlReader) problem(format string, args ...any) {
	r.problems = append(r.problems, Problem{Key: r.path, Message: fmt.Sprintf(format, args...)})
}

// children lists, in table order, the YAML key segments directly under prefix
// ("" for the top level, "zoom." for the zoom section). At the top level the
// forward list comes before the keys that tune it.
func children(prefix string) []string {
	var out []string
	for _, k := range keys {
		rest, ok := strings.CutPrefix(k.yaml, prefix)
		if !ok || k.yaml == "" {
			continue
		}
		first, _, _ := strings.Cut(rest, ".")
		if prefix == "" && strings.HasPrefix(first, forwardYAMLKey+"_") && !slices.Contains(out, forwardYAMLKey) {
			out = append(out, forwardYAMLKey)
		}
		if !slices.Contains(out, first) {
			out = append(out, first)
		}
	}
	return out
}
