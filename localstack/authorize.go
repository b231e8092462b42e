package localstack

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/srbackup/srbackup/localstack/iam"
	"github.com/srbackup/srbackup/shared/jobstore"
)

// accessKey is the access key id a request was signed with: from the SigV4
// Authorization header, or the X-Amz-Credential of a presigned URL.
func accessKey(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if h := r.Header.Get("Authorization"); h != "" {
		if _, after, ok := strings.Cut(h, "Credential="); ok {
			cred = after
		}
	}
	key, _, _ := strings.Cut(cred, "/")
	return key
}

// request is what one request asks for: each action on its resources.
type request []access

type access struct {
	action    string
	resources []string
	ctx       iam.Context // condition keys, e.g. dynamodb:LeadingKeys
}

// authorize wraps a service's handler: every request is checked against
// the signer's policies before the service sees it, and refused as the
// service refuses it (deny writes the service's error). describe reads the
// request (it may consume and must then restore the body).
func authorize(a *iam.Authorizer, next http.Handler,
	describe func(r *http.Request) (request, error),
	deny func(w http.ResponseWriter, r *http.Request, err error),
) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := accessKey(r)
		if key == iam.AdminAccessKey {
			next.ServeHTTP(w, r)
			return
		}
		req, err := describe(r)
		if err == nil {
			for _, acc := range req {
				if err = a.AuthorizeIn(acc.ctx, key, acc.action, acc.resources...); err != nil {
					break
				}
			}
		}
		if err != nil {
			deny(w, r, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// readBody reads the body and puts it back for the next handler.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return b, err
}

// --- S3 (REST, path-style addressing: the endpoint is an IP address) ---

func s3ObjectARN(bucket, key string) string { return "arn:aws:s3:::" + bucket + "/" + key }

// describeS3 maps a REST request to its IAM actions: the S3 authorization
// reference's table of operations srbackup and its tests use.
func describeS3(r *http.Request) (request, error) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	if bucket == "" {
		return request{{action: "s3:ListAllMyBuckets", resources: []string{"*"}}}, nil
	}
	bucketARN := "arn:aws:s3:::" + bucket
	one := func(action, resource string) (request, error) {
		return request{{action: action, resources: []string{resource}}}, nil
	}
	if key == "" {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			switch {
			case q.Has("uploads"):
				return one("s3:ListBucketMultipartUploads", bucketARN)
			case q.Has("versions"):
				return one("s3:ListBucketVersions", bucketARN)
			case q.Has("location"):
				return one("s3:GetBucketLocation", bucketARN)
			case q.Has("versioning"):
				return one("s3:GetBucketVersioning", bucketARN)
			}
			return one("s3:ListBucket", bucketARN)
		case http.MethodPut:
			if q.Has("versioning") {
				return one("s3:PutBucketVersioning", bucketARN)
			}
			return one("s3:CreateBucket", bucketARN)
		case http.MethodDelete:
			return one("s3:DeleteBucket", bucketARN)
		case http.MethodPost:
			if q.Has("delete") {
				// DeleteObjects: s3:DeleteObject on every key it names.
				b, err := readBody(r)
				if err != nil {
					return nil, err
				}
				var del struct {
					Objects []struct{ Key string } `xml:"Object"`
				}
				if err := xml.Unmarshal(b, &del); err != nil {
					return nil, nil // malformed: the service's to reject
				}
				acc := access{action: "s3:DeleteObject"}
				for _, o := range del.Objects {
					acc.resources = append(acc.resources, s3ObjectARN(bucket, o.Key))
				}
				return request{acc}, nil
			}
		}
		return nil, errors.New("unsupported bucket operation " + r.Method + " " + r.URL.String())
	}
	obj := s3ObjectARN(bucket, key)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		switch {
		case q.Has("uploadId"):
			return one("s3:ListMultipartUploadParts", obj)
		case q.Has("tagging"):
			return one("s3:GetObjectTagging", obj)
		case q.Has("attributes"):
			return one("s3:GetObjectAttributes", obj)
		case q.Has("versionId"):
			return one("s3:GetObjectVersion", obj)
		}
		return one("s3:GetObject", obj)
	case http.MethodPut:
		if q.Has("tagging") {
			return one("s3:PutObjectTagging", obj)
		}
		req := request{{action: "s3:PutObject", resources: []string{obj}}} // PutObject, UploadPart
		if src := r.Header.Get("X-Amz-Copy-Source"); src != "" {
			// CopyObject and UploadPartCopy also read the source.
			src, _ = url.PathUnescape(strings.TrimPrefix(src, "/"))
			src, _, _ = strings.Cut(src, "?versionId=")
			sb, sk, _ := strings.Cut(src, "/")
			req = append(req, access{action: "s3:GetObject", resources: []string{s3ObjectARN(sb, sk)}})
		}
		return req, nil
	case http.MethodPost:
		// CreateMultipartUpload and CompleteMultipartUpload are s3:PutObject.
		return one("s3:PutObject", obj)
	case http.MethodDelete:
		switch {
		case q.Has("uploadId"):
			return one("s3:AbortMultipartUpload", obj)
		case q.Has("tagging"):
			return one("s3:DeleteObjectTagging", obj)
		case q.Has("versionId"):
			return one("s3:DeleteObjectVersion", obj)
		}
		return one("s3:DeleteObject", obj)
	}
	return nil, errors.New("unsupported object operation " + r.Method + " " + r.URL.String())
}

