#!/usr/bin/env bash
# LocalStack init hook: deploy srbackup with awslocal — the table, the repository bucket, one
# Lambda per zip, the backup state machine with its ARN substitutions, and the EventBridge rule
# that sends failed/aborted/timed-out executions to cleanup.
set -euo pipefail
REGION=us-east-1 ACCOUNT=000000000000
TABLE=srbackup BUCKET=srbackup-repo ROLE=arn:aws:iam::$ACCOUNT:role/srbackup

awslocal dynamodb create-table --table-name "$TABLE" --billing-mode PAY_PER_REQUEST \
  --attribute-definitions AttributeName=pk,AttributeType=S AttributeName=sk,AttributeType=S \
                          AttributeName=gsi1pk,AttributeType=S AttributeName=gsi1sk,AttributeType=S \
  --key-schema AttributeName=pk,KeyType=HASH AttributeName=sk,KeyType=RANGE \
  --global-secondary-indexes 'IndexName=gsi1,KeySchema=[{AttributeName=gsi1pk,KeyType=HASH},{AttributeName=gsi1sk,KeyType=RANGE}],Projection={ProjectionType=ALL}'
awslocal s3 mb "s3://$BUCKET"

SM_ARN=arn:aws:states:$REGION:$ACCOUNT:stateMachine:backup
for zip in /srbackup/lambda/*.zip; do
  fn=$(basename "$zip" .zip)
  awslocal lambda create-function --function-name "$fn" --runtime provided.al2023 --architectures arm64 \
    --handler bootstrap --zip-file "fileb://$zip" --role "$ROLE" --timeout 900 \
    --environment "Variables={SRBACKUP_TABLE=$TABLE,SRBACKUP_SOURCE_DSN=$SRBACKUP_SOURCE_DSN,SRBACKUP_STATE_MACHINE_ARN=$SM_ARN}" >/dev/null
done

def=$(cat /srbackup/statemachine/backup.asl.json)
for fn in Parse Lock Snapshot Upload Finalize Cleanup; do
  lower=$(echo "$fn" | tr '[:upper:]' '[:lower:]')
  def=${def//\$\{${fn}FunctionArn\}/arn:aws:lambda:$REGION:$ACCOUNT:function:$lower}
done
awslocal stepfunctions create-state-machine --name backup --role-arn "$ROLE" --definition "$def" >/dev/null

awslocal events put-rule --name srbackup-cleanup --event-pattern \
  "{\"source\":[\"aws.states\"],\"detail-type\":[\"Step Functions Execution Status Change\"],\"detail\":{\"status\":[\"ABORTED\",\"FAILED\",\"TIMED_OUT\"],\"stateMachineArn\":[\"$SM_ARN\"]}}" >/dev/null
awslocal events put-targets --rule srbackup-cleanup --targets "Id=cleanup,Arn=arn:aws:lambda:$REGION:$ACCOUNT:function:cleanup" >/dev/null
echo "srbackup deployed into LocalStack"
