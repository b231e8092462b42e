package privilege

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"

	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/sql"
)

// DB is the part of the DynamoDB client the store uses; *dynamodb.Client
// implements it.
type DB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
}

// MaxRoles bounds how many roles one principal's grants are gathered from,
// inherited roles included, so a pathological role graph cannot make a
// request slow.
const MaxRoles = 64

// Store keeps roles and grants in the srbackup table. It is safe for
// concurrent use.
type Store struct {
	db    DB
	table string
	now   func() time.Time
}

// NewStore returns a store over the srbackup table named table.
func NewStore(db DB, table string) *Store {
	return &Store{db: db, table: table, now: time.Now}
}

// item is any privilege item, keys aside (they are set from
// jobstore.AttrPK / AttrSK). Which attributes are set depends on the item.
type item struct {
	// Role item: the role's name and incarnation id. A dropped and re-created
	// role gets a new id, so grants made to the old one never apply to it.
	Role   string `dynamodbav:"role,omitempty"`
	RoleID string `dynamodbav:"roleId,omitempty"`

	// Privilege items.
	Privilege  string `dynamodbav:"privilege,omitempty"`
	ObjectType string `dynamodbav:"objectType,omitempty"`
	Database   string `dynamodbav:"database,omitempty"`
	Table      string `dynamodbav:"table,omitempty"`

	// HolderRoleID is, on items of a role's grant partition (and on the
	// MEMBER item of a role held by a role), the holding role's id.
	HolderRoleID string `dynamodbav:"holderRoleId,omitempty"`
	// Holder is, on a MEMBER item, the holder's key (USER#… or ROLE#…).
	Holder string `dynamodbav:"holder,omitempty"`

	Time string `dynamodbav:"time,omitempty"`
	By   string `dynamodbav:"by,omitempty"` // the admin who made the grant
}

// Role is a role as stored.
type Role struct {
	Name       string
	ID         string
	CreateTime time.Time
}

// holder is a resolved grantee: a principal, or an existing role with its id.
type holder struct {
	sql.Grantee
	roleID string
}

func (h holder) key() string { return holderKey(h.Grantee) }

func (s *Store) put(ctx context.Context, pk, sk string, it item, cond string) error {
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("encode privilege item: %w", err)
	}
	av[jobstore.AttrPK], av[jobstore.AttrSK] = str(pk), str(sk)
	in := &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av}
	if cond != "" {
		in.ConditionExpression = aws.String(cond)
	}
	_, err = s.db.PutItem(ctx, in)
	return err
}

// deleteIf deletes an item; when attr is set, only if attribute attr equals
// value (a failed condition is not an error: the item belongs to someone else).
func (s *Store) deleteIf(ctx context.Context, pk, sk, attr, value string) error {
	in := &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: key(pk, sk)}
	if attr != "" {
		in.ConditionExpression = aws.String("#a = :v")
		in.ExpressionAttributeNames = map[string]string{"#a": attr}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": str(value)}
	}
	_, err := s.db.DeleteItem(ctx, in)
	if err != nil && !isConditionFailed(err) {
		return fmt.Errorf("delete privilege item %s / %s: %w", pk, sk, err)
	}
	return nil
}

// entry is one item of a query, with its sort key.
type entry struct {
	sk string
	item
}

// query returns every item of partition pk whose sort key starts with prefix.
func (s *Store) query(ctx context.Context, pk, prefix string) ([]entry, error) {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :pfx)"),
		ExpressionAttributeNames: map[string]string{"#pk": jobstore.AttrPK, "#sk": jobstore.AttrSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(pk), ":pfx": str(prefix),
		},
		ConsistentRead: aws.Bool(true),
	})
	var out []entry
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("read privileges %s: %w", pk, err)
		}
		for _, av := range page.Items {
			var e entry
			if err := attributevalue.UnmarshalMap(av, &e.item); err != nil {
				return nil, fmt.Errorf("decode privilege item of %s: %w", pk, err)
			}
			if sk, ok := av[jobstore.AttrSK].(*types.AttributeValueMemberS); ok {
				e.sk = sk.Value
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// GetRole returns the role named name; ok is false when there is none.
// Role names are case-sensitive.
func (s *Store) GetRole(ctx context.Context, name string) (r Role, ok bool, err error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(rolePK(name), skRole), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Role{}, false, fmt.Errorf("read role %s: %w", name, err)
	}
	if out.Item == nil {
		return Role{}, false, nil
	}
	var it item
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return Role{}, false, fmt.Errorf("decode role %s: %w", name, err)
	}
	t, _ := time.Parse(time.RFC3339Nano, it.Time)
	return Role{Name: it.Role, ID: it.RoleID, CreateTime: t}, true, nil
}

