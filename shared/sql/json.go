package sql

import (
	"bytes"
	"encoding/json"
	"errors"
)

// Result is the JSON document `srbackup parse --json` prints, for reuse by
// any other front end (the HTTP API):
//
//	{"statements":[{"kind":"BACKUP",…}, …]}
//	{"error":{"message":"Getting syntax error at line 1, …","line":1,"column":42}}
type Result struct {
	Statements []Statement
	Err        *Error
}

// NewResult builds the Result of a Parse call. An error that is not a
// *Error (Parse returns none) is reported without a position.
func NewResult(stmts []Statement, err error) Result {
	if err == nil {
		return Result{Statements: stmts}
	}
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Message: err.Error(), Detail: err.Error()}
	}
	return Result{Err: e}
}

// MarshalJSON implements json.Marshaler.
func (r Result) MarshalJSON() ([]byte, error) {
	if r.Err != nil {
		return json.Marshal(struct {
			Error *Error `json:"error"`
		}{r.Err})
	}
	stmts := r.Statements
	if stmts == nil {
		stmts = []Statement{}
	}
	return json.Marshal(struct {
		Statements []Statement `json:"statements"`
	}{stmts})
}

// MarshalJSON implements json.Marshaler: message (the full text), line and
// column.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Message string `json:"message"`
		Line    int    `json:"line"`
		Column  int    `json:"column"`
	}{e.Message, e.Line, e.Column})
}

// orderedProperties marshals a property map in the order SQL prints it
// (type, timeout, srbackup's keys, then the rest), not alphabetically.
type orderedProperties map[string]string

func (m orderedProperties) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteByte(',')
		}
		key, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		val, err := json.Marshal(m[k])
		if err != nil {
			return nil, err
		}
		b.Write(key)
		b.WriteByte(':')
		b.Write(val)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

type objectJSON struct {
	Type       ObjectType `json:"type"`
	Name       string     `json:"name,omitempty"`
	Partitions []string   `json:"partitions,omitempty"`
	Alias      string     `json:"alias,omitempty"`
}

// MarshalJSON implements json.Marshaler.
func (s *BackupStmt) MarshalJSON() ([]byte, error) {
	var objs []objectJSON
	for _, o := range s.Objects {
		objs = append(objs, objectJSON{Type: o.Type, Name: o.Name, Partitions: o.Partitions})
	}
	return json.Marshal(struct {
		Kind                string            `json:"kind"`
		Database            string            `json:"database"`
		Snapshot            string            `json:"snapshot"`
		Repository          string            `json:"repository"`
		Objects             []objectJSON      `json:"objects"`
		AllExternalCatalogs bool              `json:"all_external_catalogs,omitempty"`
		ExternalCatalogs    []string          `json:"external_catalogs"`
		Properties          orderedProperties `json:"properties"`
	}{KindBackup, s.Database, s.Snapshot, s.Repository, objs, s.AllExternalCatalogs, s.ExternalCatalogs, s.Properties})
}

// MarshalJSON implements json.Marshaler.
func (s *ShowBackupStmt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind     string `json:"kind"`
		Database string `json:"database,omitempty"`
	}{KindShowBackup, s.Database})
}

// MarshalJSON implements json.Marshaler.
func (s *ShowRestoreStmt) MarshalJSON() ([]byte, error) {
	var limit, offset *int
	if s.HasLimit {
		limit, offset = &s.Limit, &s.Offset
	}
	return json.Marshal(struct {
		Kind     string `json:"kind"`
		Database string `json:"database,omitempty"`
		Limit    *int   `json:"limit,omitempty"`
		Offset   *int   `json:"offset,omitempty"`
	}{KindShowRestore, s.Database, limit, offset})
}

// MarshalJSON implements json.Marshaler.
func (s *CancelRestoreStmt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind            string `json:"kind"`
		Database        string `json:"database,omitempty"`
		ExternalCatalog bool   `json:"external_catalog,omitempty"`
	}{KindCancelRestore, s.Database, s.ExternalCatalog})
}

// MarshalJSON implements json.Marshaler.
func (s *CancelBackupStmt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind            string `json:"kind"`
		Database        string `json:"database,omitempty"`
		ExternalCatalog bool   `json:"external_catalog,omitempty"`
	}{KindCancelBackup, s.Database, s.ExternalCatalog})
}

type snapshotWhereJSON struct {
	Snapshot  string   `json:"snapshot,omitempty"`
	Timestamp string   `json:"timestamp,omitempty"`
	Snapshots []string `json:"snapshots,omitempty"`
}

// MarshalJSON implements json.Marshaler. "where" is absent without a WHERE
// clause and holds snapshot (+ timestamp) or snapshots otherwise.
func (s *ShowSnapshotStmt) MarshalJSON() ([]byte, error) {
	var where *snapshotWhereJSON
	if s.Filter != FilterNone {
		where = &snapshotWhereJSON{Snapshot: s.Snapshot, Timestamp: s.Timestamp, Snapshots: s.Snapshots}
	}
	return json.Marshal(struct {
		Kind       string             `json:"kind"`
		Repository string             `json:"repository"`
		Where      *snapshotWhereJSON `json:"where,omitempty"`
	}{KindShowSnapshot, s.Repository, where})
}

