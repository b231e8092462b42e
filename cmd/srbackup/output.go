package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/srbackup/srbackup/shared/api"
)

// outputFormat is how results are printed.
type outputFormat int

const (
	formatTable    outputFormat = iota // MySQL client style
	formatVertical                     // MySQL's \G
	formatJSON
)

// printResults prints the results of statements.
func printResults(w io.Writer, results []api.Result, f outputFormat) {
	if f == formatJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"results": results})
		return
	}
	for _, r := range results {
		switch {
		case r.Columns != nil:
			if f == formatVertical {
				printVertical(w, r)
			} else {
				printTable(w, r)
			}
			if r.Job != nil {
				fmt.Fprintf(w, "Job %s started; follow it with: srbackup wait %s\n", r.Job.JobID, r.Job.JobID)
			}
		case r.Database != "":
			fmt.Fprintln(w, "Database changed") // USE, as the mysql client says
		case r.OK:
			fmt.Fprintln(w, "Query OK")
		}
	}
}

func cellText(v *string) string {
	if v == nil {
		return "NULL"
	}
	return *v
}

func rowsLabel(n int) string {
	switch n {
	case 0:
		return "Empty set"
	case 1:
		return "1 row in set"
	}
	return fmt.Sprintf("%d rows in set", n)
}

// printTable prints r as the mysql client does; multi-line cells (SHOW
// SNAPSHOT's Timestamp) take several lines of their row.
func printTable(w io.Writer, r api.Result) {
	if len(r.Rows) == 0 {
		fmt.Fprintln(w, rowsLabel(0))
		return
	}
	widths := make([]int, len(r.Columns))
	for i, c := range r.Columns {
		widths[i] = utf8.RuneCountInString(c)
	}
	cells := make([][][]string, len(r.Rows))
	for i, row := range r.Rows {
		cells[i] = make([][]string, len(r.Columns))
		for j := range r.Columns {
			var v *string
			if j < len(row) {
				v = row[j]
			}
			lines := strings.Split(cellText(v), "\n")
			cells[i][j] = lines
			for _, l := range lines {
				widths[j] = max(widths[j], utf8.RuneCountInString(l))
			}
		}
	}
	sep := func() {
		var b strings.Builder
		for _, wd := range widths {
			b.WriteString("+" + strings.Repeat("-", wd+2))
		}
		fmt.Fprintln(w, b.String()+"+")
	}
	line := func(vals []string) {
		var b strings.Builder
		for j, v := range vals {
			b.WriteString("| " + v + strings.Repeat(" ", widths[j]-utf8.RuneCountInString(v)) + " ")
		}
		fmt.Fprintln(w, b.String()+"|")
	}
	sep()
	line(r.Columns)
	sep()
	for _, row := range cells {
		height := 1
		for _, c := range row {
			height = max(height, len(c))
		}
		for k := range height {
			vals := make([]string, len(row))
			for j, c := range row {
				if k < len(c) {
					vals[j] = c[k]
				}
			}
			line(vals)
		}
	}
	sep()
	fmt.Fprintln(w, rowsLabel(len(r.Rows)))
}

// printVertical prints r as the mysql client's \G does.
func printVertical(w io.Writer, r api.Result) {
	width := 0
	for _, c := range r.Columns {
		width = max(width, utf8.RuneCountInString(c))
	}
	for i, row := range r.Rows {
		fmt.Fprintf(w, "*************************** %d. row ***************************\n", i+1)
		for j, c := range r.Columns {
			var v *string
			if j < len(row) {
				v = row[j]
			}
			fmt.Fprintf(w, "%s%s: %s\n", strings.Repeat(" ", width-utf8.RuneCountInString(c)), c, cellText(v))
		}
	}
	fmt.Fprintln(w, rowsLabel(len(r.Rows)))
}
