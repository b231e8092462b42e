package stack_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/srbackup/srbackup/infra/stack"
)

// The tests synthesize the real stack (with placeholder Lambda zips, so they
// do not depend on `make build`) from the real cdk.json context and the real
// statemachine/backup.asl.json.
var (
	repoRoot   string
	zipDir     string
	outRoot    string
	cdkContext map[string]any
)

func TestMain(m *testing.M) {
	// The CDK's built-in template validator costs seconds per synth; the
	// templates are validated once, by TestTemplatesPassCloudFormationValidate.
	// jsii captures the environment when its runtime starts, so restart it.
	os.Setenv("CDK_VALIDATION", "false")
	os.Setenv("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
	if !raceEnabled { // jsii.Close trips the race detector
		jsii.Close()
	}
	code, err := run(m)
	jsii.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	var err error
	if repoRoot, err = stack.RepoRoot("."); err != nil {
		return 0, err
	}
	if outRoot, err = os.MkdirTemp("", "srbackup-infra-test-"); err != nil {
		return 0, err
	}
	defer func() {
		if os.Getenv("KEEP_OUT") == "" {
			os.RemoveAll(outRoot)
		}
	}()
	zipDir = filepath.Join(outRoot, "lambda")
	if err := stack.WritePlaceholderBundles(zipDir); err != nil {
		return 0, err
	}
	b, err := os.ReadFile(filepath.Join(repoRoot, "cdk.json"))
	if err != nil {
		return 0, err
	}
	var cdk struct {
		App     string         `json:"app"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(b, &cdk); err != nil {
		return 0, fmt.Errorf("cdk.json: %w", err)
	}
	cdkContext = cdk.Context
	return m.Run(), nil
}

// synthesized is one synthesized template.
type synthesized struct {
	name   string
	path   string         // the template file
	json   map[string]any // its content
	assert assertions.Template
	// messages are the stack's annotations: cdk-nag findings and CDK warnings.
	messages []message
	// paths maps logical ids to construct paths.
	paths map[string]string
	stack *stack.Stack
}

// newApp returns an app with cdk.json's context, the placeholder zips and overrides.
func newApp(outdir string, overrides map[string]any) awscdk.App {
	ctx := maps.Clone(cdkContext)
	ctx[stack.CtxLambdaZipDir] = zipDir
	maps.Copy(ctx, overrides)
	return awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir), Context: &ctx})
}

func configOf(app awscdk.App) (stack.Config, error) {
	return stack.ConfigFromContext(func(key string) any {
		return app.Node().TryGetContext(jsii.String(key))
	}, repoRoot)
}

// synth synthesizes the stack for the given context overrides.
func synth(name string, overrides map[string]any) (*synthesized, error) {
	outdir := filepath.Join(outRoot, name)
	app := newApp(outdir, overrides)
	cfg, err := configOf(app)
	if err != nil {
		return nil, err
	}
	st, err := stack.New(app, cfg, nil)
	if err != nil {
		return nil, err
	}
	// Every fixture is also checked by cdk-nag (TestAwsSolutions): an
	// aspect adds annotations only, so the template is the same.
	stack.CheckAwsSolutions(app, false, true)
	// An unsuppressed cdk-nag error fails the synth (cdk.json's
	// @aws-cdk/core:annotationsInValidationReport) after the template and
	// the validation report are written: keep both, so that TestAwsSolutions
	// lists the findings and the other tests still run.
	path := filepath.Join(outdir, *st.ArtifactId()+".template.json")
	var findings []message
	if err := catch(func() { app.Synth(nil) }); err != nil {
		if findings, _ = readValidationReport(outdir); len(findings) == 0 {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := &synthesized{name: name, path: path, stack: st}
	if err := json.Unmarshal(b, &s.json); err != nil {
		return nil, err
	}
	s.assert = assertions.Template_FromJSON(&s.json, nil)
	if s.messages, err = readMessages(outdir, *st.ArtifactId()); err != nil {
		return nil, err
	}
	// The report repeats the errors of the metadata; keep one of each.
	for _, f := range findings {
		if !slices.Contains(s.messages, f) {
			s.messages = append(s.messages, f)
		}
	}
	s.paths = map[string]string{}
	for _, m := range s.messages {
		if m.Level == "logicalId" {
			s.paths[m.Text] = m.Path
		}
	}
	return s, nil
}

// readValidationReport returns the violations of a failed synth's report.
func readValidationReport(outdir string) ([]message, error) {
	b, err := os.ReadFile(filepath.Join(outdir, "validation-report.json"))
	if err != nil {
		return nil, err
	}
	var report struct {
		PluginReports []struct {
			Violations []struct {
				Description         string `json:"description"`
				Severity            string `json:"severity"`
				ViolatingConstructs []struct {
					ConstructPath string `json:"constructPath"`
				} `json:"violatingConstructs"`
			} `json:"violations"`
		} `json:"pluginReports"`
	}
	if err := json.Unmarshal(b, &report); err != nil {
		return nil, fmt.Errorf("validation-report.json: %w", err)
	}
	var out []message
	for _, p := range report.PluginReports {
		for _, v := range p.Violations {
			for _, c := range v.ViolatingConstructs {
				out = append(out, message{Level: v.Severity, Path: "/" + c.ConstructPath, Text: strings.TrimSpace(v.Description)})
			}
		}
	}
	return out, nil
}

// message is one annotation of the synthesized stack.
type message struct {
	Level string // "error", "warning" or "info"; "logicalId" names a resource's logical id
	Path  string // construct path
	Text  string
}

// metadataEntries maps construct paths to their metadata entries.
type metadataEntries map[string][]struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

// readMessages reads a stack's annotations from the cloud assembly: the
// manifest's metadata, or the file it names (additionalMetadataFile).
func readMessages(outdir, artifactID string) ([]message, error) {
	b, err := os.ReadFile(filepath.Join(outdir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var manifest struct {
		Artifacts map[string]struct {
			Metadata               metadataEntries `json:"metadata"`
			AdditionalMetadataFile string          `json:"additionalMetadataFile"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		return nil, fmt.Errorf("manifest.json: %w", err)
	}
	art, ok := manifest.Artifacts[artifactID]
	if !ok {
		return nil, fmt.Errorf("manifest.json has no artifact %s", artifactID)
	}
	metadata := art.Metadata
	if art.AdditionalMetadataFile != "" {
		b, err := os.ReadFile(filepath.Join(outdir, art.AdditionalMetadataFile))
		if err != nil {
			return nil, err
		}
		var more metadataEntries
		if err := json.Unmarshal(b, &more); err != nil {
			return nil, fmt.Errorf("%s: %w", art.AdditionalMetadataFile, err)
		}
		if metadata == nil {
			metadata = metadataEntries{}
		}
		for path, entries := range more {
			metadata[path] = append(metadata[path], entries...)
		}
	}
	if len(metadata) == 0 {
		return nil, fmt.Errorf("no metadata for %s in the cloud assembly: where did the annotations go?", artifactID)
	}
	var out []message
	for path, entries := range metadata {
		for _, e := range entries {
			if id, ok := e.Data.(string); ok && e.Type == "aws:cdk:logicalId" {
				out = append(out, message{Level: "logicalId", Path: path, Text: id})
			}
			level, ok := strings.CutPrefix(e.Type, "aws:cdk:")
			if !ok || (level != "error" && level != "warning" && level != "info") {
				continue
			}
			text, isString := e.Data.(string)
			if !isString {
				b, _ := json.Marshal(e.Data)
				text = string(b)
			}
			out = append(out, message{Level: level, Path: path, Text: strings.TrimSpace(text)})
		}
	}
	slices.SortFunc(out, func(a, b message) int { return strings.Compare(a.Path+a.Text, b.Path+b.Text) })
	return out, nil
}

// fixture synthesizes once per test binary and shares the result.
type fixture struct {
	name      string
	overrides map[string]any
	once      sync.Once
	s         *synthesized
	err       error
}

func (f *fixture) get(t *testing.T) *synthesized {
	t.Helper()
	f.once.Do(func() { f.s, f.err = synth(f.name, f.overrides) })
	if f.err != nil {
		t.Fatalf("synthesizing the %s stack: %v", f.name, f.err)
	}
	return f.s
}

// catch turns a panic (a failed CDK assertion panics) into an error.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

// must runs a CDK assertion and fails the test, instead of the binary, when it fails.
func must(t *testing.T, what string, assertion func()) {
	t.Helper()
	if err := catch(assertion); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}

// resources returns the logical ids and resources of a type, sorted by id.
func (s *synthesized) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range s.json["Resources"].(map[string]any) {
		res := r.(map[string]any)
		if res["Type"] == typ {
			out[id] = res
		}
	}
	return out
}