// MarshalJSON implements json.Marshaler.
func (s *CreateRepositoryStmt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind       string            `json:"kind"`
		Name       string            `json:"name"`
		ReadOnly   bool              `json:"read_only"`
		Broker     string            `json:"broker,omitempty"`
		Location   string            `json:"location"`
		Properties orderedProperties `json:"properties,omitempty"`
	}{KindCreateRepository, s.Name, s.ReadOnly, s.Broker, s.Location, s.Properties})
}

// MarshalJSON implements json.Marshaler.
func (s *DropRepositoryStmt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	}{KindDropRepository, s.Name})
}

// MarshalJSON implements json.Marshaler.
func (s *DropSnapshotStmt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind       string `json:"kind"`
		Snapshot   string `json:"snapshot"`
		Repository string `json:"repository"`
		Force      bool   `json:"force,omitempty"`
	}{KindDropSnapshot, s.Snapshot, s.Repository, s.Force})
}

// MarshalJSON implements json.Marshaler.
func (s *AdminVerifySnapshotStmt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind       string            `json:"kind"`
		Snapshot   string            `json:"snapshot"`
		Repository string            `json:"repository"`
		Properties orderedProperties `json:"properties"`
	}{KindAdminVerifySnapshot, s.Snapshot, s.Repository, s.Properties})
}

// MarshalJSON implements json.Marshaler.
func (s *ShowRepositoriesStmt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind string `json:"kind"`
	}{KindShowRepositories})
}

type catalogJSON struct {
	Name  string `json:"name"`
	Alias string `json:"alias,omitempty"`
}

// MarshalJSON implements json.Marshaler. Objects and catalogs carry their
// "alias" when renamed.
func (s *RestoreStmt) MarshalJSON() ([]byte, error) {
	var objs []objectJSON
	for _, o := range s.Objects {
		objs = append(objs, objectJSON{Type: o.Type, Name: o.Name, Partitions: o.Partitions, Alias: o.Alias})
	}
	var cats []catalogJSON
	for _, c := range s.ExternalCatalogs {
		cats = append(cats, catalogJSON(c))
	}
	return json.Marshal(struct {
		Kind                string            `json:"kind"`
		Database            string            `json:"database"`
		DatabaseAlias       string            `json:"database_alias,omitempty"`
		Snapshot            string            `json:"snapshot"`
		Repository          string            `json:"repository"`
		Objects             []objectJSON      `json:"objects"`
		AllExternalCatalogs bool              `json:"all_external_catalogs,omitempty"`
		ExternalCatalogs    []catalogJSON     `json:"external_catalogs"`
		Properties          orderedProperties `json:"properties"`
	}{KindRestore, s.Database, s.DatabaseAlias, s.Snapshot, s.Repository, objs, s.AllExternalCatalogs, cats, s.Properties})
}

type grantJSON struct {
	Kind       string            `json:"kind"`
	Privileges []string          `json:"privileges,omitempty"`
	Object     *privilegeObjJSON `json:"object,omitempty"`
	Roles      []string          `json:"roles,omitempty"`
	Grantee    granteeJSON       `json:"grantee"`
}

type granteeJSON struct {
	Type string `json:"type"`
	Name string `json:"name"`
}

type privilegeObjJSON struct {
	Type     PrivilegeObjectType `json:"type"`
	Database string              `json:"database,omitempty"`
	Table    string              `json:"table,omitempty"`
}

func (g *Grant) marshal(kind string) ([]byte, error) {
	out := grantJSON{Kind: kind, Privileges: g.Privileges, Roles: g.Roles}
	if g.Object != nil {
		out.Object = &privilegeObjJSON{Type: g.Object.Type, Database: g.Object.Database, Table: g.Object.Table}
	}
	out.Grantee = granteeJSON(g.Grantee)
	return json.Marshal(out)
}

// MarshalJSON implements json.Marshaler.
func (s *GrantStmt) MarshalJSON() ([]byte, error) { return s.marshal(KindGrant) }

// MarshalJSON implements json.Marshaler.
func (s *RevokeStmt) MarshalJSON() ([]byte, error) { return s.marshal(KindRevoke) }

// MarshalJSON implements json.Marshaler.
func (s *CreateRoleStmt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind        string `json:"kind"`
		Name        string `json:"name"`
		IfNotExists bool   `json:"if_not_exists,omitempty"`
	}{KindCreateRole, s.Name, s.IfNotExists})
}

// MarshalJSON implements json.Marshaler.
func (s *DropRoleStmt) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Kind     string `json:"kind"`
		Name     string `json:"name"`
		IfExists bool   `json:"if_exists,omitempty"`
	}{KindDropRole, s.Name, s.IfExists})
}
