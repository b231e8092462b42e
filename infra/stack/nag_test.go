package stack_test

import (
	"strings"
	"testing"
)

// TestAwsSolutions: every configuration passes cdk-nag's AwsSolutions pack,
// and the CDK itself warns about nothing: each finding is fixed, or
// suppressed in the stack with its reason.
func TestAwsSolutions(t *testing.T) {
	for _, f := range []*fixture{defaults, full} {
		t.Run(f.name, func(t *testing.T) {
			s := f.get(t)
			n := 0
			for _, m := range s.messages {
				if m.Level == "info" {
					continue
				}
				n++
				t.Errorf("%s at %s: %s", m.Level, m.Path, firstLine(m.Text))
			}
			if n > 0 {
				t.Logf("%d unsuppressed findings", n)
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
