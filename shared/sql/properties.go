package sql

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Property keys. type, timeout and ttl (StarRocks 4.2) are StarRocks';
// compression, shard_size, parallelism, label_suffix and consistency are
// srbackup's own. Keys are case-sensitive,
// as in StarRocks ("TIMEOUT" is unknown).
const (
	PropType            = "type"
	PropTimeout         = "timeout"
	PropCompression     = "compression"
	PropShardSize       = "shard_size"
	PropParallelism     = "parallelism"
	PropLabelSuffix     = "label_suffix"
	PropConsistency     = "consistency"
	PropBackupTimestamp = "backup_timestamp" // RESTORE
	PropReplicationNum  = "replication_num"  // RESTORE
	// PropStarRocksMetaVersion is RESTORE's starrocks_meta_version.
	PropStarRocksMetaVersion = "starrocks_meta_version"
	PropAllowLoad            = "allow_load"   // RESTORE
	PropMetaVersion          = "meta_version" // RESTORE
)

// Defaults and bounds of the typed properties.
const (
	BackupTypeFull      = "FULL"
	DefaultTimeout      = 86400 * time.Second
	DefaultMinTimeout   = 600 * time.Second
	MaxTimeout          = 365 * 24 * time.Hour
	DefaultCompression  = "zstd"
	DefaultShardSize    = int64(256 << 20)
	DefaultMinShardSize = int64(1 << 20)
	MaxShardSize        = int64(16 << 30)
	DefaultParallelism  = 4
	MaxParallelism      = 1000
	// LabelSuffixTime appends "_yyyyMMddHHmmss" of the triggering event's
	// time (UTC) to the snapshot name, so a scheduled statement makes a new
	// snapshot each run.
	LabelSuffixTime = "time"
	// ConsistencySnapshot (the default) reads every table of the job at one
	// point in time; ConsistencyShard reads each shard at its own moment,
	// without holding commits at all.
	ConsistencySnapshot = "snapshot"
	ConsistencyShard    = "shard"
)

// consistencies are the values of the consistency property.
var consistencies = []string{ConsistencySnapshot, ConsistencyShard}

// Compressions srbackup writes Parquet with.
var compressions = []string{"zstd", "snappy", "none"}

// labelTimeSuffixExample shows the suffix LabelSuffixTime appends; only its
// length matters to the checks.
const labelTimeSuffixExample = "_20060102150405"

// BackupOptions is a BACKUP's properties, typed, defaults filled in.
type BackupOptions struct {
	Type        string
	Timeout     time.Duration
	Compression string
	ShardSize   int64
	Parallelism int
	LabelSuffix string
	Consistency string
	// TTL is the snapshot's time to live; zero when the statement gave
	// none (the repository's snapshot_ttl, if any, applies then).
	TTL TTL
}

// SnapshotLabel returns the snapshot name a run triggered at eventTime
// uses: label itself, or with label_suffix = 'time' label followed by
// "_yyyyMMddHHmmss" of eventTime in UTC. Parse has already checked that the
// result fits MaxLabelLen.
func (o BackupOptions) SnapshotLabel(label string, eventTime time.Time) string {
	if o.LabelSuffix == LabelSuffixTime {
		return label + "_" + eventTime.UTC().Format("20060102150405")
	}
	return label
}

// Options returns the statement's properties typed, with defaults for the
// absent ones. Parse has validated them; an error means the statement was
// built or changed by hand with bad values. The configurable minimums
// (Options.MinTimeout, Options.MinShardSize) are not applied again.
func (s *BackupStmt) Options() (BackupOptions, error) {
	o := BackupOptions{
		Type:        BackupTypeFull,
		Timeout:     DefaultTimeout,
		Compression: DefaultCompression,
		ShardSize:   DefaultShardSize,
		Parallelism: DefaultParallelism,
		Consistency: ConsistencySnapshot,
	}
	lenient := Options{MinTimeout: time.Second, MinShardSize: 1}
	for _, key := range sortedKeys(s.Properties) {
		val := s.Properties[key]
		var detail string
		switch key {
		case PropType:
			o.Type, detail = parseBackupType(val)
		case PropTimeout:
			var secs int64
			secs, detail = parseTimeout(val, lenient)
			o.Timeout = time.Duration(secs) * time.Second
		case PropCompression:
			o.Compression, detail = parseCompression(val)
		case PropShardSize:
			o.ShardSize, detail = parseShardSize(val, lenient)
		case PropParallelism:
			o.Parallelism, detail = parseParallelism(val)
		case PropLabelSuffix:
			o.LabelSuffix, detail = parseLabelSuffix(val)
		case PropConsistency:
			o.Consistency, detail = parseConsistency(val)
		case PropTTL:
			o.TTL, detail = parseTTL(PropTTL, val)
		default:
			detail = fmt.Sprintf("Unknown backup job properties: [%s]", key)
		}
		if detail != "" {
			return BackupOptions{}, analysisErrorf(s.Start, "%s", detail)
		}
	}
	return o, nil
}

