package mariadb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// admin returns a connection pool without a default database.
func (s *Server) admin() (*sql.DB, error) {
	s.adminOnce.Do(func() { s.adminDB, s.adminErr = s.Open("") })
	return s.adminDB, s.adminErr
}

// CreateDatabase creates database name with the utf8mb4 character set.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	db, err := s.admin()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+quoteIdent(name)+" CHARACTER SET utf8mb4"); err != nil {
		return fmt.Errorf("create database %s: %w", quoteIdent(name), err)
	}
	return nil
}

// DropDatabase drops database name if it exists.
func (s *Server) DropDatabase(ctx context.Context, name string) error {
	db, err := s.admin()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+quoteIdent(name)); err != nil {
		return fmt.Errorf("drop database %s: %w", quoteIdent(name), err)
	}
	return nil
}

// quoteIdent quotes a MariaDB identifier with backticks.
func quoteIdent(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}
