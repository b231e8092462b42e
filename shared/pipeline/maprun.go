package pipeline

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// MapRunFailure is what a Distributed Map reports when a child execution
// fails: the child's own error stays in the child.
const MapRunFailure = "States.ExceedToleratedFailureThreshold"

// MapRuns is the part of the Step Functions API that finds a failed child
// execution of an execution's Map Runs.
type MapRuns interface {
	ListMapRuns(ctx context.Context, in *sfn.ListMapRunsInput, optFns ...func(*sfn.Options)) (*sfn.ListMapRunsOutput, error)
	ListExecutions(ctx context.Context, in *sfn.ListExecutionsInput, optFns ...func(*sfn.Options)) (*sfn.ListExecutionsOutput, error)
	DescribeExecution(ctx context.Context, in *sfn.DescribeExecutionInput, optFns ...func(*sfn.Options)) (*sfn.DescribeExecutionOutput, error)
}

// ChildFailure replaces a Distributed Map's States.ExceedToleratedFailureThreshold
// with the error of the child execution that failed (a timed-out or aborted
// child counts too), so that a job's Status says what went wrong
// (PermanentError, ConflictError, …) rather than that a threshold was passed.
// Any other error, or one whose child cannot be found, is returned as it is.
func ChildFailure(ctx context.Context, runs MapRuns, executionARN string, e StepError) (StepError, error) {
	if e.Error != MapRunFailure || runs == nil || executionARN == "" {
		return e, nil
	}
	p := sfn.NewListMapRunsPaginator(runs, &sfn.ListMapRunsInput{ExecutionArn: aws.String(executionARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return e, fmt.Errorf("list map runs of %s: %w", executionARN, err)
		}
		for _, run := range page.MapRuns {
			for _, status := range []sfntypes.ExecutionStatus{sfntypes.ExecutionStatusFailed, sfntypes.ExecutionStatusTimedOut} {
				out, err := runs.ListExecutions(ctx, &sfn.ListExecutionsInput{MapRunArn: run.MapRunArn, StatusFilter: status, MaxResults: 1})
				if err != nil {
					return e, fmt.Errorf("list failed children of %s: %w", aws.ToString(run.MapRunArn), err)
				}
				if len(out.Executions) == 0 {
					continue
				}
				d, err := runs.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: out.Executions[0].ExecutionArn})
				if err != nil {
					return e, fmt.Errorf("describe failed child: %w", err)
				}
				if status == sfntypes.ExecutionStatusTimedOut {
					return StepError{Error: "States.Timeout", Cause: "a child execution of the Map timed out"}, nil
				}
				return StepError{Error: aws.ToString(d.Error), Cause: aws.ToString(d.Cause)}, nil
			}
		}
	}
	return e, nil
}
