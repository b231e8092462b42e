package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/sql"
)

// runVerify is `srbackup verify [--deep] [--timestamp ts] <snapshot> <repo>`:
// ADMIN VERIFY SNAPSHOT, then its rows once it ends. Exit code 0 only when
// every file is OK; 1 for a damaged snapshot or an error.
func runVerify(ctx context.Context, args []string, std stdio) int {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(std.err)
	var ef endpointFlags
	fs.StringVar(&ef.endpoint, "endpoint", "", "API endpoint (default $SRBACKUP_ENDPOINT)")
	fs.BoolVar(&ef.local, "local", false, "talk to `srbackup local up`")
	deep := fs.Bool("deep", false, "re-read and re-hash every byte (default: compare sizes and S3's checksums, no download)")
	timestamp := fs.String("timestamp", "", "the snapshot run to check (default: the newest)")
	interval := fs.Duration("interval", time.Second, "how often to poll")
	all := fs.Bool("all", false, "print every file, not only the ones that are not OK")
	fs.Usage = func() {
		fmt.Fprintln(std.err, "usage: srbackup verify [flags] <snapshot> <repository>\n\nRuns ADMIN VERIFY SNAPSHOT and prints the files that are MISSING or MISMATCH; exits 0 only when every file is OK.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 2 || *interval <= 0 {
		fs.Usage()
		return 2
	}
	c, err := newClient(ctx, ef)
	if err != nil {
		fmt.Fprintln(std.err, "srbackup verify:", err)
		return 1
	}
	st := &sql.AdminVerifySnapshotStmt{Snapshot: fs.Arg(0), Repository: fs.Arg(1), Properties: map[string]string{sql.PropDeep: fmt.Sprint(*deep)}}
	if *timestamp != "" {
		st.Properties[sql.PropBackupTimestamp] = *timestamp
	}
	resp, err := c.runSQL(ctx, st.SQL(), "")
	if err != nil {
		fmt.Fprintln(std.err, "srbackup verify:", err)
		return 1
	}
	if len(resp.Results) != 1 || resp.Results[0].Verification == nil {
		fmt.Fprintln(std.err, "srbackup verify: the API started no verification")
		return 1
	}
	id := resp.Results[0].Verification.ID
	fmt.Fprintf(std.err, "verification %s of %s %s\n", id, st.Snapshot, resp.Results[0].Verification.Timestamp)
	for {
		var v api.VerificationResult
		if err := c.do(ctx, http.MethodGet, "/v1/verifications/"+url.PathEscape(id), nil, nil, &v); err != nil {
			fmt.Fprintln(std.err, "srbackup verify:", err)
			return 1
		}
		switch v.Verification.State {
		case "FAILED":
			fmt.Fprintf(std.out, "%s FAILED %s\n", id, v.Verification.Message)
			return 1
		case "FINISHED":
			shown := api.Result{Columns: v.Columns}
			for _, row := range v.Rows {
				if *all || *row[3] != "OK" {
					shown.Rows = append(shown.Rows, row)
				}
			}
			printTable(std.out, shown)
			vv := v.Verification
			fmt.Fprintf(std.out, "%s FINISHED files=%d ok=%d missing=%d mismatch=%d\n", id, vv.Files, vv.OK, vv.Missing, vv.Mismatch)
			if vv.Missing+vv.Mismatch > 0 {
				return 1
			}
			return 0
		}
		select {
		case <-ctx.Done():
			return 1
		case <-time.After(*interval):
		}
	}
}
