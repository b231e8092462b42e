package privilege

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// principalRe matches the IAM identities API Gateway's IAM authorization
// reports: IAM users and roles (with an optional path), assumed-role
// sessions, federated users and the account root.
var principalRe = regexp.MustCompile(
	`^arn:(aws[a-z-]*):(iam|sts)::([0-9]{12}):` +
		`(user/[\w+=,.@/-]+|role/[\w+=,.@/-]+|assumed-role/[\w+=,.@-]+/[\w+=,.@-]+|federated-user/[\w+=,.@-]+|root)$`)

// maxPrincipal bounds a principal ARN: IAM names are at most 64 characters
// and paths 512, so real ARNs stay far below it.
const maxPrincipal = 1024

// NormalizePrincipal returns the identity privileges are granted to for an
// IAM principal ARN:
//
//   - an assumed-role session, arn:aws:sts::<acct>:assumed-role/<Role>/<session>,
//     is its role, arn:aws:iam::<acct>:role/<Role>;
//   - a role ARN loses its path (arn:aws:iam::<acct>:role/<path>/<Role> is
//     arn:aws:iam::<acct>:role/<Role>), because session ARNs carry no path and
//     role names are unique in an account whatever their path;
//   - IAM user and root ARNs are kept as they are;
//   - a federated user (arn:aws:sts::<acct>:federated-user/<name>) is refused
//     with ErrFederatedUser: its name is whatever the caller of
//     GetFederationToken chose, so it does not identify anyone, and a grant
//     to it would go to every user allowed to call GetFederationToken.
//
// Anything else is an error.
func NormalizePrincipal(arn string) (string, error) {
	if len(arn) > maxPrincipal {
		return "", fmt.Errorf("a principal ARN of %d bytes is longer than IAM allows", len(arn))
	}
	m := principalRe.FindStringSubmatch(arn)
	if m == nil {
		return "", fmt.Errorf("%q is not an IAM principal ARN (arn:aws:iam::<account>:user/<name>, arn:aws:iam::<account>:role/<name> or an assumed-role ARN)", arn)
	}
	partition, service, account, resource := m[1], m[2], m[3], m[4]
	kind, rest, _ := strings.Cut(resource, "/")
	switch {
	case service == "sts" && kind == "assumed-role":
		role, _, _ := strings.Cut(rest, "/")
		return roleARN(partition, account, role), nil
	case service == "iam" && kind == "role":
		return roleARN(partition, account, rest[strings.LastIndex(rest, "/")+1:]), nil
	case service == "iam" && (kind == "user" || kind == "root"):
		return arn, nil
	case service == "sts" && kind == "federated-user":
		return "", fmt.Errorf("%q: %w", arn, ErrFederatedUser)
	}
	return "", fmt.Errorf("%q is not an IAM principal ARN: %s is not an %s resource", arn, kind, service)
}

// ErrFederatedUser refuses a federated-user ARN as a principal.
var ErrFederatedUser = errors.New("a federated user's name is chosen by whoever calls sts:GetFederationToken, so it can hold no privileges: grant to the IAM user or role instead")

func roleARN(partition, account, name string) string {
	return "arn:" + partition + ":iam::" + account + ":role/" + name
}

// ParseAdmins parses SRBACKUP_ADMINS: principal ARNs separated by commas
// (blanks around them ignored), each normalised with NormalizePrincipal.
// An empty value gives no admins.
func ParseAdmins(value string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(value, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := NormalizePrincipal(f)
		if err != nil {
			return nil, fmt.Errorf("SRBACKUP_ADMINS: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}
