package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/lifecycle"
	"github.com/srbackup/srbackup/shared/repository"
	"github.com/srbackup/srbackup/shared/sql"
)

// Invoker is the part of the Lambda client the API uses to start a
// verification; *lambda.Client implements it.
type Invoker interface {
	Invoke(context.Context, *lambda.InvokeInput, ...func(*lambda.Options)) (*lambda.InvokeOutput, error)
}

// VerifyEvent is the verify function's input.
type VerifyEvent struct {
	VerificationID string `json:"verificationId"`
}

// VerificationColumns are the columns of ADMIN VERIFY SNAPSHOT's one row.
var VerificationColumns = []string{"VerificationId", "Snapshot", "Timestamp", "Deep", "State"}

// VerificationResult is the body of GET /v1/verifications/{id}: the
// verification, and once FINISHED its rows (repository.VerifyColumns).
type VerificationResult struct {
	Verification jobstore.Verification `json:"verification"`
	Columns      []string              `json:"columns"`
	Rows         [][]*string           `json:"rows"`
}

func (s *Server) lifecycle() *lifecycle.Lifecycle {
	return &lifecycle.Lifecycle{Store: s.Pipeline.Store, Open: lifecycle.OpenRepository(s.Pipeline.Open), Now: s.now, Log: s.log()}
}

// adminVerify records the verification and invokes the verify function
// asynchronously; the answer is 202 with its id.
func (s *Server) adminVerify(ctx context.Context, st *sql.AdminVerifySnapshotStmt) (Result, error) {
	if s.Invoker == nil || s.VerifyFunction == "" {
		return Result{}, errNotSupported("ADMIN VERIFY SNAPSHOT (this deployment has no verify function)")
	}
	v, err := s.lifecycle().SubmitVerify(ctx, lifecycle.VerifyRequest{
		Repository: st.Repository, Label: st.Snapshot, Timestamp: st.Properties[sql.PropBackupTimestamp], Deep: st.Deep(),
	})
	if err != nil {
		return Result{}, err
	}
	payload, err := json.Marshal(VerifyEvent{VerificationID: v.ID})
	if err != nil {
		return Result{}, err
	}
	if _, err := s.Invoker.Invoke(ctx, &lambda.InvokeInput{
		FunctionName: aws.String(s.VerifyFunction), InvocationType: lambdatypes.InvocationTypeEvent, Payload: payload,
	}); err != nil {
		v.State, v.Message, v.FinishTime = jobstore.VerifyFailed, "the verify function could not be invoked", s.now().UTC()
		if uerr := s.Pipeline.Store.UpdateVerification(context.WithoutCancel(ctx), v); uerr != nil {
			s.log().Error("mark verification failed", "verificationId", v.ID, "error", uerr.Error())
		}
		return Result{}, errors.Join(errors.New("invoke the verify function"), err)
	}
	deep := "false"
	if v.Deep {
		deep = "true"
	}
	row := []*string{&v.ID, &v.Label, &v.Timestamp, &deep, &v.State}
	return Result{Statement: st.Kind(), Columns: VerificationColumns, Rows: [][]*string{row}, Verification: &v}, nil
}

// getVerification serves GET /v1/verifications/{id}.
func (s *Server) getVerification(ctx context.Context, req *request, id string) events.APIGatewayV2HTTPResponse {
	v, err := s.Pipeline.Store.Verification(ctx, id)
	if err != nil {
		return s.respond(req, 0, nil, err)
	}
	out := VerificationResult{Verification: v, Columns: repository.VerifyColumns, Rows: [][]*string{}}
	err = s.guard(ctx, req, &sql.AdminVerifySnapshotStmt{Snapshot: v.Label, Repository: v.Repository}, func() error {
		rows, err := s.Pipeline.Store.VerifyRows(ctx, id)
		for _, r := range rows {
			out.Rows = append(out.Rows, r.Row())
		}
		return err
	})
	return s.respond(req, http.StatusOK, out, err)
}