// resource returns the only resource of a type whose logical id starts with
// the construct id prefix (the CDK appends a hash).
func (s *synthesized) resource(t *testing.T, typ, prefix string) (string, map[string]any) {
	t.Helper()
	re := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "[0-9A-F]{8}$")
	var ids []string
	for id := range s.resources(typ) {
		if re.MatchString(id) {
			ids = append(ids, id)
		}
	}
	if len(ids) != 1 {
		t.Fatalf("%s: want one %s with logical id %s<hash>, found %v", s.name, typ, prefix, ids)
	}
	return ids[0], s.resources(typ)[ids[0]]
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// render writes a template value as a readable string: {"Ref": "X"} is
// ${X}, {"Fn::GetAtt": ["X", "Arn"]} is ${X.Arn}, a Join is concatenated,
// pseudo parameters are ${AWS::…}; anything else is its JSON.
func render(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		if ref, ok := x["Ref"].(string); ok && len(x) == 1 {
			return "${" + ref + "}"
		}
		if ga, ok := x["Fn::GetAtt"].([]any); ok && len(x) == 1 {
			return "${" + ga[0].(string) + "." + ga[1].(string) + "}"
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(x) == 1 {
			var parts []string
			for _, p := range j[1].([]any) {
				parts = append(parts, render(p))
			}
			return strings.Join(parts, j[0].(string))
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func strs(v any) []string {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, render(e))
		}
		return out
	default:
		return []string{render(x)}
	}
}

