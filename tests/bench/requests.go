package bench

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// Requests is what one srbackup job asked of the billed AWS services,
// counted on the local stack: the inputs of the README's cost per GB.
type Requests struct {
	Invocations int64 // Lambda invocations (every function, the API's excepted)
	Transitions int64 // Step Functions state transitions (states entered)
	// S3 requests by price class: PUT, COPY, POST and LIST; GET, HEAD and
	// the rest. DELETE requests are free and not counted.
	S3Class1, S3Class2 int64
}

// sub returns r - o.
func (r Requests) sub(o Requests) Requests {
	return Requests{r.Invocations - o.Invocations, r.Transitions - o.Transitions, r.S3Class1 - o.S3Class1, r.S3Class2 - o.S3Class2}
}

// requestCounter counts the stack's S3 requests and Lambda invocations.
type requestCounter struct {
	class1, class2 atomic.Int64
	mu             sync.Mutex
	functions      []string // every Lambda function the stack serves
}

// s3 wraps the S3 emulator's handler to count its requests by price class.
func (c *requestCounter) s3(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := s3Class(r, c); n != nil {
			n.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// s3Class returns the counter of a request's price class, nil if free.
func s3Class(r *http.Request, c *requestCounter) *atomic.Int64 {
	q := r.URL.Query()
	key := strings.Contains(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodDelete, r.Method == http.MethodPost && q.Has("delete"):
		return nil
	case r.Method == http.MethodPut, r.Method == http.MethodPost, r.Method == http.MethodGet && !key:
		return &c.class1 // a GET on the bucket is a LIST
	}
	return &c.class2
}

// setFunctions records the names of the functions the stack serves.
func (c *requestCounter) setFunctions(names []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.functions = slices.Sorted(slices.Values(names))
}

// snapshot returns the counts so far; Transitions is left for the
// execution's history.
func (c *requestCounter) snapshot(e *srbackupEnv) Requests {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := Requests{S3Class1: c.class1.Load(), S3Class2: c.class2.Load()}
	for _, f := range c.functions {
		if f != "api" {
			r.Invocations += int64(e.stack.Lambda.Stats(f).Invocations)
		}
	}
	return r
}

// transitions counts the states an execution and its Distributed Maps'
// child executions entered, which is what Step Functions (Standard) bills:
// each child is a Standard execution of its own.
func transitions(ctx context.Context, c *sfn.Client, arn string) (int64, error) {
	n, err := entered(ctx, c, arn)
	if err != nil {
		return 0, err
	}
	kids, err := children(ctx, c, arn)
	if err != nil {
		return 0, err
	}
	for _, k := range kids {
		m, err := entered(ctx, c, k)
		if err != nil {
			return 0, err
		}
		n += m
	}
	return n, nil
}

// children lists the child executions of an execution's Map Runs.
func children(ctx context.Context, c *sfn.Client, arn string) ([]string, error) {
	var out []string
	runs := sfn.NewListMapRunsPaginator(c, &sfn.ListMapRunsInput{ExecutionArn: aws.String(arn)})
	for runs.HasMorePages() {
		page, err := runs.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list map runs: %w", err)
		}
		for _, r := range page.MapRuns {
			ex := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{MapRunArn: r.MapRunArn})
			for ex.HasMorePages() {
				page, err := ex.NextPage(ctx)
				if err != nil {
					return nil, fmt.Errorf("list children: %w", err)
				}
				for _, e := range page.Executions {
					out = append(out, aws.ToString(e.ExecutionArn))
				}
			}
		}
	}
	return out, nil
}

// entered counts the states one execution entered.
func entered(ctx context.Context, c *sfn.Client, arn string) (int64, error) {
	var n int64
	p := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		for _, ev := range page.Events {
			if strings.HasSuffix(string(ev.Type), "StateEntered") {
				n++
			}
		}
	}
	return n, nil
}
