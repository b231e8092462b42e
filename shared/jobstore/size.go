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
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value)/2 + 1
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += len(s)/2 + 1
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + attrSize(e)
		}
		return n
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

// checkItemSize refuses an item DynamoDB would refuse, with the sizes.
func checkItemSize(what string, item map[string]types.AttributeValue) error {
	if n := ItemSize(item); n > MaxItemBytes {
		return fmt.Errorf("%s: the item takes %d bytes, over DynamoDB's %d", what, n, MaxItemBytes)
	}
	return nil
}
