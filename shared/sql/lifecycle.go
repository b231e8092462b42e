package sql

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DropSnapshotStmt is DROP SNAPSHOT label ON repo [FORCE]: delete one
// snapshot (every committed run of it) from a repository. Force also drops a
// snapshot another deployment wrote.
type DropSnapshotStmt struct {
	Start      Pos
	Snapshot   string
	Repository string
	Force      bool
}

// Kind implements Statement.
func (s *DropSnapshotStmt) Kind() string { return KindDropSnapshot }

// Pos implements Statement.
func (s *DropSnapshotStmt) Pos() Pos { return s.Start }

// SQL implements Statement.
func (s *DropSnapshotStmt) SQL() string {
	var b strings.Builder
	b.WriteString("DROP SNAPSHOT ")
	writeIdent(&b, s.Snapshot)
	b.WriteString(" ON ")
	writeIdent(&b, s.Repository)
	if s.Force {
		b.WriteString(" FORCE")
	}
	return b.String()
}

// parseDropSnapshot parses DROP SNAPSHOT label ON repo [FORCE]; DROP is
// consumed. The label is an identifier or a string, and must be a name
// srbackup could have written (LabelPattern).
func (p *parser) parseDropSnapshot(start Pos) (Statement, check) {
	p.expectKw("SNAPSHOT")
	label := p.identOrString()
	p.expectKw("ON")
	repo := p.ident()
	s := &DropSnapshotStmt{Start: start, Snapshot: label.val, Repository: repo.val}
	if p.acceptKw("FORCE") {
		s.Force = true
	}
	return s, func() *Error {
		if err := checkLabel(label); err != nil {
			return err
		}
		if repo.val == "" {
			return analysisErrorf(repo.pos, "Repository is empty")
		}
		return nil
	}
}

// PropTTL is the BACKUP property that gives a snapshot its time to live;
// PropSnapshotTTL is the repository property that gives every BACKUP into
// it a default one. Both take a TTL ("7 DAY").
const (
	PropTTL         = "ttl"
	PropSnapshotTTL = "snapshot_ttl"
)

// TTL is a snapshot's time to live: a positive count of a calendar unit.
// Months and years are calendar months and years (AddDate), the other units
// fixed durations.
type TTL struct {
	N    int64
	Unit string // SECOND, MINUTE, HOUR, DAY, WEEK, MONTH or YEAR
}

// ttlUnits are the units a TTL accepts, singular, with their length
// (months and years: approximate, for the upper bound only).
var ttlUnits = []struct {
	name string
	d    time.Duration
}{
	{"SECOND", time.Second}, {"MINUTE", time.Minute}, {"HOUR", time.Hour},
	{"DAY", 24 * time.Hour}, {"WEEK", 7 * 24 * time.Hour},
	{"MONTH", 31 * 24 * time.Hour}, {"YEAR", 366 * 24 * time.Hour},
}

// MaxTTL bounds a TTL: snapshots meant to live longer should have none.
const MaxTTL = 100 * 366 * 24 * time.Hour

// ttlHelp ends every TTL error.
const ttlHelp = "a TTL is a positive whole number and a unit (SECOND, MINUTE, HOUR, DAY, WEEK, MONTH or YEAR), e.g. '7 DAY'"

// ParseTTL reads "<n> <unit>": n a positive whole number, unit one of
// SECOND, MINUTE, HOUR, DAY, WEEK, MONTH, YEAR in any case, singular or
// plural, with optional spaces between them ("7 DAY", "12hours", "1 Year").
// At most MaxTTL. The error text names the property key.
func ParseTTL(key, val string) (TTL, error) {
	t, detail := parseTTL(key, val)
	if detail != "" {
		return TTL{}, fmt.Errorf("%s", detail)
	}
	return t, nil
}

