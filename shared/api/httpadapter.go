package api

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// HandlerFunc is the Lambda handler of the API.
type HandlerFunc func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// PrincipalHeader carries the caller's principal ARN to an HTTPHandler that
// trusts it (local use only).
const PrincipalHeader = "X-Srbackup-Principal"

// HTTPOptions configure HTTPHandler.
type HTTPOptions struct {
	// TrustPrincipalHeader takes the caller's IAM principal from the
	// X-Srbackup-Principal header, as API Gateway's IAM authorization would
	// after checking a SigV4 signature. Only for a local server on 127.0.0.1:
	// anyone who can reach it can claim any principal.
	TrustPrincipalHeader bool
	// DefaultPrincipal is used when the header is absent (local use only).
	DefaultPrincipal string
}

// HTTPHandler serves h over net/http the way API Gateway HTTP API (payload
// format 2.0) would: `srbackup local up` serves the API with it.
func HTTPHandler(h HandlerFunc, opts HTTPOptions) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		ev := toEvent(r, body, opts)
		resp, err := h(r.Context(), ev)
		if err != nil {
			// API Gateway answers 500 when the integration fails.
			writeJSONError(w, http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
			return
		}
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		out := []byte(resp.Body)
		if resp.IsBase64Encoded {
			if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
				writeJSONError(w, http.StatusInternalServerError, `{"message":"Internal Server Error"}`)
				return
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(out)
	})
}

func writeJSONError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// toEvent builds the payload-2.0 event API Gateway would send for r.
func toEvent(r *http.Request, body []byte, opts HTTPOptions) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	query := map[string]string{}
	for k, v := range r.URL.Query() {
		query[k] = strings.Join(v, ",")
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              "$default",
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Headers:               headers,
		QueryStringParameters: query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: hex.EncodeToString(id[:]),
			Stage:     "$default",
			TimeEpoch: time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: r.RemoteAddr, UserAgent: r.UserAgent(),
			},
		},
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	if opts.TrustPrincipalHeader {
		p := r.Header.Get(PrincipalHeader)
		if p == "" {
			p = opts.DefaultPrincipal
		}
		if p != "" {
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{UserARN: p, AccountID: accountOf(p)},
			}
		}
	}
	return ev
}

// accountOf is the account id of an ARN, or "".
func accountOf(arn string) string {
	if parts := strings.SplitN(arn, ":", 6); len(parts) == 6 {
		return parts[4]
	}
	return ""
}
