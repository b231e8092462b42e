package localstack

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	miniserver "github.com/truora/minidyn/server"
)

// dynamoDB serves the DynamoDB API from minidyn's in-process server and fills
// the gaps the AWS SDK trips over: the X-Amz-Crc32 response header (the SDK
// logs a warning on every call without it), TableStatus ACTIVE (the
// TableExists waiter never finishes without it), and the TTL operations,
// which minidyn answers with a non-JSON 400. TTL is recorded, not enforced.
// It also refuses items over 400 KB as DynamoDB does (see itemsize.go).
type dynamoDB struct {
	inner http.Handler
	arn   string // table ARN prefix

	// writes serializes item writes, so that an UpdateItem whose result is
	// too large can be undone before anyone writes the item again.
	writes sync.Mutex

	mu  sync.Mutex
	ttl map[string]map[string]any // table -> TimeToLiveDescription
}

func newDynamoDB(region, account string) *dynamoDB {
	return &dynamoDB{
		inner: miniserver.NewServer(),
		arn:   "arn:aws:dynamodb:" + region + ":" + account + ":table/",
		ttl:   map[string]map[string]any{},
	}
}

func (d *dynamoDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeAWSJSON(w, http.StatusBadRequest, map[string]string{"__type": "SerializationException", "message": err.Error()})
		return
	}
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	var in struct {
		TableName               string
		TimeToLiveSpecification map[string]any
	}
	_ = json.Unmarshal(body, &in) // malformed bodies are minidyn's to reject

	switch op {
	case "UpdateTimeToLive":
		status := "DISABLED"
		if on, _ := in.TimeToLiveSpecification["Enabled"].(bool); on {
			status = "ENABLED"
		}
		d.mu.Lock()
		d.ttl[in.TableName] = map[string]any{"AttributeName": in.TimeToLiveSpecification["AttributeName"], "TimeToLiveStatus": status}
		d.mu.Unlock()
		writeAWSJSON(w, http.StatusOK, map[string]any{"TimeToLiveSpecification": in.TimeToLiveSpecification})
		return
	case "DescribeTimeToLive":
		d.mu.Lock()
		desc := d.ttl[in.TableName]
		d.mu.Unlock()
		if desc == nil {
			desc = map[string]any{"TimeToLiveStatus": "DISABLED"}
		}
		writeAWSJSON(w, http.StatusOK, map[string]any{"TimeToLiveDescription": desc})
		return
	}

	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems":
		d.writes.Lock()
		defer d.writes.Unlock()
	}
	if oversizePut(op, body) {
		writeAWSJSON(w, http.StatusBadRequest, map[string]string{"__type": "com.amazon.coral.validate#ValidationException", "message": itemTooLarge})
		return
	}
	var before []byte // UpdateItem: the item as it was, to undo an update that makes it too large
	if op == "UpdateItem" {
		before = d.call(r, "GetItem", body)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	d.inner.ServeHTTP(rec, r)
	out := rec.Body.Bytes()
	if op == "UpdateItem" && rec.Code == http.StatusOK && d.undoOversize(r, body, before) {
		writeAWSJSON(w, http.StatusBadRequest, map[string]string{"__type": "com.amazon.coral.validate#ValidationException", "message": itemTooLarge})
		return
	}
	if (op == "DescribeTable" || op == "CreateTable") && rec.Code == http.StatusOK {
		out = d.activeTable(out, in.TableName)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	writeWithCRC(w, rec.Code, out)
}

// call runs one request on minidyn with the table and key of body (an
// UpdateItem's) and returns the response body (nil on error).
func (d *dynamoDB) call(r *http.Request, op string, body []byte) []byte {
	var in struct {
		TableName string
		Key       json.RawMessage
	}
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	m := map[string]any{"TableName": in.TableName, "Key": in.Key}
	if op == "GetItem" {
		m["ConsistentRead"] = true
	}
	req, _ := json.Marshal(m)
	return d.do(r, op, req)
}

func (d *dynamoDB) do(r *http.Request, op string, body []byte) []byte {
	req := r.Clone(r.Context())
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	rec := httptest.NewRecorder()
	d.inner.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil
	}
	return rec.Body.Bytes()
}

// undoOversize puts back the item an UpdateItem made larger than DynamoDB
// allows (before is the GetItem response from before it) and reports
// whether it did: DynamoDB refuses such an update and changes nothing.
func (d *dynamoDB) undoOversize(r *http.Request, body, before []byte) bool {
	var after struct{ Item map[string]json.RawMessage }
	if json.Unmarshal(d.call(r, "GetItem", body), &after) != nil || itemSize(after.Item) <= maxItemBytes {
		return false
	}
	var old struct{ Item map[string]json.RawMessage }
	_ = json.Unmarshal(before, &old)
	var in struct{ TableName string }
	_ = json.Unmarshal(body, &in)
	if old.Item == nil {
		d.call(r, "DeleteItem", body)
	} else {
		req, _ := json.Marshal(map[string]any{"TableName": in.TableName, "Item": old.Item})
		d.do(r, "PutItem", req)
	}
	return true
}

// activeTable reports a table as ACTIVE with an ARN, as DynamoDB does once a
// table is ready; minidyn leaves both empty.
func (d *dynamoDB) activeTable(out []byte, table string) []byte {
	var m map[string]map[string]any
	if json.Unmarshal(out, &m) != nil {
		return out
	}
	for _, key := range []string{"Table", "TableDescription"} {
		t := m[key]
		if t == nil {
			continue
		}
		if s, _ := t["TableStatus"].(string); s == "" {
			t["TableStatus"] = "ACTIVE"
		}
		if t["TableArn"] == nil {
			t["TableArn"] = d.arn + table
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return out
	}
	return b
}

func writeAWSJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"__type":"InternalFailure"}`)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	writeWithCRC(w, code, b)
}

func writeWithCRC(w http.ResponseWriter, code int, b []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10))
	w.WriteHeader(code)
	_, _ = w.Write(b)
}
