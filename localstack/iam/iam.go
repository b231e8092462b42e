// Package iam authorizes the local AWS stack's requests as AWS IAM would:
// each function signs with its own access key, the key names its role, and
// the role's identity policies (generated from the CDK stack in infra/stack,
// embedded as policies.json) decide every action on every resource.
//
// It evaluates what srbackup's policies use: actions and resource ARNs with
// the * and ? wildcards, Allow and Deny (an explicit Deny wins; no Allow is
// an implicit deny), and conditions of the String family (StringEquals,
// StringLike, with ForAllValues/ForAnyValue) on the keys a request carries,
// such as dynamodb:LeadingKeys. A condition it does not understand never
// allows and always denies, so it can only refuse. Resource-based policies are honoured only for
// service principals invoking Lambda functions (EventBridge rules, API
// Gateway); bucket policies are not evaluated (the repository bucket's only
// one refuses plain HTTP, which the local stack speaks).
package iam

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
)

// The local account and region every local ARN uses.
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// Local names of the resources the policies were resolved against.
const (
	Table  = "srbackup"
	Bucket = "srbackup-repo"
)

// AdminAccessKey is the key of the stack's operator (tests, the demo, the
// CLI's local mode): it may do anything, as an account administrator.
const AdminAccessKey = "local"

// Secret is every local secret access key: signatures are not verified.
const Secret = "local"

// FunctionARN, StateMachineARN and TableARN are the local ARNs.
func FunctionARN(name string) string {
	return fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", Region, Account, name)
}

// StateMachineARN is the local ARN of state machine name.
func StateMachineARN(name string) string {
	return fmt.Sprintf("arn:aws:states:%s:%s:stateMachine:%s", Region, Account, name)
}

// TableARN is the local ARN of DynamoDB table name.
func TableARN(name string) string {
	return fmt.Sprintf("arn:aws:dynamodb:%s:%s:table/%s", Region, Account, name)
}

// StateMachineRole is the role name of state machine name's role.
func StateMachineRole(name string) string { return name + "-state-machine" }

// RoleARN is the local ARN of role name.
func RoleARN(name string) string { return fmt.Sprintf("arn:aws:iam::%s:role/%s", Account, name) }

// AccessKey is the local access key id of role name (a function's name, or
// StateMachineRole of a state machine).
func AccessKey(role string) string { return "LOCAL-" + role }

// ServiceAccessKey is the key a local service signs with when AWS would act
// as the service principal (events.amazonaws.com for an EventBridge rule).
func ServiceAccessKey(principal string) string { return "SERVICE-" + principal }

// Policies are the identity policies of every role and the resource
// policies that let service principals invoke functions.
type Policies struct {
	// Roles maps role names to their statements, in template order.
	Roles map[string][]Statement `json:"roles"`
	// Invokers lists who may invoke functions besides roles: resource-based
	// permissions (AWS::Lambda::Permission) of service principals.
	Invokers []Permission `json:"invokers"`
}

// Statement is one resolved policy statement.
type Statement struct {
	Effect    string         `json:"effect"`
	Actions   []string       `json:"actions"`
	Resources []string       `json:"resources"`
	Condition map[string]any `json:"condition,omitempty"`
}

// Permission lets Principal perform Action on Resource.
type Permission struct {
	Principal string `json:"principal"`
	Action    string `json:"action"`
	Resource  string `json:"resource"`
}

//go:generate go run ../../infra/localiam -o policies.json
//go:embed policies.json
var policiesJSON []byte

// Embedded returns the policies generated from infra/stack.
func Embedded() (*Policies, error) { return Parse(policiesJSON) }

// Parse decodes a policies file.
func Parse(b []byte) (*Policies, error) {
	var p Policies
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("iam policies: %w", err)
	}
	for role, stmts := range p.Roles {
		for i, s := range stmts {
			if s.Effect != "Allow" && s.Effect != "Deny" {
				return nil, fmt.Errorf("iam policies: role %s statement %d: effect %q", role, i, s.Effect)
			}
		}
	}
	return &p, nil
}

