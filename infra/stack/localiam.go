package stack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"

	"github.com/srbackup/srbackup/localstack/iam"
)

// LocalPolicies returns the identity policies of the stack's roles, read
// from its synthesized template, with every intrinsic (Ref, Fn::GetAtt,
// Fn::Join, Fn::Select, Fn::Split, pseudo parameters) resolved to the local
// stack's ARNs: functions by name, the state machines as "backup" and
// "restore", the table and the bucket as iam.Table and iam.Bucket. The local
// stack enforces them (localstack/iam embeds the result), so they are the
// policies that deploy, not a second list. A resource with no local
// counterpart (log groups, the secret) resolves to "local:unresolved:<id>",
// which matches nothing.
func (s *Stack) LocalPolicies(template map[string]any) ([]byte, error) {
	res, _ := template["Resources"].(map[string]any)
	if res == nil {
		return nil, fmt.Errorf("local policies: the template has no Resources")
	}
	r := &resolver{refs: map[string]string{}, attrs: map[string]map[string]string{}}
	roles := map[string]string{} // role logical id → local role name
	for name, fn := range s.Functions {
		r.add(logicalID(s, fn), name, map[string]string{"Arn": iam.FunctionARN(name)})
		roles[logicalID(s, fn.Role())] = name
	}
	for _, m := range machines {
		sm := s.StateMachine
		if m.kind == restoreMachine.kind {
			sm = s.RestoreStateMachine
		}
		arn := iam.StateMachineARN(m.kind)
		r.add(logicalID(s, sm), arn, map[string]string{"Arn": arn, "Name": m.kind})
		roles[logicalID(s, sm.Role())] = iam.StateMachineRole(m.kind)
	}
	if s.SweepScheduleRole != nil {
		// EventBridge Scheduler's role: the local stack has no scheduler
		// (tests invoke the sweep themselves), but its policy is listed.
		roles[logicalID(s, s.SweepScheduleRole)] = "schedule:sweep"
	}
	r.add(logicalID(s, s.Table), iam.Table, map[string]string{"Arn": iam.TableARN(iam.Table)})
	if s.Bucket.Node().DefaultChild() != nil {
		r.add(logicalID(s, s.Bucket), iam.Bucket, map[string]string{"Arn": "arn:aws:s3:::" + iam.Bucket})
	}

	out := iam.Policies{Roles: map[string][]iam.Statement{}, Invokers: []iam.Permission{}}
	ids := make([]string, 0, len(res))
	for id := range res {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rsc, _ := res[id].(map[string]any)
		props, _ := rsc["Properties"].(map[string]any)
		switch rsc["Type"] {
		case "AWS::IAM::Role":
			if roles[id] == "" {
				return nil, fmt.Errorf("local policies: role %s belongs to no function or state machine", id)
			}
			if props["Policies"] != nil || props["ManagedPolicyArns"] != nil {
				return nil, fmt.Errorf("local policies: role %s has inline or managed policies, which the generator does not read", id)
			}
			if out.Roles[roles[id]] == nil {
				out.Roles[roles[id]] = []iam.Statement{}
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			refs, _ := props["Roles"].([]any)
			if len(refs) == 0 {
				continue // a managed policy for callers (ApiInvokePolicy), attached to nobody here
			}
			stmts, err := r.statements(id, props["PolicyDocument"])
			if err != nil {
				return nil, err
			}
			for _, ref := range refs {
				m, _ := ref.(map[string]any)
				rid, _ := m["Ref"].(string)
				name := roles[rid]
				if name == "" {
					return nil, fmt.Errorf("local policies: policy %s is attached to %v, not a role of the stack", id, ref)
				}
				out.Roles[name] = append(out.Roles[name], stmts...)
			}
		case "AWS::Lambda::Permission":
			p := iam.Permission{}
			var err error
			if p.Principal, err = r.str(props["Principal"]); err == nil {
				if p.Action, err = r.str(props["Action"]); err == nil {
					p.Resource, err = r.str(props["FunctionName"])
				}
			}
			if err != nil {
				return nil, fmt.Errorf("local policies: permission %s: %w", id, err)
			}
			if !strings.HasSuffix(p.Principal, ".amazonaws.com") {
				return nil, fmt.Errorf("local policies: permission %s: principal %q is not a service", id, p.Principal)
			}
			out.Invokers = append(out.Invokers, p)
		}
	}
	sort.Slice(out.Invokers, func(i, j int) bool {
		a, b := out.Invokers[i], out.Invokers[j]
		return a.Principal+" "+a.Resource+" "+a.Action < b.Principal+" "+b.Resource+" "+b.Action
	})
	// Several routes each have a permission for the same function.
	var dedup []iam.Permission
	for _, p := range out.Invokers {
		if len(dedup) == 0 || dedup[len(dedup)-1] != p {
			dedup = append(dedup, p)
		}
	}
	out.Invokers = dedup
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// logicalID is the template's logical id of c's CloudFormation resource.
func logicalID(s *Stack, c constructs.IConstruct) string {
	return *s.Stack.GetLogicalId(c.Node().DefaultChild().(awscdk.CfnElement))
}

// resolver evaluates the intrinsic functions of policy documents.
type resolver struct {
	refs  map[string]string            // logical id → Ref value
	attrs map[string]map[string]string // logical id → attribute → value
}

func (r *resolver) add(id, ref string, attrs map[string]string) {
	r.refs[id], r.attrs[id] = ref, attrs
}

func (r *resolver) statements(id string, doc any) ([]iam.Statement, error) {
	d, _ := doc.(map[string]any)
	list, ok := d["Statement"].([]any)
	if !ok {
		return nil, fmt.Errorf("local policies: %s has no statement list", id)
	}
	var out []iam.Statement
	for i, raw := range list {
		st, _ := raw.(map[string]any)
		for k := range st {
			switch k {
			case "Effect", "Action", "Resource", "Condition", "Sid":
			default:
				// NotAction, NotResource, Principal: not in srbackup's policies.
				return nil, fmt.Errorf("local policies: %s statement %d: %s is not supported", id, i, k)
			}
		}
		s := iam.Statement{}
		s.Effect, _ = st["Effect"].(string)
		var err error
		if s.Actions, err = r.strs(st["Action"]); err != nil {
			return nil, fmt.Errorf("local policies: %s statement %d: Action: %w", id, i, err)
		}
		if s.Resources, err = r.strs(st["Resource"]); err != nil {
			return nil, fmt.Errorf("local policies: %s statement %d: Resource: %w", id, i, err)
		}
		if c, ok := st["Condition"].(map[string]any); ok {
			v, err := r.value(c)
			if err != nil {
				return nil, fmt.Errorf("local policies: %s statement %d: Condition: %w", id, i, err)
			}
			s.Condition, _ = v.(map[string]any)
		}
		out = append(out, s)
	}
	return out, nil
}

// strs resolves a string or a list of strings.
func (r *resolver) strs(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []string
	for _, e := range list {
		s, err := r.str(e)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func (r *resolver) str(v any) (string, error) {
	x, err := r.value(v)
	if err != nil {
		return "", err
	}
	s, ok := x.(string)
	if !ok {
		return "", fmt.Errorf("%v is not a string", v)
	}
	return s, nil
}

var pseudo = map[string]string{
	"AWS::Partition": "aws", "AWS::Region": iam.Region, "AWS::AccountId": iam.Account,
	"AWS::URLSuffix": "amazonaws.com",
}

// value resolves one template value.
func (r *resolver) value(v any) (any, error) {
	switch x := v.(type) {
	case string, bool, float64, nil:
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = r.value(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		if len(x) != 1 {
			return r.object(x)
		}
		for fn, arg := range x {
			switch fn {
			case "Ref":
				id, _ := arg.(string)
				if p, ok := pseudo[id]; ok {
					return p, nil
				}
				if ref, ok := r.refs[id]; ok {
					return ref, nil
				}
				return "local:unresolved:" + id, nil
			case "Fn::GetAtt":
				a, _ := arg.([]any)
				if len(a) != 2 {
					return nil, fmt.Errorf("Fn::GetAtt %v", arg)
				}
				id, _ := a[0].(string)
				attr, _ := a[1].(string)
				if val, ok := r.attrs[id][attr]; ok {
					return val, nil
				}
				return "local:unresolved:" + id + "." + attr, nil
			case "Fn::Join":
				a, _ := arg.([]any)
				if len(a) != 2 {
					return nil, fmt.Errorf("Fn::Join %v", arg)
				}
				sep, _ := a[0].(string)
				parts, err := r.value(a[1])
				if err != nil {
					return nil, err
				}
				var ss []string
				for _, p := range parts.([]any) {
					s, ok := p.(string)
					if !ok {
						return nil, fmt.Errorf("Fn::Join of %v", p)
					}
					ss = append(ss, s)
				}
				return strings.Join(ss, sep), nil
			case "Fn::Split":
				a, _ := arg.([]any)
				if len(a) != 2 {
					return nil, fmt.Errorf("Fn::Split %v", arg)
				}
				sep, _ := a[0].(string)
				s, err := r.str(a[1])
				if err != nil {
					return nil, err
				}
				var out []any
				for _, p := range strings.Split(s, sep) {
					out = append(out, p)
				}
				return out, nil
			case "Fn::Select":
				a, _ := arg.([]any)
				if len(a) != 2 {
					return nil, fmt.Errorf("Fn::Select %v", arg)
				}
				i, _ := a[0].(float64)
				list, err := r.value(a[1])
				if err != nil {
					return nil, err
				}
				l, _ := list.([]any)
				if int(i) < 0 || int(i) >= len(l) {
					return nil, fmt.Errorf("Fn::Select %d of %v", int(i), l)
				}
				return l[int(i)], nil
			}
			if strings.HasPrefix(fn, "Fn::") {
				return nil, fmt.Errorf("%s is not supported", fn)
			}
		}
		return r.object(x)
	}
	return nil, fmt.Errorf("unexpected value %v", v)
}

func (r *resolver) object(x map[string]any) (any, error) {
	out := map[string]any{}
	for k, e := range x {
		var err error
		if out[k], err = r.value(e); err != nil {
			return nil, err
		}
	}
	return out, nil
}