// normalizeBackupProperties validates BACKUP properties and returns them
// normalised, with type and timeout defaulted.
func normalizeBackupProperties(props []property, opts Options) (map[string]string, *Error) {
	out := map[string]string{
		PropType:    BackupTypeFull,
		PropTimeout: strconv.FormatInt(int64(DefaultTimeout/time.Second), 10),
	}
	var unknown []property
	// Check in a fixed order (timeout, type, srbackup's keys), whatever the
	// order written, so the same statement always gives the same error.
	byKey := make(map[string]property)
	for _, pr := range propertyMap(props) {
		switch pr.key {
		case PropTimeout, PropType, PropCompression, PropShardSize, PropParallelism, PropLabelSuffix, PropConsistency, PropTTL:
			byKey[pr.key] = pr
		default:
			unknown = append(unknown, pr)
		}
	}
	for _, key := range []string{PropTimeout, PropType, PropCompression, PropShardSize, PropParallelism, PropLabelSuffix, PropConsistency, PropTTL} {
		pr, ok := byKey[key]
		if !ok {
			continue
		}
		var val, detail string
		switch key {
		case PropTimeout:
			var secs int64
			secs, detail = parseTimeout(pr.val, opts)
			val = strconv.FormatInt(secs, 10)
		case PropType:
			val, detail = parseBackupType(pr.val)
		case PropCompression:
			val, detail = parseCompression(pr.val)
		case PropShardSize:
			var n int64
			n, detail = parseShardSize(pr.val, opts)
			val = strconv.FormatInt(n, 10)
		case PropParallelism:
			var n int
			n, detail = parseParallelism(pr.val)
			val = strconv.Itoa(n)
		case PropLabelSuffix:
			val, detail = parseLabelSuffix(pr.val)
		case PropConsistency:
			val, detail = parseConsistency(pr.val)
		case PropTTL:
			var t TTL
			t, detail = parseTTL(PropTTL, pr.val)
			val = t.String()
		}
		if detail != "" {
			return nil, analysisErrorf(pr.valPos, "%s", detail)
		}
		out[key] = val
	}
	if len(unknown) > 0 {
		return nil, unknownProperties("backup", unknown)
	}
	return out, nil
}

// normalizeRestoreProperties validates RESTORE properties: backup_timestamp
// is required; timeout as for BACKUP; replication_num, allow_load and
// meta_version typed; nothing else.
func normalizeRestoreProperties(stmtPos Pos, props []property, opts Options) (map[string]string, *Error) {
	out := map[string]string{
		PropTimeout: strconv.FormatInt(int64(DefaultTimeout/time.Second), 10),
	}
	var unknown []property
	for _, pr := range propertyMap(props) {
		var val, detail string
		switch pr.key {
		case PropBackupTimestamp:
			val = pr.val
		case PropTimeout:
			var secs int64
			secs, detail = parseTimeout(pr.val, opts)
			val = strconv.FormatInt(secs, 10)
		case PropReplicationNum:
			// StarRocks checks only the int format, and reuses the meta
			// version text for it.
			n, err := strconv.ParseInt(pr.val, 10, 32)
			if err != nil {
				detail = "Invalid meta version format: " + clip(pr.val)
			}
			val = strconv.FormatInt(n, 10)
		case PropParallelism:
			var n int
			n, detail = parseParallelism(pr.val)
			val = strconv.Itoa(n)
		case PropAllowLoad:
			val = strings.ToLower(pr.val)
			if val != "true" && val != "false" {
				detail = "Invalid allow load value: " + clip(pr.val)
			}
		case PropMetaVersion, PropStarRocksMetaVersion:
			n, err := strconv.ParseInt(pr.val, 10, 32)
			if err != nil {
				detail = "Invalid meta version format: " + clip(pr.val)
			}
			val = strconv.FormatInt(n, 10)
		default:
			unknown = append(unknown, pr)
			continue
		}
		if detail != "" {
			return nil, analysisErrorf(pr.valPos, "%s", detail)
		}
		out[pr.key] = val
	}
	if len(unknown) > 0 {
		return nil, unknownProperties("restore", unknown)
	}
	if out[PropBackupTimestamp] == "" {
		return nil, analysisErrorf(stmtPos, "Missing %s property", PropBackupTimestamp)
	}
	return out, nil
}

func unknownProperties(job string, unknown []property) *Error {
	keys := make([]string, len(unknown))
	for i, pr := range unknown {
		keys[i] = clip(pr.key)
	}
	return analysisErrorf(unknown[0].keyPos, "Unknown %s job properties: [%s]", job, strings.Join(keys, ", "))
}

