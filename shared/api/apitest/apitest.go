// Package apitest checks the API's requests and responses against its OpenAPI
// document (shared/api/openapi.yaml) with kin-openapi's openapi3filter: the
// route, parameters, request body and security of every request, and the
// status code, content type and body of every response.
//
// Checks are stricter than the document: an object schema without
// additionalProperties gets additionalProperties: false, so a field the
// document does not describe fails the check (the document itself stays open
// to new fields for clients). A request the document calls invalid must be
// refused by the API (4xx), and its response must still be documented. A
// request to a path or method the document does not list must get the API's
// 404 NO_SUCH_RESOURCE or 405 METHOD_NOT_ALLOWED error body.
//
// It imports testing and kin-openapi, so only _test files import it: no
// shipped binary links it.
package apitest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/srbackup/srbackup/shared/api"
)

// Contract is the API's OpenAPI document, ready to check exchanges.
type Contract struct {
	doc    *openapi3.T
	router routers.Router
}

var (
	loadOnce sync.Once
	loaded   *Contract
	loadErr  error
)

// Load returns the contract of api.OpenAPI, loaded once per test binary.
func Load(tb testing.TB) *Contract {
	tb.Helper()
	loadOnce.Do(func() { loaded, loadErr = New(api.OpenAPI) })
	if loadErr != nil {
		tb.Fatalf("contract: %v", loadErr)
	}
	return loaded
}

// New loads, validates and tightens an OpenAPI document.
func New(document []byte) (*Contract, error) {
	doc, err := openapi3.NewLoader().LoadFromData(document)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	closeObjects(doc)
	// Requests are matched on their path alone: the servers (API Gateway,
	// `local up`) are not the hosts tests use.
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route the OpenAPI document: %w", err)
	}
	return &Contract{doc: doc, router: router}, nil
}

// CheckEvent checks one API Gateway HTTP API (payload format 2.0) request
// and the handler's response to it, failing tb (without stopping it) on a
// mismatch.
func CheckEvent(tb testing.TB, ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) {
	tb.Helper()
	if err := Load(tb).VerifyEvent(ev, resp); err != nil {
		tb.Errorf("%v", err)
	}
}

// VerifyEvent is CheckEvent returning the mismatch.
func (c *Contract) VerifyEvent(ev events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) error {
	req, body, err := eventRequest(ev)
	if err != nil {
		return fmt.Errorf("contract: %w", err)
	}
	respBody := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if respBody, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return fmt.Errorf("contract: %s %s → %d: the response body is not valid base64", req.Method, req.URL.Path, resp.StatusCode)
		}
	}
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	return c.Verify(req, body, resp.StatusCode, h, respBody)
}

// Transport returns a RoundTripper that sends through next (nil:
// http.DefaultTransport) and checks every exchange, failing tb on a mismatch.
func Transport(tb testing.TB, next http.RoundTripper) http.RoundTripper {
	tb.Helper()
	if next == nil {
		next = http.DefaultTransport
	}
	return &transport{tb: tb, c: Load(tb), next: next}
}

type transport struct {
	tb   testing.TB
	c    *Contract
	next http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	check := req.Clone(req.Context())
	if err := t.c.Verify(check, body, resp.StatusCode, resp.Header, respBody); err != nil {
		t.tb.Errorf("%v", err)
	}
	return resp, nil
}

// Verify checks one exchange: req with its body, and the response's status,
// header and body. It returns every mismatch found, or nil.
func (c *Contract) Verify(req *http.Request, reqBody []byte, status int, header http.Header, body []byte) error {
	where := fmt.Sprintf("%s %s → %d", req.Method, req.URL.Path, status)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("contract: %s: %s\nresponse: %s", where, fmt.Sprintf(format, args...), excerpt(body))
	}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	req.ContentLength = int64(len(reqBody))

	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return c.verifyUnrouted(err, status, header, body, fail)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: authenticate, MultiError: true, SchemaValidationOptions: terse},
	}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && status < 400 {
		return fail("the API accepted (status %d) a request the document says is invalid: %v", status, reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, SchemaValidationOptions: terse},
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		if errors.Is(err, io.EOF) || strings.Contains(err.Error(), "status is not supported") {
			return fail("status %d is not documented for this operation (documented: %s)", status, documented(route.Operation))
		}
		return fail("%v", err)
	}
	return nil
}