// denyS3 answers as S3 does: 403 with an XML error (no body for HEAD).
func denyS3(w http.ResponseWriter, r *http.Request, err error) {
	code, typ := "AccessDenied", http.StatusForbidden
	var unknown *iam.UnknownKeyError
	if errors.As(err, &unknown) {
		code = "InvalidAccessKeyId"
	}
	body, _ := xml.Marshal(struct {
		XMLName   xml.Name `xml:"Error"`
		Code      string
		Message   string
		RequestId string
	}{Code: code, Message: err.Error(), RequestId: requestID()})
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("X-Amz-Request-Id", requestID())
	w.WriteHeader(typ)
	if r.Method != http.MethodHead {
		_, _ = w.Write(append([]byte(xml.Header), body...))
	}
}

// --- DynamoDB (JSON 1.0) ---

// describeDynamoDB maps an operation to its actions: a batch or a
// transaction needs the action of each of its parts on each table it names.
// Each access carries dynamodb:LeadingKeys, the partition key values it
// touches; a keyed operation whose keys cannot be read is refused, so a
// condition on the keys is never passed by a request shape read wrong.
func describeDynamoDB(r *http.Request) (request, error) {
	b, err := readBody(r)
	if err != nil {
		return nil, err
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	var in ddbRequest
	if err := json.Unmarshal(b, &in); err != nil {
		return nil, fmt.Errorf("%s: unreadable request: %w", op, err)
	}
	switch op {
	case "ListTables":
		return request{{action: "dynamodb:ListTables", resources: []string{"*"}}}, nil
	case "BatchGetItem", "BatchWriteItem":
		var req request
		for t, raw := range in.RequestItems {
			keys, err := batchKeys(op, raw)
			if err != nil {
				return nil, fmt.Errorf("%s on %s: %w", op, t, err)
			}
			req = append(req, access{action: "dynamodb:" + op, resources: []string{iam.TableARN(t)},
				ctx: iam.Context{}.With(iam.LeadingKeys, keys...)})
		}
		return req, nil
	case "TransactWriteItems", "TransactGetItems":
		var req request
		for _, item := range in.TransactItems {
			for kind, part := range item {
				action, ok := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
					"ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}[kind]
				if !ok {
					return nil, errors.New("unknown transaction item " + kind)
				}
				key, err := part.leadingKey()
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", op, kind, err)
				}
				req = append(req, access{action: "dynamodb:" + action, resources: []string{iam.TableARN(part.TableName)},
					ctx: iam.Context{}.With(iam.LeadingKeys, key)})
			}
		}
		return req, nil
	}
	res := iam.TableARN(in.TableName)
	if in.IndexName != "" {
		res += "/index/" + in.IndexName
	}
	acc := access{action: "dynamodb:" + op, resources: []string{res}}
	switch op {
	case "GetItem", "PutItem", "UpdateItem", "DeleteItem":
		key, err := in.ddbItem.leadingKey()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		acc.ctx = iam.Context{}.With(iam.LeadingKeys, key)
	case "Query":
		// The table's partition key, as IAM sees it; an index's query
		// carries none (its key is another attribute).
		if in.IndexName == "" {
			key, err := in.queryKey()
			if err != nil {
				return nil, fmt.Errorf("Query: %w", err)
			}
			acc.ctx = iam.Context{}.With(iam.LeadingKeys, key)
		}
	}
	return request{acc}, nil
}

// partitionKey is the partition key attribute of srbackup's table, the one
// table the local stack serves.
const partitionKey = jobstore.AttrPK

type ddbValue struct{ S *string }

// ddbItem is one keyed part of a request: a Key, or a whole Item.
type ddbItem struct {
	TableName string
	Key       map[string]ddbValue
	Item      map[string]ddbValue
}

func (d ddbItem) leadingKey() (string, error) {
	for _, m := range []map[string]ddbValue{d.Key, d.Item} {
		if v, ok := m[partitionKey]; ok && v.S != nil {
			return *v.S, nil
		}
	}
	return "", fmt.Errorf("no string partition key %q", partitionKey)
}