// The parse* helpers return the typed value, or a non-empty StarRocks-style
// detail message.

func parseBackupType(val string) (string, string) {
	if !strings.EqualFold(val, BackupTypeFull) {
		return "", "Invalid backup job type: " + clip(val)
	}
	return BackupTypeFull, ""
}

func parseTimeout(val string, opts Options) (int64, string) {
	secs, err := strconv.ParseInt(val, 10, 64)
	if err != nil {
		return 0, "Invalid timeout format: " + clip(val)
	}
	minSecs := int64((opts.minTimeout() + time.Second - 1) / time.Second)
	if secs < minSecs {
		return 0, "timeout must be at least " + formatSeconds(minSecs)
	}
	if maxSecs := int64(MaxTimeout / time.Second); secs > maxSecs {
		return 0, "timeout must be at most " + formatSeconds(maxSecs)
	}
	return secs, ""
}

// formatSeconds words a minimum like StarRocks does ("10 min").
func formatSeconds(secs int64) string {
	switch {
	case secs%86400 == 0:
		return strconv.FormatInt(secs/86400, 10) + " days"
	case secs%60 == 0:
		return strconv.FormatInt(secs/60, 10) + " min"
	}
	return strconv.FormatInt(secs, 10) + " s"
}

func parseCompression(val string) (string, string) {
	v := strings.ToLower(val)
	for _, c := range compressions {
		if v == c {
			return c, ""
		}
	}
	return "", fmt.Sprintf("Invalid compression: %s, supported: %s", clip(val), strings.Join(compressions, ", "))
}

// sizeUnits are the units shard_size accepts, all powers of 1024.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
}

// parseShardSize reads a byte count with an optional unit: "268435456",
// "256MB", "256 MiB", "1g".
func parseShardSize(val string, opts Options) (int64, string) {
	invalid := "Invalid shard_size: " + clip(val)
	digits := 0
	for digits < len(val) && val[digits] >= '0' && val[digits] <= '9' {
		digits++
	}
	if digits == 0 {
		return 0, invalid
	}
	mult, ok := sizeUnits[strings.ToLower(strings.TrimLeft(val[digits:], " "))]
	if !ok {
		return 0, invalid
	}
	minSize := opts.minShardSize()
	outOfRange := fmt.Sprintf("shard_size must be between %s and %s", formatBytes(minSize), formatBytes(MaxShardSize))
	n, err := strconv.ParseInt(val[:digits], 10, 64)
	if err != nil || n > MaxShardSize/mult {
		return 0, outOfRange
	}
	if n *= mult; n < minSize {
		return 0, outOfRange
	}
	return n, ""
}

// formatBytes writes n with the largest unit that divides it.
func formatBytes(n int64) string {
	units := []struct {
		suffix string
		size   int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}}
	for _, u := range units {
		if n >= u.size && n%u.size == 0 {
			return strconv.FormatInt(n/u.size, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10) + "B"
}

func parseParallelism(val string) (int, string) {
	n, err := strconv.Atoi(val)
	if err != nil || n < 1 || n > MaxParallelism {
		return 0, fmt.Sprintf("Invalid parallelism: %s, it must be an integer from 1 to %d", clip(val), MaxParallelism)
	}
	return n, ""
}

func parseLabelSuffix(val string) (string, string) {
	if strings.ToLower(val) != LabelSuffixTime {
		return "", fmt.Sprintf("Invalid label_suffix: %s, supported: %s", clip(val), LabelSuffixTime)
	}
	return LabelSuffixTime, ""
}

func parseConsistency(val string) (string, string) {
	v := strings.ToLower(val)
	for _, c := range consistencies {
		if v == c {
			return c, ""
		}
	}
	return "", fmt.Sprintf("Invalid consistency: %s, supported: %s", clip(val), strings.Join(consistencies, ", "))
}

// propertyOrder is the order properties are printed in: StarRocks' keys,
// srbackup's, RESTORE's, then any other key alphabetically.
var propertyOrder = map[string]int{
	PropType: 1, PropTimeout: 2, PropCompression: 3, PropShardSize: 4, PropParallelism: 5,
	PropLabelSuffix: 6, PropConsistency: 7, PropTTL: 8, PropBackupTimestamp: 9, PropReplicationNum: 10, PropAllowLoad: 11, PropMetaVersion: 12, PropStarRocksMetaVersion: 13, PropDeep: 14,
}

// sortedKeys returns the keys of props in propertyOrder.
func sortedKeys(props map[string]string) []string {
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		oi, oj := propertyOrder[keys[i]], propertyOrder[keys[j]]
		if oi == 0 {
			oi = len(propertyOrder) + 1
		}
		if oj == 0 {
			oj = len(propertyOrder) + 1
		}
		if oi != oj {
			return oi < oj
		}
		return keys[i] < keys[j]
	})
	return keys
}