// Clone returns a deep copy, e.g. to take a grant away in a test.
func (p *Policies) Clone() *Policies {
	b, _ := json.Marshal(p)
	q, _ := Parse(b)
	return q
}

// Remove takes action away from role wherever a statement names it, and
// reports whether it did.
func (p *Policies) Remove(role, action string) bool {
	found := false
	for i, s := range p.Roles[role] {
		if j := slices.Index(s.Actions, action); j >= 0 {
			p.Roles[role][i].Actions = slices.Delete(slices.Clone(s.Actions), j, j+1)
			found = true
		}
	}
	return found
}

// Principal is who signed a request.
type Principal struct {
	// Role is the role name; empty for the administrator and for a service.
	Role string
	// Service is a service principal such as events.amazonaws.com.
	Service string
	Admin   bool
}

// ARN is how AWS names the principal in an AccessDenied message.
func (p Principal) ARN() string {
	switch {
	case p.Admin:
		return fmt.Sprintf("arn:aws:iam::%s:user/local", Account)
	case p.Service != "":
		return p.Service
	}
	return fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/%s", Account, p.Role, p.Role)
}

// Decision is the outcome of one authorization.
type Decision int

const (
	// ImplicitDeny: no statement allows the request.
	ImplicitDeny Decision = iota
	// ExplicitDeny: a Deny statement matches.
	ExplicitDeny
	// Allowed by a statement (or the principal is the administrator).
	Allowed
)

// DeniedError is AWS's AccessDenied, with AWS's text.
type DeniedError struct {
	Principal        Principal
	Action, Resource string
	Explicit         bool
}

func (e *DeniedError) Error() string {
	why := "because no identity-based policy allows the " + e.Action + " action"
	if e.Explicit {
		why = "with an explicit deny in an identity-based policy"
	}
	return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s %s", e.Principal.ARN(), e.Action, e.Resource, why)
}

// UnknownKeyError is a request signed with an access key no role has.
type UnknownKeyError struct{ Key string }

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("The AWS Access Key Id %q you provided does not exist in our records.", e.Key)
}

// Authorizer maps access keys to principals and evaluates their requests.
// It records which statement actions were used, so tests can list grants
// that no scenario needed.
type Authorizer struct {
	policies *Policies
	keys     map[string]Principal

	mu     sync.Mutex
	used   map[string]map[string]bool // role → action pattern → used
	denied []DeniedError
}

// NewAuthorizer returns an authorizer over p.
func NewAuthorizer(p *Policies) *Authorizer {
	a := &Authorizer{policies: p, keys: map[string]Principal{AdminAccessKey: {Admin: true}}, used: map[string]map[string]bool{}}
	for role := range p.Roles {
		a.keys[AccessKey(role)] = Principal{Role: role}
	}
	for _, inv := range p.Invokers {
		a.keys[ServiceAccessKey(inv.Principal)] = Principal{Service: inv.Principal}
	}
	return a
}

// Principal returns who holds access key id.
func (a *Authorizer) Principal(key string) (Principal, error) {
	p, ok := a.keys[key]
	if !ok {
		return Principal{}, &UnknownKeyError{Key: key}
	}
	return p, nil
}

// Authorize decides whether the holder of key may perform action on every
// one of resources; the first refusal is returned as a *DeniedError.
func (a *Authorizer) Authorize(key, action string, resources ...string) error {
	return a.AuthorizeIn(nil, key, action, resources...)
}

// AuthorizeIn is Authorize for a request whose condition keys are ctx.
func (a *Authorizer) AuthorizeIn(ctx Context, key, action string, resources ...string) error {
	p, err := a.Principal(key)
	if err != nil {
		return err
	}
	for _, r := range resources {
		if d := a.decide(p, action, r, ctx); d != Allowed {
			e := DeniedError{Principal: p, Action: action, Resource: r, Explicit: d == ExplicitDeny}
			a.mu.Lock()
			a.denied = append(a.denied, e)
			a.mu.Unlock()
			return &e
		}
	}
	return nil
}

