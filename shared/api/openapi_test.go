package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3"

	"github.com/srbackup/srbackup/shared/api"
	"github.com/srbackup/srbackup/shared/api/apitest"
)

// TestOpenAPIDocumentIsValid validates openapi.yaml as a client generator or
// an API Gateway import would read it.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI 3 document: %v", err)
	}
	// Client generators name their methods after operationId.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.OperationID == "" {
				t.Errorf("%s %s has no operationId", method, path)
			}
		}
	}
	// API Gateway reads IAM authorization from the security scheme.
	s := doc.Components.SecuritySchemes["sigv4"]
	if s == nil || s.Value.Type != "apiKey" || s.Value.In != "header" || s.Value.Name != "Authorization" ||
		s.Value.Extensions["x-amazon-apigateway-authtype"] != "awsSigv4" {
		t.Errorf("security scheme sigv4 = %+v, want an apiKey Authorization header with x-amazon-apigateway-authtype awsSigv4", s)
	}
}

// TestServedOpenAPIIsTheFile checks that GET /v1/openapi.yaml answers the
// bytes of shared/api/openapi.yaml, through the Lambda handler and over HTTP.
func TestServedOpenAPIIsTheFile(t *testing.T) {
	file, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := &api.Server{} // the document needs nothing else
	ev := events.APIGatewayV2HTTPRequest{
		RawPath: "/v1/openapi.yaml",
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodGet, Path: "/v1/openapi.yaml"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: "arn:aws:iam::123456789012:user/doc"},
			},
		},
	}
	resp, err := srv.Handle(context.Background(), ev)
	apitest.CheckEvent(t, ev, resp)
	if err != nil || resp.StatusCode != http.StatusOK || resp.IsBase64Encoded || resp.Headers["Content-Type"] != "application/yaml" {
		t.Fatalf("GET /v1/openapi.yaml: %d %v %v", resp.StatusCode, resp.Headers, err)
	}
	if resp.Body != string(file) {
		t.Fatal("the Lambda handler serves other bytes than openapi.yaml")
	}

	hs := httptest.NewServer(api.HTTPHandler(srv.Handle, api.HTTPOptions{TrustPrincipalHeader: true, DefaultPrincipal: "arn:aws:iam::123456789012:user/doc"}))
	defer hs.Close()
	client := &http.Client{Transport: apitest.Transport(t, nil)}
	req, err := http.NewRequest(http.MethodGet, hs.URL+"/v1/openapi.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(api.PrincipalHeader, "arn:aws:iam::123456789012:user/doc") // what `srbackup --local` sends
	r, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	if r.StatusCode != http.StatusOK || r.Header.Get("Content-Type") != "application/yaml" || !bytes.Equal(body, file) {
		t.Fatalf("over HTTP: %d %s, %d bytes (want the %d bytes of openapi.yaml)", r.StatusCode, r.Header.Get("Content-Type"), len(body), len(file))
	}
}
