package jobstore

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute and index names of the single srbackup table. The CDK stack
// declares the same schema; infra tests check that the two agree.
const (
	AttrPK      = "pk"     // partition key, e.g. "JOB#<id>", "LOCK#<db>"
	AttrSK      = "sk"     // sort key, e.g. "JOB", "SHARD#000042"
	AttrGSI1PK  = "gsi1pk" // "DB#<db>" on job items: jobs of a database
	AttrGSI1SK  = "gsi1sk" // "<createTime RFC3339Nano>#<id>": newest first with ScanIndexForward=false
	AttrTTL     = "ttl"    // epoch seconds; DynamoDB deletes the item after it
	IndexByDB   = "gsi1"
	keyTypeStr  = types.ScalarAttributeTypeS
	billingMode = types.BillingModePayPerRequest
)

// CreateTableInput returns the definition of the srbackup table. The local
// stack creates it with this input; in AWS the CDK stack creates it.
func CreateTableInput(name string) *dynamodb.CreateTableInput {
	return &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: billingMode,
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(AttrPK), AttributeType: keyTypeStr},
			{AttributeName: aws.String(AttrSK), AttributeType: keyTypeStr},
			{AttributeName: aws.String(AttrGSI1PK), AttributeType: keyTypeStr},
			{AttributeName: aws.String(AttrGSI1SK), AttributeType: keyTypeStr},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(AttrPK), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(AttrSK), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String(IndexByDB),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String(AttrGSI1PK), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String(AttrGSI1SK), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		}},
	}
}
