package privilege

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/srbackup/srbackup/shared/jobstore"
	"github.com/srbackup/srbackup/shared/sql"
)

// Key prefixes and sort keys of privilege items (see the package doc).
const (
	pfxRole   = "ROLE#"
	pfxGrant  = "GRANT#"
	pfxUser   = "USER#"
	pfxPriv   = "PRIV#"
	pfxMember = "MEMBER#"
	skRole    = "ROLE"
	objSystem = "SYSTEM"
	objAll    = "ALL"
	objDB     = "DB#"
	objTable  = "TABLE#"
	// RESTORE's objects: the catalog, one database, every database.
	objCatalog = "CATALOG"
	objOneDB   = "DATABASE#"
	objAllDBs  = "ALL_DATABASES"
)

// keyPart escapes a name for use inside a key: the job store's escaping,
// since both share the table.
func keyPart(name string) string { return jobstore.KeyPart(name) }

// holderKey is the key of a grantee: USER#<principal> or ROLE#<role>.
func holderKey(g sql.Grantee) string {
	if g.Type == sql.GranteeRole {
		return roleHolder(g.Name)
	}
	return userHolder(g.Name)
}

// userHolder and roleHolder are holderKey of a principal and of a role.
func userHolder(principal string) string { return pfxUser + keyPart(principal) }
func roleHolder(role string) string      { return pfxRole + keyPart(role) }

// rolePK is the partition of a role: its item and who holds it.
func rolePK(role string) string { return pfxRole + keyPart(role) }

// grantPK is the partition of a holder's grants: privileges and roles.
func grantPK(holder string) string { return pfxGrant + holder }

// memberSK is the sort key, in a role's partition, of one of its holders.
func memberSK(holder string) string { return pfxMember + holder }

// roleSK is the sort key, in a holder's grant partition, of a held role.
func roleSK(role string) string { return pfxRole + keyPart(role) }

// privSK is the sort key, in a holder's grant partition, of a privilege on
// an object. The object must be complete (a table has its database).
func privSK(privilege string, obj sql.PrivilegeObject) string {
	var o string
	switch obj.Type {
	case sql.OnSystem:
		o = objSystem
	case sql.OnAllTablesInAllDatabases:
		o = objAll
	case sql.OnAllTablesInDatabase:
		o = objDB + keyPart(obj.Database)
	case sql.OnTable:
		o = objTable + keyPart(obj.Database) + "#" + keyPart(obj.Table)
	case sql.OnCatalog:
		o = objCatalog
	case sql.OnDatabase:
		o = objOneDB + keyPart(obj.Database)
	case sql.OnAllDatabases:
		o = objAllDBs
	}
	return pfxPriv + privilege + "#" + o
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{jobstore.AttrPK: str(pk), jobstore.AttrSK: str(sk)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// Partition key patterns of the grant items (see jobstore.KeysJobs): GRANT
// and REVOKE write these, nothing else does.
const (
	KeysGrants = pfxGrant + "*"
	KeysRoles  = pfxRole + "*"
)
