package iam

import (
	"errors"
	"strings"
	"testing"
)

func TestWildcard(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"*", "", true},
		{"*", "anything:at/all", true},
		{"", "", true},
		{"", "x", false},
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a*c", "ac", true},
		{"a*c", "abbbc", true},
		{"a*c", "abbbd", false},
		{"*__srbackup_repository_*", "backups/__srbackup_repository_r/__ss_x/__meta", true},
		{"*__srbackup_repository_*", "backups/other", false},
		{"a*b*c", "aXbYbZc", true},
		{"a*b*c", "aXcYb", false},
		{"**", "x", true},
		{"*a", "aaaa", true},
	} {
		if got := wildcard(tc.p, tc.s); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

func TestMatchActionIsCaseInsensitive(t *testing.T) {
	if !MatchAction("S3:GetObject", "s3:getobject") || !MatchAction("s3:Get*", "s3:GetObject") || !MatchAction("*", "dynamodb:Query") {
		t.Error("action patterns should match case-insensitively, with wildcards")
	}
	if MatchAction("s3:Get*", "s3:PutObject") || MatchAction("s3:GetObject", "s3:GetObjectTagging") {
		t.Error("an action pattern matched a different action")
	}
}

func TestMatchResource(t *testing.T) {
	obj := "arn:aws:s3:::srbackup-repo/*__srbackup_repository_*"
	if !MatchResource(obj, "arn:aws:s3:::srbackup-repo/backups/__srbackup_repository_r/__repo_info") {
		t.Error("object ARN pattern should match a repository object")
	}
	// A bucket ARN is not an object ARN, nor the other way round.
	if MatchResource(obj, "arn:aws:s3:::srbackup-repo") || MatchResource("arn:aws:s3:::srbackup-repo", "arn:aws:s3:::srbackup-repo/x") {
		t.Error("bucket and object ARNs must not match each other")
	}
	// A table ARN does not cover its indexes.
	table := TableARN("srbackup")
	if MatchResource(table, table+"/index/gsi1") || !MatchResource(table+"/index/*", table+"/index/gsi1") {
		t.Error("table vs index ARN")
	}
	// Resource ARNs are case-sensitive.
	if MatchResource("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/x") {
		t.Error("resource matching must be case-sensitive")
	}
	// * crosses ":" and "/".
	if !MatchResource("arn:aws:states:us-east-1:123456789012:execution:backup:*", "arn:aws:states:us-east-1:123456789012:execution:backup:job-1") {
		t.Error("execution ARN")
	}
	if MatchResource("arn:aws:states:us-east-1:123456789012:execution:backup:*", "arn:aws:states:us-east-1:123456789012:execution:restore:job-1") {
		t.Error("execution of another state machine")
	}
}

func TestEvaluate(t *testing.T) {
	table := TableARN("t")
	stmts := []Statement{
		{Effect: "Allow", Actions: []string{"dynamodb:GetItem", "dynamodb:Put*"}, Resources: []string{table}},
		{Effect: "Allow", Actions: []string{"dynamodb:Query"}, Resources: []string{table + "/index/*"}},
		{Effect: "Deny", Actions: []string{"dynamodb:PutItem"}, Resources: []string{table}},
		{Effect: "Allow", Actions: []string{"dynamodb:DeleteItem"}, Resources: []string{table},
			Condition: map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": []any{"JOB#*"}}}},
		{Effect: "Deny", Actions: []string{"s3:*"}, Resources: []string{"*"},
			Condition: map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}},
	}
	jobKeys := Context{}.With(LeadingKeys, "JOB#1", "JOB#2")
	lockKey := Context{}.With(LeadingKeys, "JOB#1", "LOCK#db")
	for _, tc := range []struct {
		action, resource string
		ctx              Context
		want             Decision
	}{
		{"dynamodb:GetItem", table, nil, Allowed},
		{"dynamodb:GetItem", TableARN("other"), nil, ImplicitDeny},
		{"dynamodb:Query", table, nil, ImplicitDeny}, // the table, not an index
		{"dynamodb:Query", table + "/index/gsi1", nil, Allowed},
		{"dynamodb:PutItem", table, nil, ExplicitDeny},                       // Deny beats Allow
		{"dynamodb:DeleteItem", table, jobKeys, Allowed},                     // every key matches
		{"dynamodb:DeleteItem", table, lockKey, ImplicitDeny},                // one key does not
		{"dynamodb:DeleteItem", table, Context{}.With(LeadingKeys), Allowed}, // ForAllValues of nothing, as AWS
		{"s3:GetObject", "arn:aws:s3:::b/k", nil, ExplicitDeny},              // a Deny with an unknown operator always applies
		{"dynamodb:UpdateItem", table, nil, ImplicitDeny},                    // nothing grants it
		{"DynamoDB:GETITEM", table, nil, Allowed},                            // actions are case-insensitive
		{"dynamodb:GetItem", strings.ToUpper(table), nil, ImplicitDeny},      // resources are not
	} {
		if got, _ := Evaluate(stmts, tc.action, tc.resource, tc.ctx); got != tc.want {
			t.Errorf("%s on %s with %v = %v, want %v", tc.action, tc.resource, tc.ctx, got, tc.want)
		}
	}
	if d, _ := Evaluate(nil, "s3:GetObject", "arn:aws:s3:::b/k", nil); d != ImplicitDeny {
		t.Error("no statements must deny")
	}
}

func TestConditionOperators(t *testing.T) {
	like := map[string]any{"dynamodb:LeadingKeys": []any{"JOB#*", "LOCK#?"}}
	for _, tc := range []struct {
		op   string
		ctx  Context
		want bool
	}{
		{"ForAllValues:StringLike", Context{}.With(LeadingKeys, "JOB#a", "LOCK#b"), true},
		{"ForAllValues:StringLike", Context{}.With(LeadingKeys, "JOB#a", "LOCK#bc"), false},
		{"ForAllValues:StringLike", nil, true}, // vacuous, as in AWS
		{"ForAnyValue:StringLike", Context{}.With(LeadingKeys, "X", "JOB#a"), true},
		{"ForAnyValue:StringLike", nil, false},
		{"StringLike", Context{}.With(LeadingKeys, "JOB#a"), true},
		{"StringLike", nil, false}, // an absent key never matches
		{"StringEquals", Context{}.With(LeadingKeys, "JOB#*"), true},
		{"StringEquals", Context{}.With(LeadingKeys, "JOB#a"), false},
		{"ForAllValues:StringEquals", Context{}.With("DynamoDB:LeadingKeys", "JOB#*"), true}, // keys are case-insensitive
	} {
		holds, known := conditionsHold(map[string]any{tc.op: like}, tc.ctx)
		if !known || holds != tc.want {
			t.Errorf("%s with %v = %v (known %v), want %v", tc.op, tc.ctx, holds, known, tc.want)
		}
	}
	if _, known := conditionsHold(map[string]any{"NumericLessThan": like}, nil); known {
		t.Error("an operator the evaluator does not implement must be unknown")
	}
	if _, known := conditionsHold(map[string]any{"StringLike": map[string]any{"k": 1}}, nil); known {
		t.Error("a non-string value must be unknown")
	}
}

func TestAuthorizer(t *testing.T) {
	p := &Policies{
		Roles: map[string][]Statement{"upload": {
			{Effect: "Allow", Actions: []string{"s3:PutObject", "s3:AbortMultipartUpload"}, Resources: []string{"arn:aws:s3:::b/*"}},
		}},
		Invokers: []Permission{{Principal: "events.amazonaws.com", Action: "lambda:InvokeFunction", Resource: FunctionARN("cleanup")}},
	}
	a := NewAuthorizer(p)
	if err := a.Authorize(AccessKey("upload"), "s3:PutObject", "arn:aws:s3:::b/k1", "arn:aws:s3:::b/k2"); err != nil {
		t.Fatal(err)
	}
	err := a.Authorize(AccessKey("upload"), "s3:GetObject", "arn:aws:s3:::b/k")
	var denied *DeniedError
	if !errors.As(err, &denied) {
		t.Fatalf("GetObject: %v, want a DeniedError", err)
	}
	want := `User: arn:aws:sts::123456789012:assumed-role/upload/upload is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k because no identity-based policy allows the s3:GetObject action`
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
	// One denied resource denies the request.
	if err := a.Authorize(AccessKey("upload"), "s3:PutObject", "arn:aws:s3:::b/k", "arn:aws:s3:::c/k"); !errors.As(err, &denied) || denied.Resource != "arn:aws:s3:::c/k" {
		t.Errorf("mixed resources: %v", err)
	}
	var unknown *UnknownKeyError
	if err := a.Authorize("AKIASOMEONEELSE", "s3:PutObject", "arn:aws:s3:::b/k"); !errors.As(err, &unknown) {
		t.Errorf("unknown key: %v", err)
	}
	if err := a.Authorize(AdminAccessKey, "dynamodb:DeleteTable", TableARN("t")); err != nil {
		t.Errorf("admin: %v", err)
	}
	if err := a.Authorize(ServiceAccessKey("events.amazonaws.com"), "lambda:InvokeFunction", FunctionARN("cleanup")); err != nil {
		t.Errorf("EventBridge invoking cleanup: %v", err)
	}
	if err := a.Authorize(ServiceAccessKey("events.amazonaws.com"), "lambda:InvokeFunction", FunctionARN("upload")); !errors.As(err, &denied) {
		t.Errorf("EventBridge invoking upload: %v", err)
	}
	if got := a.Unused()["upload"]; len(got) != 1 || got[0] != "s3:AbortMultipartUpload" {
		t.Errorf("unused = %v, want [s3:AbortMultipartUpload]", got)
	}
}

func TestEmbeddedPoliciesParse(t *testing.T) {
	p, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	q := p.Clone()
	if !q.Remove("upload", "s3:PutObject") {
		t.Fatal("upload has no s3:PutObject")
	}
	if d, _ := Evaluate(q.Roles["upload"], "s3:PutObject", "arn:aws:s3:::srbackup-repo/x/__srbackup_repository_r/k", nil); d != ImplicitDeny {
		t.Error("Remove did not take the grant away")
	}
	if d, _ := Evaluate(p.Roles["upload"], "s3:PutObject", "arn:aws:s3:::srbackup-repo/x/__srbackup_repository_r/k", nil); d != Allowed {
		t.Error("Remove changed the original")
	}
}
