package localstack_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/srbackup/srbackup/localstack"
	"github.com/srbackup/srbackup/localstack/localtest"
	"github.com/srbackup/srbackup/shared/awsconf"
)

// TestItemSizeLimit: the local DynamoDB refuses items over 400 KB as
// DynamoDB does (ValidationException, its message), whether put whole,
// in a batch or a transaction, or grown by an update, which then changes
// nothing; an item just under the limit is accepted.
func TestItemSizeLimit(t *testing.T) {
	ctx := context.Background()
	st := localtest.StartForTest(t, localstack.Options{})
	cfg, err := awsconf.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	table := aws.String(st.Table)
	key := func(pk string) map[string]ddbtypes.AttributeValue {
		return map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: pk}, "sk": &ddbtypes.AttributeValueMemberS{Value: "X"}}
	}
	item := func(pk string, n int) map[string]ddbtypes.AttributeValue {
		it := key(pk)
		it["data"] = &ddbtypes.AttributeValueMemberS{Value: strings.Repeat("x", n)}
		return it
	}
	tooLarge := func(what string, err error) {
		t.Helper()
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != "ValidationException" || api.ErrorMessage() != "Item size has exceeded the maximum allowed size" {
			t.Errorf("%s: %v, want ValidationException: Item size has exceeded the maximum allowed size", what, err)
		}
	}
	// pk "a" + sk "X" + names pk, sk, data: 1+1+2+2+4 = 10 bytes besides data.
	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item("a", 400<<10-10)}); err != nil {
		t.Fatalf("an item of exactly 400 KB: %v", err)
	}
	_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item("b", 400<<10-9)})
	tooLarge("PutItem", err)
	_, err = db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]ddbtypes.WriteRequest{
		st.Table: {{PutRequest: &ddbtypes.PutRequest{Item: item("c", 401<<10)}}}}})
	tooLarge("BatchWriteItem", err)
	_, err = db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		{Put: &ddbtypes.Put{TableName: table, Item: item("d", 401<<10)}}}})
	tooLarge("TransactWriteItems", err)

	if _, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: item("e", 300<<10)}); err != nil {
		t.Fatal(err)
	}
	_, err = db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: table, Key: key("e"), UpdateExpression: aws.String("SET more = :m"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":m": &ddbtypes.AttributeValueMemberS{Value: strings.Repeat("y", 200<<10)}},
	})
	tooLarge("UpdateItem", err)
	got, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key("e"), ConsistentRead: aws.Bool(true)})
	if err != nil || got.Item["more"] != nil || len(got.Item["data"].(*ddbtypes.AttributeValueMemberS).Value) != 300<<10 {
		t.Errorf("the refused update changed the item (%v)", err)
	}
	if _, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: table, Key: key("e"), UpdateExpression: aws.String("SET more = :m"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":m": &ddbtypes.AttributeValueMemberS{Value: "small"}},
	}); err != nil {
		t.Errorf("a small update: %v", err)
	}
}