// statement is one IAM policy statement, rendered.
type statement struct {
	Effect    string
	Actions   []string
	Resources []string
	Condition any
}

func statementsOf(doc any) []statement {
	var out []statement
	d, _ := doc.(map[string]any)
	for _, raw := range d["Statement"].([]any) {
		st := raw.(map[string]any)
		out = append(out, statement{
			Effect:    st["Effect"].(string),
			Actions:   strs(st["Action"]),
			Resources: strs(st["Resource"]),
			Condition: st["Condition"],
		})
	}
	return out
}

// rolePolicies returns every statement of the inline policies attached to a
// role, and the role's managed policy ARNs.
func (s *synthesized) rolePolicies(roleID string) (stmts []statement, managed []string) {
	ids := slices.Sorted(maps.Keys(s.resources("AWS::IAM::Policy")))
	for _, id := range ids {
		p := props(s.resources("AWS::IAM::Policy")[id])
		if slices.Contains(strs(p["Roles"]), "${"+roleID+"}") {
			stmts = append(stmts, statementsOf(p["PolicyDocument"])...)
		}
	}
	role := props(s.json["Resources"].(map[string]any)[roleID].(map[string]any))
	for _, inline := range asSlice(role["Policies"]) {
		stmts = append(stmts, statementsOf(inline.(map[string]any)["PolicyDocument"])...)
	}
	return stmts, strs(role["ManagedPolicyArns"])
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// actions is the set of actions the statements allow.
func actions(stmts []statement) []string {
	set := map[string]bool{}
	for _, st := range stmts {
		if st.Effect == "Allow" {
			for _, a := range st.Actions {
				set[a] = true
			}
		}
	}
	out := slices.Collect(maps.Keys(set))
	sort.Strings(out)
	return out
}

// resourcesFor is every resource the statements allow an action on.
func resourcesFor(stmts []statement, action string) []string {
	var out []string
	for _, st := range stmts {
		if st.Effect == "Allow" && slices.Contains(st.Actions, action) {
			out = append(out, st.Resources...)
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