func parseTTL(key, val string) (TTL, string) {
	invalid := fmt.Sprintf("Invalid %s: '%s': %s", key, clip(val), ttlHelp)
	v := strings.TrimSpace(val)
	digits := 0
	for digits < len(v) && v[digits] >= '0' && v[digits] <= '9' {
		digits++
	}
	if digits == 0 {
		return TTL{}, invalid
	}
	unit := strings.ToUpper(strings.TrimSpace(v[digits:]))
	unit = strings.TrimSuffix(unit, "S")
	var length time.Duration
	for _, u := range ttlUnits {
		if u.name == unit {
			length = u.d
		}
	}
	if length == 0 {
		return TTL{}, invalid
	}
	n, err := strconv.ParseInt(v[:digits], 10, 64)
	if err != nil || n > int64(MaxTTL/length) {
		return TTL{}, fmt.Sprintf("Invalid %s: '%s': at most 100 years", key, clip(val))
	}
	if n == 0 {
		return TTL{}, invalid
	}
	return TTL{N: n, Unit: unit}, ""
}

// String is the TTL's normal form, "7 DAY".
func (t TTL) String() string {
	if t.N == 0 {
		return ""
	}
	return strconv.FormatInt(t.N, 10) + " " + t.Unit
}

// IsZero reports whether there is no TTL.
func (t TTL) IsZero() bool { return t.N == 0 }

// After returns when a snapshot finished at from expires.
func (t TTL) After(from time.Time) time.Time {
	n := int(t.N)
	switch t.Unit {
	case "MONTH":
		return from.AddDate(0, n, 0)
	case "YEAR":
		return from.AddDate(n, 0, 0)
	}
	for _, u := range ttlUnits {
		if u.name == t.Unit {
			return from.Add(time.Duration(t.N) * u.d)
		}
	}
	return from
}

// AdminVerifySnapshotStmt is srbackup's own ADMIN VERIFY SNAPSHOT label ON
// repo [PROPERTIES ("backup_timestamp" = "…", "deep" = "true")]: check one
// committed run of a snapshot (the newest when no timestamp is given)
// against its manifest, as an asynchronous job. Properties holds
// backup_timestamp when given and deep ("true" or "false") always.
type AdminVerifySnapshotStmt struct {
	Start      Pos
	Snapshot   string
	Repository string
	Properties map[string]string
}

// PropDeep is ADMIN VERIFY SNAPSHOT's property that re-reads every byte.
const PropDeep = "deep"

// Kind implements Statement.
func (s *AdminVerifySnapshotStmt) Kind() string { return KindAdminVerifySnapshot }

// Pos implements Statement.
func (s *AdminVerifySnapshotStmt) Pos() Pos { return s.Start }

// Deep reports whether the verification re-reads every byte.
func (s *AdminVerifySnapshotStmt) Deep() bool { return s.Properties[PropDeep] == "true" }

// SQL implements Statement.
func (s *AdminVerifySnapshotStmt) SQL() string {
	var b strings.Builder
	b.WriteString("ADMIN VERIFY SNAPSHOT ")
	writeIdent(&b, s.Snapshot)
	b.WriteString(" ON ")
	writeIdent(&b, s.Repository)
	writeProperties(&b, s.Properties)
	return b.String()
}

// parseAdminVerify parses ADMIN VERIFY SNAPSHOT label ON repo [PROPERTIES (…)].
func (p *parser) parseAdminVerify() (Statement, check) {
	start := p.expectKw("ADMIN").pos
	p.expectKw("VERIFY")
	p.expectKw("SNAPSHOT")
	label := p.identOrString()
	p.expectKw("ON")
	repo := p.ident()
	var props []property
	if p.acceptKw("PROPERTIES") {
		props = p.parsePropertyList()
	}
	s := &AdminVerifySnapshotStmt{Start: start, Snapshot: label.val, Repository: repo.val, Properties: map[string]string{PropDeep: "false"}}
	return s, func() *Error {
		if err := checkLabel(label); err != nil {
			return err
		}
		if repo.val == "" {
			return analysisErrorf(repo.pos, "Repository is empty")
		}
		var unknown []property
		for _, pr := range propertyMap(props) {
			switch pr.key {
			case PropBackupTimestamp:
				s.Properties[pr.key] = pr.val
			case PropDeep:
				v := strings.ToLower(pr.val)
				if v != "true" && v != "false" {
					return analysisErrorf(pr.valPos, "Invalid deep: '%s', want true or false", clip(pr.val))
				}
				s.Properties[pr.key] = v
			default:
				unknown = append(unknown, pr)
			}
		}
		if len(unknown) > 0 {
			return unknownProperties("verify", unknown)
		}
		return nil
	}
}