// verifyUnrouted checks the answer to a path or method the document does not
// list: the API's own 404 or 405 error (or 401, which comes first).
func (c *Contract) verifyUnrouted(routeErr error, status int, header http.Header, body []byte, fail func(string, ...any) error) error {
	want, code := 0, ""
	switch {
	case errors.Is(routeErr, routers.ErrPathNotFound):
		want, code = http.StatusNotFound, api.CodeNoRoute
	case errors.Is(routeErr, routers.ErrMethodNotAllowed):
		want, code = http.StatusMethodNotAllowed, api.CodeMethod
	default:
		return fail("route: %v", routeErr)
	}
	if status == http.StatusUnauthorized {
		want, code = status, api.CodeUnauthenticated
	}
	if status != want {
		return fail("the document has no such operation (%v), so the answer must be %d %s", routeErr, want, code)
	}
	if want == http.StatusMethodNotAllowed && header.Get("Allow") == "" {
		return fail("405 without an Allow header")
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		return fail("content type %q, want application/json", ct)
	}
	schema := c.doc.Components.Schemas["ErrorBody"]
	if schema == nil {
		return fail("the document has no ErrorBody schema")
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fail("the body is not JSON: %v", err)
	}
	if err := schema.Value.VisitJSON(v, append(terse, openapi3.MultiErrors(), openapi3.VisitAsResponse())...); err != nil {
		return fail("the body is not the error shape: %v", err)
	}
	if got := v.(map[string]any)["error"].(map[string]any)["code"]; got != code {
		return fail("error code %v, want %s", got, code)
	}
	return nil
}

// terse keeps the schema and the value out of mismatch messages (the
// response excerpt follows them).
var terse = []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}

// authenticate stands for API Gateway's IAM authorization: the request must
// carry a SigV4 Authorization header, or the principal header that a local
// server (`srbackup local up`) trusts instead.
func authenticate(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header
	if in.SecurityScheme.Type == "apiKey" && in.SecurityScheme.In == "header" &&
		(h.Get(in.SecurityScheme.Name) != "" || h.Get(api.PrincipalHeader) != "") {
		return nil
	}
	return fmt.Errorf("no %s header (security scheme %s)", in.SecurityScheme.Name, in.SecuritySchemeName)
}

// principalAuthorization stands in the rebuilt request for the signature
// API Gateway checked before it put the caller's IAM principal in the event.
const principalAuthorization = "AWS4-HMAC-SHA256 Credential=checked-by-api-gateway"

// eventRequest rebuilds the HTTP request an API Gateway event stands for.
func eventRequest(ev events.APIGatewayV2HTTPRequest) (*http.Request, []byte, error) {
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	query := ev.RawQueryString
	if query == "" && len(ev.QueryStringParameters) > 0 {
		q := url.Values{}
		for k, v := range ev.QueryStringParameters {
			q.Set(k, v)
		}
		query = q.Encode()
	}
	u, err := url.Parse("https://api.test" + path)
	if err != nil {
		return nil, nil, fmt.Errorf("event path %q: %w", path, err)
	}
	u.RawQuery = query
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, nil, fmt.Errorf("event body: %w", err)
		}
	}
	req, err := http.NewRequest(ev.RequestContext.HTTP.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if a := ev.RequestContext.Authorizer; a != nil && a.IAM != nil && a.IAM.UserARN != "" && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", principalAuthorization)
	}
	return req, body, nil
}

// closeObjects sets additionalProperties: false on every object schema with
// properties that leaves additionalProperties unset.
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var visit func(*openapi3.SchemaRef)
	visit = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			visit(p)
		}
		visit(s.Items)
		visit(s.AdditionalProperties.Schema)
		for _, list := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf, s.AllOf} {
			for _, r := range list {
				visit(r)
			}
		}
	}
	content := func(c openapi3.Content) {
		for _, mt := range c {
			visit(mt.Schema)
		}
	}
	if doc.Components != nil {
		for _, r := range doc.Components.Schemas {
			visit(r)
		}
		for _, r := range doc.Components.Responses {
			content(r.Value.Content)
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.RequestBody != nil {
				content(op.RequestBody.Value.Content)
			}
			for _, r := range op.Responses.Map() {
				content(r.Value.Content)
			}
		}
	}
}

// documented lists an operation's documented statuses.
func documented(op *openapi3.Operation) string {
	var out []string
	for k := range op.Responses.Map() {
		out = append(out, k)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func excerpt(b []byte) string {
	const max = 600
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