// CreateRole creates a role; created is false when one of that name
// exists already.
func (s *Store) CreateRole(ctx context.Context, name, by string) (created bool, err error) {
	id, err := uuid.NewV7()
	if err != nil {
		return false, fmt.Errorf("new role id: %w", err)
	}
	err = s.put(ctx, rolePK(name), skRole, item{
		Role: name, RoleID: id.String(), Time: s.now().UTC().Format(time.RFC3339Nano), By: by,
	}, "attribute_not_exists("+jobstore.AttrPK+")")
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("create role %s: %w", name, err)
	}
	return true, nil
}

// DropRole drops a role: from then on nobody holds it and its grants are
// gone. ok is false when there was no such role. The role's grants and
// memberships are then deleted; if that fails half-way, what is left
// carries the dropped role's id and is ignored for ever.
func (s *Store) DropRole(ctx context.Context, name string) (ok bool, err error) {
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           aws.String(s.table),
		Key:                 key(rolePK(name), skRole),
		ConditionExpression: aws.String("attribute_exists(" + jobstore.AttrPK + ")"),
		ReturnValues:        types.ReturnValueAllOld,
	})
	if isConditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("drop role %s: %w", name, err)
	}
	var old item
	if err := attributevalue.UnmarshalMap(out.Attributes, &old); err != nil {
		return true, fmt.Errorf("decode dropped role %s: %w", name, err)
	}
	return true, s.purgeRole(ctx, name, old.RoleID)
}

// purgeRole deletes what belonged to the incarnation id of role name: who
// held it, and what it was granted. Conditions on the ids keep a re-created
// role's items.
func (s *Store) purgeRole(ctx context.Context, name, id string) error {
	members, err := s.query(ctx, rolePK(name), pfxMember)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.RoleID != id {
			continue
		}
		if err := s.deleteIf(ctx, grantPK(m.Holder), roleSK(name), "roleId", id); err != nil {
			return err
		}
		if err := s.deleteIf(ctx, rolePK(name), m.sk, "roleId", id); err != nil {
			return err
		}
	}
	grants, err := s.query(ctx, grantPK(roleHolder(name)), "")
	if err != nil {
		return err
	}
	for _, g := range grants {
		if g.HolderRoleID != id {
			continue
		}
		if g.Role != "" { // a role this role held: drop the holder record too
			if err := s.deleteIf(ctx, rolePK(g.Role), memberSK(roleHolder(name)), "holderRoleId", id); err != nil {
				return err
			}
		}
		if err := s.deleteIf(ctx, grantPK(roleHolder(name)), g.sk, "holderRoleId", id); err != nil {
			return err
		}
	}
	return nil
}

// resolve checks a grantee: a USER must be an IAM principal ARN (kept in
// its normalised form), a ROLE must exist (context is the StarRocks text
// that prefixes "cannot find role").
func (s *Store) resolve(ctx context.Context, g sql.Grantee, context string) (holder, error) {
	if g.Type != sql.GranteeRole {
		p, err := NormalizePrincipal(g.Name)
		if errors.Is(err, ErrFederatedUser) {
			return holder{}, errFederatedUser(g.Name)
		}
		if err != nil {
			return holder{}, errBadUser(g.Name)
		}
		return holder{Grantee: sql.Grantee{Type: sql.GranteeUser, Name: p}}, nil
	}
	r, ok, err := s.GetRole(ctx, g.Name)
	if err != nil {
		return holder{}, err
	}
	if !ok {
		return holder{}, errUnknownRole(context, g.Name)
	}
	return holder{Grantee: g, roleID: r.ID}, nil
}

// grantPrivilege records privilege on obj for h.
func (s *Store) grantPrivilege(ctx context.Context, h holder, privilege string, obj sql.PrivilegeObject, by string) error {
	err := s.put(ctx, grantPK(h.key()), privSK(privilege, obj), item{
		Privilege: privilege, ObjectType: string(obj.Type), Database: obj.Database, Table: obj.Table,
		HolderRoleID: h.roleID, Time: s.now().UTC().Format(time.RFC3339Nano), By: by,
	}, "")
	if err != nil {
		return fmt.Errorf("grant %s: %w", privilege, err)
	}
	return nil
}

