package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/srbackup/srbackup/shared/privilege"
	"github.com/srbackup/srbackup/shared/sql"
)

// request is one API call after authentication.
type request struct {
	id        string
	principal Principal
	ev        *events.APIGatewayV2HTTPRequest
	// access answers the caller's privilege questions for this request only
	// (nil without Server.Privileges).
	access *privilege.Checker
}

// Handle serves one API Gateway HTTP API (payload format 2.0) request. It
// never returns an error: every failure is an HTTP response.
func (s *Server) Handle(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	req := &request{id: ev.RequestContext.RequestID, ev: &ev}
	defer func() {
		if v := recover(); v != nil {
			s.log().Error("panic", "requestId", req.id, "panic", fmt.Sprint(v))
			resp = errorResponse(apiError(http.StatusInternalServerError, CodeInternal, "internal error"))
		}
	}()
	if iam := ev.RequestContext.Authorizer; iam != nil && iam.IAM != nil && iam.IAM.UserARN != "" {
		req.principal = Principal{ARN: iam.IAM.UserARN, AccountID: iam.IAM.AccountID}
		if s.Privileges != nil {
			req.access = s.Privileges.Checker(req.principal.ARN)
		}
	} else {
		return errorResponse(apiError(http.StatusUnauthorized, CodeUnauthenticated, "the request has no IAM principal: sign it with SigV4")), nil
	}
	return s.route(ctx, req), nil
}

// route dispatches on method and path.
func (s *Server) route(ctx context.Context, req *request) events.APIGatewayV2HTTPResponse {
	method := req.ev.RequestContext.HTTP.Method
	path := req.ev.RawPath
	if path == "" {
		path = req.ev.RequestContext.HTTP.Path
	}
	segs, err := splitPath(path)
	if err != nil {
		return errorResponse(apiError(http.StatusNotFound, CodeNoRoute, "no such resource"))
	}
	allow := func(methods ...string) (bool, events.APIGatewayV2HTTPResponse) {
		for _, m := range methods {
			if m == method {
				return true, events.APIGatewayV2HTTPResponse{}
			}
		}
		r := errorResponse(apiError(http.StatusMethodNotAllowed, CodeMethod, "method "+method+" is not allowed here"))
		r.Headers["Allow"] = strings.Join(methods, ", ")
		return false, r
	}
	switch {
	case len(segs) == 2 && segs[0] == "v1" && segs[1] == "sql":
		if ok, r := allow(http.MethodPost); !ok {
			return r
		}
		return s.postSQL(ctx, req)
	case len(segs) == 2 && segs[0] == "v1" && segs[1] == "openapi.yaml":
		if ok, r := allow(http.MethodGet); !ok {
			return r
		}
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK, Headers: map[string]string{"Content-Type": "application/yaml"}, Body: string(OpenAPI)}
	case len(segs) == 2 && segs[0] == "v1" && segs[1] == "backups":
		if ok, r := allow(http.MethodGet); !ok {
			return r
		}
		return s.listBackups(ctx, req)
	case len(segs) == 3 && segs[0] == "v1" && segs[1] == "backups":
		if ok, r := allow(http.MethodGet, http.MethodDelete); !ok {
			return r
		}
		if method == http.MethodDelete {
			return s.cancelJob(ctx, req, segs[2])
		}
		return s.getJob(ctx, req, segs[2])
	case len(segs) == 2 && segs[0] == "v1" && segs[1] == "restores":
		if ok, r := allow(http.MethodGet); !ok {
			return r
		}
		return s.listRestores(ctx, req)
	case len(segs) == 3 && segs[0] == "v1" && segs[1] == "restores":
		if ok, r := allow(http.MethodGet, http.MethodDelete); !ok {
			return r
		}
		if method == http.MethodDelete {
			return s.cancelRestoreByID(ctx, req, segs[2])
		}
		return s.getRestore(ctx, req, segs[2])
	case len(segs) == 2 && segs[0] == "v1" && segs[1] == "repositories":
		if ok, r := allow(http.MethodGet); !ok {
			return r
		}
		return s.restStatement(ctx, req, &sql.ShowRepositoriesStmt{})
	case len(segs) == 3 && segs[0] == "v1" && segs[1] == "verifications":
		if ok, r := allow(http.MethodGet); !ok {
			return r
		}
		return s.getVerification(ctx, req, segs[2])
	case len(segs) == 4 && segs[0] == "v1" && segs[1] == "repositories" && segs[3] == "snapshots":
		if ok, r := allow(http.MethodGet); !ok {
			return r
		}
		return s.restStatement(ctx, req, snapshotStmt(segs[2], req.ev.QueryStringParameters))
	}
	return errorResponse(apiError(http.StatusNotFound, CodeNoRoute, "no such resource"))
}

