package localstack

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// maxItemBytes is DynamoDB's item size limit: 400 KB, counting attribute
// names and values.
const maxItemBytes = 400 << 10

// itemTooLarge is DynamoDB's error text for an item over maxItemBytes.
const itemTooLarge = "Item size has exceeded the maximum allowed size"

// itemSize is an item's size as DynamoDB counts it: each attribute's name
// (UTF-8 bytes) plus its value (see attrSize).
func itemSize(item map[string]json.RawMessage) int {
	n := 0
	for name, v := range item {
		n += len(name) + attrSize(v)
	}
	return n
}

// attrSize follows DynamoDB's item size rules: strings by UTF-8 bytes,
// binaries by bytes, numbers about one byte per two significant digits plus
// one, booleans and nulls one byte, lists and maps 3 bytes plus one byte per
// element (and, for maps, the element names).
func attrSize(raw json.RawMessage) int {
	var v map[string]json.RawMessage
	if json.Unmarshal(raw, &v) != nil {
		return len(raw)
	}
	n := 0
	for typ, val := range v {
		switch typ {
		case "S":
			var s string
			_ = json.Unmarshal(val, &s)
			n += len(s)
		case "N":
			var s string
			_ = json.Unmarshal(val, &s)
			n += numberSize(s)
		case "B":
			n += binarySize(val)
		case "BOOL", "NULL":
			n++
		case "SS":
			var ss []string
			_ = json.Unmarshal(val, &ss)
			for _, s := range ss {
				n += len(s)
			}
		case "NS":
			var ss []string
			_ = json.Unmarshal(val, &ss)
			for _, s := range ss {
				n += numberSize(s)
			}
		case "BS":
			var bs []json.RawMessage
			_ = json.Unmarshal(val, &bs)
			for _, b := range bs {
				n += binarySize(b)
			}
		case "L":
			var l []json.RawMessage
			_ = json.Unmarshal(val, &l)
			n += 3
			for _, e := range l {
				n += 1 + attrSize(e)
			}
		case "M":
			var m map[string]json.RawMessage
			_ = json.Unmarshal(val, &m)
			n += 3
			for k, e := range m {
				n += 1 + len(k) + attrSize(e)
			}
		}
	}
	return n
}

func numberSize(s string) int {
	s = strings.TrimLeft(strings.TrimPrefix(s, "-"), "0")
	s = strings.ReplaceAll(s, ".", "")
	s = strings.Trim(s, "0")
	return (utf8.RuneCountInString(s)+1)/2 + 1
}

func binarySize(raw json.RawMessage) int {
	var s string
	_ = json.Unmarshal(raw, &s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return len(s)
	}
	return len(b)
}

// oversizePut reports whether a write request puts an item over the limit:
// PutItem's Item, BatchWriteItem's PutRequests, TransactWriteItems' Puts.
func oversizePut(op string, body []byte) bool {
	type item = map[string]json.RawMessage
	var in struct {
		Item          item
		RequestItems  map[string][]struct{ PutRequest *struct{ Item item } }
		TransactItems []struct{ Put *struct{ Item item } }
	}
	if json.Unmarshal(body, &in) != nil {
		return false
	}
	switch op {
	case "PutItem":
		return itemSize(in.Item) > maxItemBytes
	case "BatchWriteItem":
		for _, reqs := range in.RequestItems {
			for _, r := range reqs {
				if r.PutRequest != nil && itemSize(r.PutRequest.Item) > maxItemBytes {
					return true
				}
			}
		}
	case "TransactWriteItems":
		for _, t := range in.TransactItems {
			if t.Put != nil && itemSize(t.Put.Item) > maxItemBytes {
				return true
			}
		}
	}
	return false
}