// revokePrivilege removes privilege on obj from h; revoking what was not
// granted does nothing.
func (s *Store) revokePrivilege(ctx context.Context, h holder, privilege string, obj sql.PrivilegeObject) error {
	return s.deleteIf(ctx, grantPK(h.key()), privSK(privilege, obj), "", "")
}

// grantRole records that h holds role r: the holder's membership item and
// the role's MEMBER item (which DROP ROLE follows).
func (s *Store) grantRole(ctx context.Context, r Role, h holder, by string) error {
	now := s.now().UTC().Format(time.RFC3339Nano)
	if err := s.put(ctx, rolePK(r.Name), memberSK(h.key()), item{
		RoleID: r.ID, Holder: h.key(), HolderRoleID: h.roleID, Time: now, By: by,
	}, ""); err != nil {
		return fmt.Errorf("grant role %s: %w", r.Name, err)
	}
	if err := s.put(ctx, grantPK(h.key()), roleSK(r.Name), item{
		Role: r.Name, RoleID: r.ID, HolderRoleID: h.roleID, Time: now, By: by,
	}, ""); err != nil {
		return fmt.Errorf("grant role %s: %w", r.Name, err)
	}
	return nil
}

// revokeRole removes role from h; revoking a role not held does nothing.
func (s *Store) revokeRole(ctx context.Context, role string, h holder) error {
	if err := s.deleteIf(ctx, grantPK(h.key()), roleSK(role), "", ""); err != nil {
		return err
	}
	return s.deleteIf(ctx, rolePK(role), memberSK(h.key()), "", "")
}

// Grants returns what principal (a normalised principal ARN) holds: its own
// grants and those of its roles, inherited roles included (at most MaxRoles
// roles). Grants made to a role that was dropped since are ignored.
func (s *Store) Grants(ctx context.Context, principal string) (*Grants, error) {
	type edge struct {
		role, id string
		direct   bool
	}
	g := newGrants()
	var edges []edge
	take := func(entries []entry, direct bool) {
		for _, e := range entries {
			switch {
			case strings.HasPrefix(e.sk, pfxPriv):
				g.add(e.Privilege, sql.PrivilegeObject{Type: sql.PrivilegeObjectType(e.ObjectType), Database: e.Database, Table: e.Table})
			case strings.HasPrefix(e.sk, pfxRole):
				edges = append(edges, edge{e.Role, e.RoleID, direct})
			}
		}
	}
	own, err := s.query(ctx, grantPK(userHolder(principal)), "")
	if err != nil {
		return nil, err
	}
	take(own, true)
	seen := map[string]bool{}
	for i := 0; i < len(edges) && len(seen) < MaxRoles; i++ {
		e := edges[i]
		if seen[e.role] {
			continue
		}
		r, ok, err := s.GetRole(ctx, e.role)
		if err != nil {
			return nil, err
		}
		if !ok || r.ID != e.id {
			continue // the role was dropped (and maybe re-created) since the grant
		}
		seen[e.role] = true
		if e.direct {
			g.Roles = append(g.Roles, e.role)
		}
		entries, err := s.query(ctx, grantPK(roleHolder(e.role)), "")
		if err != nil {
			return nil, err
		}
		take(slices.DeleteFunc(entries, func(x entry) bool { return x.HolderRoleID != r.ID }), false)
	}
	slices.Sort(g.Roles)
	return g, nil
}

// inherits reports whether role holds (directly or through other roles)
// role target.
func (s *Store) inherits(ctx context.Context, role, target string) (bool, error) {
	queue, seen := []string{role}, map[string]bool{}
	for len(queue) > 0 && len(seen) < MaxRoles {
		r := queue[0]
		queue = queue[1:]
		if seen[r] {
			continue
		}
		seen[r] = true
		entries, err := s.query(ctx, grantPK(roleHolder(r)), pfxRole)
		if err != nil {
			return false, err
		}
		for _, e := range entries {
			if e.Role == target {
				return true, nil
			}
			queue = append(queue, e.Role)
		}
	}
	return false, nil
}

func isConditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	return errors.As(err, &ccf)
}
