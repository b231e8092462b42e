package jobstore

// Partition key patterns of the table's item kinds, in the syntax of an IAM
// StringLike condition on dynamodb:LeadingKeys: the deployment scopes each
// function's writes to the kinds it owns (infra/stack), so that, say, an
// upload worker can write its job's items but never a lock, a repository
// or a grant.
const (
	KeysJobs          = "JOB#*"  // job records, their shards and point-in-time items
	KeysLocks         = "LOCK#*" // one per locked database
	KeysSnapshotNames = "SNAP#*" // snapshot name reservations
	KeysDatabases     = pkDBs    // the list of databases with jobs
	KeysRepositories  = pkRepos  // repositories and their sequence
	KeysDeployment    = pkDeployment
	KeysDrops         = pkDrops    // DROP SNAPSHOT markers
	KeysVerifications = "VERIFY#*" // ADMIN VERIFY SNAPSHOT runs and their rows
)
