package iam

import "strings"

// LeadingKeys is DynamoDB's condition key for the partition key values a
// request touches (every item of a batch or a transaction, the key
// condition of a Query on the table).
const LeadingKeys = "dynamodb:LeadingKeys"

// Context holds a request's condition keys and their values. A key that is
// absent is unknown, as in AWS: a plain operator on it is false, and a
// ForAllValues operator over it is (vacuously) true.
type Context map[string][]string

// conditionsHold reports whether every operator of a statement's Condition
// holds for ctx (IAM ANDs operators and keys, ORs the values of one key),
// and whether the evaluator understood them all: an operator it does not
// know is never taken as true, so an Allow with one never applies and a
// Deny with one always does.
func conditionsHold(cond map[string]any, ctx Context) (holds, known bool) {
	holds = true
	for op, block := range cond {
		keys, ok := block.(map[string]any)
		if !ok {
			return false, false
		}
		for key, raw := range keys {
			want, ok := stringValues(raw)
			if !ok {
				return false, false
			}
			got, present := ctx[strings.ToLower(key)]
			h, k := operator(op, want, got, present)
			if !k {
				return false, false
			}
			holds = holds && h
		}
	}
	return holds, true
}

// operator evaluates one condition operator of the String family, with the
// ForAllValues/ForAnyValue set qualifiers.
func operator(op string, want, got []string, present bool) (holds, known bool) {
	qualifier, base, qualified := strings.Cut(op, ":")
	if !qualified {
		base, qualifier = op, ""
	}
	var match func(pattern, value string) bool
	switch base {
	case "StringEquals":
		match = func(p, v string) bool { return p == v }
	case "StringLike":
		match = wildcard
	default:
		return false, false
	}
	anyOf := func(v string) bool {
		for _, p := range want {
			if match(p, v) {
				return true
			}
		}
		return false
	}
	switch qualifier {
	case "ForAllValues":
		// Every value in the request matches some pattern; true for none.
		for _, v := range got {
			if !anyOf(v) {
				return false, true
			}
		}
		return true, true
	case "ForAnyValue", "":
		// A single-valued operator on a multi-valued key behaves as
		// ForAnyValue; a key the request does not carry never matches.
		if !present {
			return false, true
		}
		for _, v := range got {
			if anyOf(v) {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

func stringValues(raw any) ([]string, bool) {
	switch v := raw.(type) {
	case string:
		return []string{v}, true
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	case []string:
		return v, true
	}
	return nil, false
}

// With returns ctx with key set to values (condition keys are
// case-insensitive).
func (ctx Context) With(key string, values ...string) Context {
	out := Context{}
	for k, v := range ctx {
		out[k] = v
	}
	out[strings.ToLower(key)] = values
	return out
}