// Denied returns every refusal so far, in order.
func (a *Authorizer) Denied() []DeniedError {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.denied)
}

func (a *Authorizer) decide(p Principal, action, resource string, ctx Context) Decision {
	switch {
	case p.Admin:
		return Allowed
	case p.Service != "":
		for _, inv := range a.policies.Invokers {
			if inv.Principal == p.Service && MatchAction(inv.Action, action) && MatchResource(inv.Resource, resource) {
				return Allowed
			}
		}
		return ImplicitDeny
	}
	d, used := Evaluate(a.policies.Roles[p.Role], action, resource, ctx)
	if d == Allowed {
		a.mu.Lock()
		if a.used[p.Role] == nil {
			a.used[p.Role] = map[string]bool{}
		}
		for _, u := range used {
			a.used[p.Role][u] = true
		}
		a.mu.Unlock()
	}
	return d
}

// Unused returns, per role, the actions its statements grant that no
// authorized request used, sorted.
func (a *Authorizer) Unused() map[string][]string {
	var u Usage
	u.Add(a)
	return u.Unused(a.policies)
}

// Usage collects the actions used across several authorizers (one per
// local stack a test suite starts), to list the grants no scenario needed.
type Usage struct {
	mu   sync.Mutex
	used map[string]map[string]bool // role → action pattern → used
}

// Add records what a's requests used.
func (u *Usage) Add(a *Authorizer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used == nil {
		u.used = map[string]map[string]bool{}
	}
	for role, acts := range a.used {
		if u.used[role] == nil {
			u.used[role] = map[string]bool{}
		}
		for act := range acts {
			u.used[role][act] = true
		}
	}
}

// Unused returns, per role of p, the actions its Allow statements grant
// that nothing recorded used, sorted; roles with none are left out.
func (u *Usage) Unused(p *Policies) map[string][]string {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := map[string][]string{}
	for role, stmts := range p.Roles {
		for _, s := range stmts {
			if s.Effect != "Allow" {
				continue
			}
			for _, act := range s.Actions {
				if !u.used[role][act] && !slices.Contains(out[role], act) {
					out[role] = append(out[role], act)
				}
			}
		}
		sort.Strings(out[role])
	}
	return out
}

// Evaluate decides action on resource under stmts for a request whose
// condition keys are ctx: an explicit Deny wins, then any Allow; otherwise
// the request is implicitly denied. It also returns the action patterns of
// the statements that allowed it.
func Evaluate(stmts []Statement, action, resource string, ctx Context) (Decision, []string) {
	allowed := false
	var used []string
	for _, s := range stmts {
		act := matchingAction(s.Actions, action)
		if act == "" || !slices.ContainsFunc(s.Resources, func(r string) bool { return MatchResource(r, resource) }) {
			continue
		}
		holds, known := true, true
		if len(s.Condition) > 0 {
			holds, known = conditionsHold(s.Condition, ctx)
		}
		if s.Effect == "Deny" {
			// A condition the evaluator does not know is never taken as
			// false: such a Deny applies.
			if holds || !known {
				return ExplicitDeny, nil
			}
			continue
		}
		if !holds || !known {
			continue
		}
		allowed = true
		used = append(used, act)
	}
	if allowed {
		return Allowed, used
	}
	return ImplicitDeny, nil
}

func matchingAction(patterns []string, action string) string {
	for _, p := range patterns {
		if MatchAction(p, action) {
			return p
		}
	}
	return ""
}

// MatchAction matches an action against a policy's action pattern: the
// service prefix and name are case-insensitive, * and ? are wildcards.
func MatchAction(pattern, action string) bool {
	return wildcard(strings.ToLower(pattern), strings.ToLower(action))
}

// MatchResource matches an ARN against a policy's resource pattern: case
// sensitive, * matches any run of characters (":" and "/" included) and ?
// any one character.
func MatchResource(pattern, arn string) bool { return wildcard(pattern, arn) }

// wildcard is glob matching with * and ? only, in linear time.
func wildcard(p, s string) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == s[si]):
			pi++
			si++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, si
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