type ddbRequest struct {
	ddbItem
	IndexName                 string
	RequestItems              map[string]json.RawMessage
	TransactItems             []map[string]ddbItem
	KeyConditionExpression    string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues map[string]ddbValue
}

// queryKey reads the partition key value from a key condition such as
// "#pk = :pk AND begins_with(#sk, :pfx)".
func (in ddbRequest) queryKey() (string, error) {
	for _, clause := range strings.Split(in.KeyConditionExpression, " AND ") {
		name, value, ok := strings.Cut(strings.Trim(strings.TrimSpace(clause), "()"), "=")
		if !ok {
			continue
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if n, ok := in.ExpressionAttributeNames[name]; ok {
			name = n
		}
		if v, ok := in.ExpressionAttributeValues[value]; name == partitionKey && ok && v.S != nil {
			return *v.S, nil
		}
	}
	return "", fmt.Errorf("no partition key equality in key condition %q", in.KeyConditionExpression)
}

// batchKeys lists the partition keys of one table's part of a batch.
func batchKeys(op string, raw json.RawMessage) ([]string, error) {
	var parts []ddbItem
	if op == "BatchGetItem" {
		var get struct{ Keys []map[string]ddbValue }
		if err := json.Unmarshal(raw, &get); err != nil {
			return nil, err
		}
		for _, k := range get.Keys {
			parts = append(parts, ddbItem{Key: k})
		}
	} else {
		var writes []struct {
			PutRequest    *struct{ Item map[string]ddbValue }
			DeleteRequest *struct{ Key map[string]ddbValue }
		}
		if err := json.Unmarshal(raw, &writes); err != nil {
			return nil, err
		}
		for _, w := range writes {
			switch {
			case w.PutRequest != nil:
				parts = append(parts, ddbItem{Item: w.PutRequest.Item})
			case w.DeleteRequest != nil:
				parts = append(parts, ddbItem{Key: w.DeleteRequest.Key})
			}
		}
	}
	keys := make([]string, 0, len(parts))
	for _, p := range parts {
		k, err := p.leadingKey()
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func denyDynamoDB(w http.ResponseWriter, _ *http.Request, err error) {
	typ := "com.amazon.coral.service#AccessDeniedException"
	var unknown *iam.UnknownKeyError
	if errors.As(err, &unknown) {
		typ, err = "com.amazon.coral.service#UnrecognizedClientException", errors.New("The security token included in the request is invalid.")
	}
	writeAWSJSON(w, http.StatusBadRequest, map[string]string{"__type": typ, "message": err.Error()})
}

// --- Step Functions (JSON 1.0) ---

func describeStepFunctions(r *http.Request) (request, error) {
	b, err := readBody(r)
	if err != nil {
		return nil, err
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	var in struct {
		StateMachineArn, ExecutionArn, Name string
	}
	_ = json.Unmarshal(b, &in)
	res := in.StateMachineArn
	switch op {
	case "DescribeExecution", "StopExecution", "GetExecutionHistory":
		res = in.ExecutionArn
	case "CreateStateMachine":
		res = iam.StateMachineARN(in.Name)
	case "ListStateMachines":
		res = "*"
	}
	return request{{action: "states:" + op, resources: []string{res}}}, nil
}

func denyStepFunctions(w http.ResponseWriter, _ *http.Request, err error) {
	typ := "AccessDeniedException"
	var unknown *iam.UnknownKeyError
	if errors.As(err, &unknown) {
		typ, err = "UnrecognizedClientException", errors.New("The security token included in the request is invalid.")
	}
	b, _ := json.Marshal(map[string]string{"__type": typ, "message": err.Error()})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b)
}

// --- Lambda (REST) ---

func describeLambda(r *http.Request) (request, error) {
	const prefix, suffix = "/2015-03-31/functions/", "/invocations"
	if !strings.HasPrefix(r.URL.Path, prefix) || !strings.HasSuffix(r.URL.Path, suffix) {
		return nil, nil // the server answers unsupported operations itself
	}
	name := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, prefix), suffix)
	arn := iam.FunctionARN(functionName(name))
	if q := r.URL.Query().Get("Qualifier"); q != "" {
		arn += ":" + q
	}
	return request{{action: "lambda:InvokeFunction", resources: []string{arn}}}, nil
}

func denyLambda(w http.ResponseWriter, _ *http.Request, err error) {
	typ := "AccessDeniedException"
	var unknown *iam.UnknownKeyError
	if errors.As(err, &unknown) {
		typ, err = "UnrecognizedClientException", errors.New("The security token included in the request is invalid.")
	}
	lambdaError(w, http.StatusForbidden, typ, err.Error())
}
