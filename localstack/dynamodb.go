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
type dynamoDB struct {
	inner http.Handler
	arn   string // table ARN prefix

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

	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	d.inner.ServeHTTP(rec, r)
	out := rec.Body.Bytes()
	if (op == "DescribeTable" || op == "CreateTable") && rec.Code == http.StatusOK {
		out = d.activeTable(out, in.TableName)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	writeWithCRC(w, rec.Code, out)
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
