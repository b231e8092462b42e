package jobstore

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MaxItemBytes is DynamoDB's item size limit, attribute names included.
const MaxItemBytes = 400 << 10

// ItemSize is an item's size as DynamoDB counts it: each attribute's name
// plus its value (strings and binaries by bytes, numbers about one byte per
// two digits plus one, lists and maps 3 bytes plus one per element).
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name) + attrSize(v)
	}
	return n
}

func attrSize(v types.AttributeValue) int {
	strLen := func(s string) int { return len(s) }
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberSS:
		return sum(v.Value, strLen)
	case *types.AttributeValueMemberNS:
		return sum(v.Value, numberSize)
	case *types.AttributeValueMemberBS:
		return sum(v.Value, func(b []byte) int { return len(b) })
	case *types.AttributeValueMemberL:
		return 3 + sum(v.Value, func(e types.AttributeValue) int { return 1 + attrSize(e) })
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + attrSize(e)
		}
		return n
	default: // BOOL, NULL
		return 1
	}
}

// numberSize is about one byte per two digits, plus one.
func numberSize(s string) int { return len(s)/2 + 1 }

func sum[T any](vs []T, size func(T) int) int {
	n := 0
	for _, v := range vs {
		n += size(v)
	}
	return n
}

// checkItemSize refuses an item DynamoDB would refuse, with the sizes.
func checkItemSize(what string, item map[string]types.AttributeValue) error {
	if n := ItemSize(item); n > MaxItemBytes {
		return fmt.Errorf("%s: the item takes %d bytes, over DynamoDB's %d", what, n, MaxItemBytes)
	}
	return nil
}