// splitPath splits an escaped URL path into unescaped segments (the HTTP API
// uses the $default stage, so there is no stage prefix).
func splitPath(p string) ([]string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil, nil
	}
	raw := strings.Split(p, "/")
	segs := make([]string, len(raw))
	for i, r := range raw {
		s, err := url.PathUnescape(r)
		if err != nil {
			return nil, err
		}
		segs[i] = s
	}
	return segs, nil
}

// sqlBody is the JSON form of POST /v1/sql.
type sqlBody struct {
	SQL string `json:"sql"`
}

// postSQL runs every statement of the body in order.
func (s *Server) postSQL(ctx context.Context, req *request) events.APIGatewayV2HTTPResponse {
	text, aerr := sqlText(req.ev)
	if aerr != nil {
		return errorResponse(aerr)
	}
	stmts, err := sql.ParseWithOptions(text, sql.Options{MinTimeout: s.Pipeline.MinTimeout})
	if err != nil {
		e, _ := publicError(err)
		s.audit(ctx, req, "PARSE", "", e)
		return errorResponse(e)
	}
	if len(stmts) > MaxStatements {
		e := apiError(http.StatusBadRequest, CodeBadRequest, fmt.Sprintf("a request runs at most %d statements, got %d", MaxStatements, len(stmts)))
		s.audit(ctx, req, "PARSE", "", e)
		return errorResponse(e)
	}
	out := Response{Results: []Result{}}
	status := http.StatusOK
	for i, stmt := range stmts {
		res, err := s.execute(ctx, req, stmt) // audited by guard
		if err != nil {
			e := s.fail(req, err)
			out.Error, out.FailedStatement = e, &i
			return jsonResponse(e.Status, out)
		}
		if res.Job != nil || res.RestoreJob != nil || res.Verification != nil {
			status = http.StatusAccepted
		}
		out.Results = append(out.Results, res)
	}
	return jsonResponse(status, out)
}

// sqlText extracts the statement text from a JSON or text/plain body.
func sqlText(ev *events.APIGatewayV2HTTPRequest) (string, *Error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return "", apiError(http.StatusBadRequest, CodeBadRequest, "the body is not valid base64")
		}
	}
	if len(body) > MaxBodyBytes {
		return "", apiError(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the body is larger than %d bytes", MaxBodyBytes))
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return "", apiError(http.StatusBadRequest, CodeBadRequest, `the body is empty: send {"sql": "<statements>"} or the statements as text/plain`)
	}
	ct := header(ev.Headers, "content-type")
	mt, _, _ := mime.ParseMediaType(ct)
	if mt == "text/plain" || (mt == "" && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("{"))) {
		return string(body), nil
	}
	if mt != "" && mt != "application/json" {
		return "", apiError(http.StatusUnsupportedMediaType, CodeBadRequest, "unsupported content type "+strconv.Quote(mt)+": use application/json or text/plain")
	}
	var b sqlBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return "", apiError(http.StatusBadRequest, CodeBadRequest, `the body is not valid JSON of the form {"sql": "<statements>"}`)
	}
	if dec.More() {
		return "", apiError(http.StatusBadRequest, CodeBadRequest, "the body holds more than one JSON value")
	}
	if strings.TrimSpace(b.SQL) == "" {
		return "", apiError(http.StatusBadRequest, CodeBadRequest, `"sql" is empty`)
	}
	return b.SQL, nil
}

// header returns a header's value; API Gateway lower-cases names, but a
// hand-built event may not.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// respond turns a REST handler's outcome into a response.
func (s *Server) respond(req *request, status int, v any, err error) events.APIGatewayV2HTTPResponse {
	if err != nil {
		return errorResponse(s.fail(req, err))
	}
	return jsonResponse(status, v)
}

// fail logs an internal error with the request id and returns what the
// caller may see.
func (s *Server) fail(req *request, err error) *Error {
	e, internal := publicError(err)
	if internal {
		s.log().Error("request failed", "requestId", req.id, "error", err.Error())
		if req.id != "" {
			e = apiError(e.Status, e.Code, e.Message+" (request id "+req.id+")")
		}
	}
	return e
}

func jsonResponse(status int, v any) events.APIGatewayV2HTTPResponse {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":{"code":"INTERNAL","message":"internal error"}}`)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(body),
	}
}

func errorResponse(e *Error) events.APIGatewayV2HTTPResponse {
	return jsonResponse(e.Status, struct {
		Error *Error `json:"error"`
	}{e})
}

// audit logs one statement: who, what, on what, and how it ended.
func (s *Server) audit(ctx context.Context, req *request, kind, tgt string, e *Error) {
	outcome, code := "ok", ""
	if e != nil {
		outcome, code = "error", e.Code
		if e.Status == http.StatusForbidden {
			outcome = "denied"
		}
	}
	s.log().InfoContext(ctx, "audit", "requestId", req.id, "principal", req.principal.ARN,
		"kind", kind, "target", tgt, "outcome", outcome, "code", code)
}
